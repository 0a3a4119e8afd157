"""bench/quality: the quality checks of one rooftop-day on 100k and 1M repair-order lines.

The frame is what the conform step collects (the checked columns of `repair_order_lines`),
with a few bad values and duplicate keys planted. For each size it prints each check's time
through Great Expectations and the peak memory, and, measured in the same run, the same rules
written directly in pandas (the baseline: what GX's generality costs). The reference check
also looks the repair orders up in a SQLite warehouse holding them.

    python -m bench.quality [--sizes 100000 1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

NOW = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
TABLE = "repair_order_lines"


def lines(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ro = rng.integers(0, n // 3, n)
    frame = pd.DataFrame(
        {
            "dealership_id": "bench-rooftop",
            "ro_number": pd.Series(ro).map("{:09d}".format),
            "line_number": pd.Series(np.arange(n) % 3 + 1),
            "op_code": rng.choice(["A01", "B12", "C30", "LOF"], n),
            "labor_hours": rng.gamma(2.0, 0.8, n).round(2),
            "amount": rng.normal(250, 120, n).round(2),
            "updated_at": pd.to_datetime(
                NOW - pd.to_timedelta(rng.integers(0, 86_400, n), unit="s"), utc=True
            ),
        }
    )
    frame["ro_number"] = (pd.Series(np.arange(n) // 3).map("{:09d}".format)).where(
        rng.random(n) > 0.001, frame["ro_number"]
    )
    bad = rng.choice(n, n // 1000, replace=False)
    frame.loc[bad, "labor_hours"] = 250.0  # out of range
    return frame


def pandas_baseline(frame: pd.DataFrame) -> dict[str, int]:
    keys = ["dealership_id", "ro_number", "line_number"]
    return {
        "keys_present_and_unique": int(
            frame[keys].isna().any(axis=1).sum() + frame.duplicated(keys, keep=False).sum()
        ),
        "values_in_range": int(
            (~frame["labor_hours"].between(0, 100)).sum()
            + (~frame["amount"].between(-10_000, 50_000)).sum()
            + (frame["updated_at"] > NOW + dt.timedelta(hours=1)).sum()
        ),
    }


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    import pyarrow as pa

    from auterity_pipelines.quality.gx import validate
    from auterity_pipelines.quality.rows import TableRows
    from auterity_pipelines.quality.runner import with_references
    from auterity_pipelines.quality.suites import expectations, key_columns
    from resources.warehouse import Warehouse

    started = time.perf_counter()
    import great_expectations  # noqa: F401  (its import is paid once per run process)

    print(f"great_expectations import: {time.perf_counter() - started:.1f} s")
    for n in args.sizes:
        frame = lines(n)
        print(
            f"{n:,} lines: frame {frame.memory_usage(deep=True).sum() / 1e6:.0f} MB, peak RSS so far {peak_mb():.0f} MB"
        )
        gx_total = 0.0
        for check in ("keys_present_and_unique", "values_in_range"):
            started = time.perf_counter()
            outcome = validate(frame, expectations(check, TABLE, NOW), key_columns(TABLE), check)
            seconds = time.perf_counter() - started
            gx_total += seconds
            print(f"  {check:26} GX {seconds:6.1f} s  passed={outcome.passed}  {outcome.summary()[:110]}")
        started = time.perf_counter()
        found = pandas_baseline(frame)
        base = time.perf_counter() - started
        print(f"  pandas baseline, same rules: {base:.2f} s ({found}); GX takes {gx_total / base:.0f}× that")
        with tempfile.TemporaryDirectory() as tmp:
            warehouse = Warehouse(url=f"sqlite:///{Path(tmp) / 'w.db'}")
            warehouse.upgrade()
            numbers = frame["ro_number"].drop_duplicates()
            known = numbers.iloc[: int(len(numbers) * 0.99)]
            warehouse.upsert(
                "repair_orders",
                [("bench-rooftop", r, None, None, NOW, None, None, r, NOW) for r in known],
            )
            started = time.perf_counter()
            rows = TableRows(TABLE, "bench-rooftop", pa.Table.from_pandas(frame, preserve_index=False))
            with_references(warehouse.engine, TABLE, rows, "bench-rooftop")
            referenced = frame.assign(repair_order_known=rows.column("repair_order_known").to_numpy())
            lookup = time.perf_counter() - started
            started = time.perf_counter()
            outcome = validate(
                referenced, expectations("references_exist", TABLE, NOW), key_columns(TABLE), "refs"
            )
            print(
                f"  references_exist           lookup {lookup:.1f} s + GX {time.perf_counter() - started:.1f} s  "
                f"passed={outcome.passed}  {outcome.summary()[:80]}"
            )
        print(f"  peak RSS {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
