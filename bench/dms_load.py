"""DMS load benchmark: 1M repair-order lines from an extract into PostgreSQL through the sync's own
code path (`assets.extract_load`: read once, conform, raw and contract rows in one transaction),
against the floor of this design measured in the same run: COPY into staging plus the two
upserts (raw JSONB and contract, real tables and keys) in SQL alone.

    .venv/bin/python -m bench.dms_load [--rows 1000000] [--small 100000] [--postgres URL]

Each load runs in a fresh process on a fresh database; its peak RSS is the process's own high
water mark (VmHWM), not `ru_maxrss`, which a child inherits from its parent on Linux.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.extracts import (
    DAY,
    LINES,
    ROOFTOP,
    TZ,
    lines_only,
    write_delta,
    write_empty_day,
    write_lines_extract,
)

ADMIN = os.environ.get("AUTERITY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def peak_rss_mb() -> float:
    """This process's own peak resident set (VmHWM)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


def new_database(admin: str) -> str:
    """A fresh database, after a checkpoint: no measurement pays for the last one's writes."""
    from sqlalchemy import create_engine, text

    name = f"auterity_bench_{uuid.uuid4().hex[:10]}"
    with create_engine(admin, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
        conn.execute(text("CHECKPOINT"))
    return create_engine(admin).url.set(database=name).render_as_string(hide_password=False)


def drop_database(admin: str, url: str) -> None:
    from sqlalchemy import create_engine, make_url, text

    with create_engine(admin, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {make_url(url).database} WITH (FORCE)"))


def worker_load(url: str, root: Path, days: list[dt.date], checks: bool) -> dict:
    """The sync asset's path for repair-order lines, day by day; with `checks`, the quality
    checks the asset runs on them too (their imports taken before the baseline is read)."""
    from assets.extract_load import load_extract_day
    from auterity_pipelines.quality.rows import PartitionRows
    from resources.dms.extract import ExtractReader
    from resources.dms.window import Window
    from resources.warehouse import Warehouse

    if checks:  # what the sync step imports besides: counted in its baseline
        import dagster as dg
        import great_expectations  # noqa: F401

        from assets.quality import evaluate
        from auterity_pipelines.quality.suites import CHECKS
    warehouse = Warehouse(url=url)
    warehouse.upgrade()
    result = {"imports_rss_mb": peak_rss_mb(), "days": []}
    with tempfile.TemporaryDirectory() as empty:  # the same code once on a day without rows
        window = Window.local_day(days[0], TZ)
        write_empty_day(Path(empty), days[0])
        load_extract_day(
            warehouse, ExtractReader(Path(empty), ROOFTOP), ROOFTOP, TZ, window, "warm", LINES, LINES
        )
    result["baseline_rss_mb"] = peak_rss_mb()
    for day in days:
        window = Window.local_day(day, TZ)
        if checks:  # the day's repair orders first, untimed: the lines' references are checked
            load_extract_day(
                warehouse, ExtractReader(root, ROOFTOP), ROOFTOP, TZ, window, "bench", LINES[:1], LINES[:1]
            )
        checked = PartitionRows(ROOFTOP) if checks else None
        started = time.perf_counter()
        raw, contract = load_extract_day(
            warehouse,
            ExtractReader(root, ROOFTOP),
            ROOFTOP,
            TZ,
            window,
            "bench",
            LINES[1:],
            LINES[1:],
            checked,
        )
        loaded = time.perf_counter()
        result["loaded_rss_mb"] = peak_rss_mb()
        failed = []
        if checks:
            names = {c.name for c in CHECKS if "repair_order_lines" in c.tables}
            rows = checked.rows("repair_order_lines")
            key = dg.AssetKey(["core", "repair_order_lines"])
            results = evaluate(warehouse, key, "repair_order_lines", rows, ROOFTOP, day, "bench", names)
            failed = [r.check_name for r in results if not r.passed]
            del rows, checked
        done = time.perf_counter()
        stats = contract["repair_order_lines"]
        result["days"].append({
            "rows": stats.rows, "quarantined": stats.quarantined + raw["repair_order_lines"].quarantined,
            "load_s": loaded - started, "checks_s": done - loaded, "total_s": done - started, "failed": failed,
        })  # fmt: skip
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def floor(url: str, csv_path: Path) -> float:
    """The floor of this design, SQL alone: COPY the CSV into staging, then upsert it into
    raw_repair_order_lines (payload as JSONB) and repair_order_lines, real tables and keys."""
    import psycopg
    from sqlalchemy import make_url

    from auterity_pipelines.records import columns
    from resources.warehouse import Warehouse

    Warehouse(url=url).upgrade()
    names = columns("repair_order_lines")
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    payload = ", ".join(f"'{n}', {n}" for n in names)
    with psycopg.connect(conninfo) as conn:
        started = time.perf_counter()
        conn.execute(f"SET TIME ZONE '{TZ}'")
        conn.execute(f"CREATE TEMP TABLE stage ({', '.join(f'{n} text' for n in names)})")
        with (
            conn.cursor().copy("COPY stage FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
            csv_path.open("rb") as f,
        ):
            while chunk := f.read(1 << 20):
                copy.write(chunk)
        conn.execute(
            "INSERT INTO raw_repair_order_lines SELECT %s, source_id, jsonb_build_object(" + payload + "), "
            "modified_at::timestamptz, now(), 'floor', %s FROM stage ON CONFLICT (dealership_id, source_id) "
            "DO UPDATE SET payload = excluded.payload, source_modified_at = excluded.source_modified_at "
            "WHERE excluded.source_modified_at > raw_repair_order_lines.source_modified_at",
            (ROOFTOP, DAY),
        )
        conn.execute(
            "INSERT INTO repair_order_lines SELECT %s, ro_number, line_number::int, op_code, complaint, cause, "
            "correction, labor_hours::numeric, amount::numeric, modified_at::timestamptz FROM stage "
            "ON CONFLICT (dealership_id, ro_number, line_number) DO UPDATE SET amount = excluded.amount, "
            "updated_at = excluded.updated_at WHERE excluded.updated_at >= repair_order_lines.updated_at",
            (ROOFTOP,),
        )
        conn.commit()
        return time.perf_counter() - started


def raw_copy(url: str, csv_path: Path) -> float:
    """COPY of the CSV as it is into a table of its own ten columns, typed: the floor."""
    import psycopg
    from sqlalchemy import make_url

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        conn.execute("CREATE TABLE copy_target (source_id text, modified_at timestamptz, ro_number text, "
                     "line_number int, op_code text, complaint text, cause text, correction text, "
                     "labor_hours numeric(6,2), amount numeric(12,2))")  # fmt: skip
        conn.commit()
        started = time.perf_counter()
        with (
            conn.cursor().copy("COPY copy_target FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
            csv_path.open("rb") as f,
        ):
            while chunk := f.read(1 << 20):
                copy.write(chunk)
        conn.commit()
        return time.perf_counter() - started


def pandas_to_sql(url: str, csv_path: Path, rows: int) -> tuple[int, float]:
    import pandas as pd
    from sqlalchemy import create_engine

    frame = pd.read_csv(csv_path, nrows=rows, parse_dates=["modified_at"])
    engine = create_engine(url)
    started = time.perf_counter()
    frame.to_sql("to_sql_target", engine, index=False, if_exists="replace", chunksize=10_000)
    return len(frame), time.perf_counter() - started


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_nightly_sync() -> float:
    """`auterity sync` of the demo fleet's last night, through Dagster, simulator included."""
    from auterity_pipelines.settings import DEMO_FLEET
    from auterity_pipelines.simulator.credentials import DEMO_CREDENTIALS

    with tempfile.TemporaryDirectory() as home:
        # The demo fleet on a free port, so a port in use elsewhere does not spoil the figure.
        port = free_port()
        fleet = Path(home) / "fleet.yaml"
        fleet.write_text(DEMO_FLEET.read_text().replace("127.0.0.1:8765", f"127.0.0.1:{port}"))
        # A copy of the demo fleet is not the bundled file: its demo secrets must be set.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTERITY_", "DAGSTER_"))} | {
            **DEMO_CREDENTIALS,
            "AUTERITY_HOME": home,
            "AUTERITY_FLEET": str(fleet),
        }
        cli = [sys.executable, "-m", "auterity_pipelines.cli.main"]
        sim = subprocess.Popen(
            [*cli, "dms-simulator", "--port", str(port), "--extract-days", "1"],
            env=env,
            stdout=subprocess.PIPE,
        )
        try:
            assert sim.stdout.readline().startswith(b"wrote")
            time.sleep(1.5)
            started = time.perf_counter()
            done = subprocess.run([*cli, "sync"], env=env, capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(f"`auterity sync` failed: {done.stderr.strip()[-500:]}")
            return time.perf_counter() - started
        finally:
            sim.terminate()
            sim.wait()


def run_worker(url: str, root: Path, days: list[dt.date], checks: bool = False) -> dict:
    command = [
        sys.executable,
        "-m",
        "bench.dms_load",
        "--worker",
        "checks" if checks else "load",
        url,
        str(root),
    ]
    out = subprocess.run([*command, *map(str, days)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument(
        "--postgres", default=ADMIN, help="an admin URL; the bench creates and drops its databases"
    )
    parser.add_argument("--skip-rest", action="store_true", help="leave out the REST path and the demo sync")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        mode, url, root, *days = args.worker
        days = [dt.date.fromisoformat(d) for d in days]
        print(json.dumps(worker_load(url, Path(root), days, checks=mode == "checks")))
        return

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print(f"writing extracts (~{args.small:,} and ~{args.rows:,} repair-order lines) …", flush=True)
        small_rows = write_lines_extract(tmp / "small", args.small)
        big_rows = write_lines_extract(tmp / "big", args.rows)
        # The load alone reads the lines alone, as the floor does; the checks also need the orders.
        small_lines, big_lines = (
            lines_only(tmp / "small", tmp / "small-lines"),
            lines_only(tmp / "big", tmp / "big-lines"),
        )
        delta_rows = write_delta(big_lines)
        csv_path = big_lines / DAY.isoformat() / "repair_order_lines.csv"
        print(f"  {small_rows:,} and {big_rows:,} lines; delta {delta_rows:,} changed lines "
              f"({csv_path.stat().st_size / 1e6:.0f} MB CSV)\n", flush=True)  # fmt: skip

        databases = []

        def fresh() -> str:
            databases.append(new_database(args.postgres))
            return databases[-1]

        try:
            floor_s = floor(fresh(), csv_path)
            small = run_worker(fresh(), small_lines, [DAY])
            big = run_worker(fresh(), big_lines, [DAY, DAY + dt.timedelta(days=1)])
            small_checked = run_worker(fresh(), tmp / "small", [DAY], checks=True)
            checked = run_worker(fresh(), tmp / "big", [DAY], checks=True)
            floor_again_s = floor(fresh(), csv_path)
            url = fresh()
            copy_s = raw_copy(url, csv_path)
            sample_rows, to_sql_s = pandas_to_sql(url, csv_path, args.small)
        finally:
            for url in databases:
                drop_database(args.postgres, url)
        sqlite = run_worker(f"sqlite:///{tmp / 'bench.db'}", big_lines, [DAY])

    floor_s = min(floor_s, floor_again_s)  # the faster of two: the floor is a floor
    full, delta = big["days"]
    (checked_day,) = checked["days"]
    print(
        f"PostgreSQL load of {full['rows']:,} repair-order lines (extract → raw + contract, one transaction)"
    )
    rows = [
        ("floor: COPY + both upserts, SQL only", floor_s, f"(two runs: {min(floor_s, floor_again_s):.1f} and {max(floor_s, floor_again_s):.1f} s; the lower is the floor)"),
        ("raw COPY, unindexed", copy_s, f"{big_rows / copy_s:,.0f} rows/s"),
        ("pandas to_sql", to_sql_s * big_rows / sample_rows, f"extrapolated from {sample_rows:,} rows in {to_sql_s:.1f} s"),
        ("full load, no checks", full["total_s"], f"{full['rows'] / full['total_s']:,.0f} rows/s, {full['quarantined']} quarantined"),
        ("full load with the checks", checked_day["total_s"], f"load {checked_day['load_s']:.1f} s + checks {checked_day['checks_s']:.1f} s; failed: {', '.join(checked_day['failed']) or 'none'}"),
        ("1% delta", delta["total_s"], f"{delta['rows']:,} changed lines"),
        ("SQLite full load, no checks", sqlite["days"][0]["total_s"], "the embedded default, same code"),
    ]  # fmt: skip
    for name, seconds, note in rows:
        print(f"  {name:<38} {seconds:7.1f} s   {seconds / floor_s:5.2f}× floor   {note}")
    print("\npeak RSS of each worker process (its own VmHWM)")
    print(f"  load alone     {small['peak_rss_mb']:5.0f} MB at {small_rows:,}   {big['peak_rss_mb']:5.0f} MB at {big_rows:,}   "
          f"(imports: {big['imports_rss_mb']:.0f} MB; after the same code on a day without rows: {big['baseline_rss_mb']:.0f} MB)")  # fmt: skip
    print(f"  load + checks  {small_checked['peak_rss_mb']:5.0f} MB at {small_rows:,}   {checked['peak_rss_mb']:5.0f} MB at {big_rows:,}   "
          f"(imports, GX's included: {checked['imports_rss_mb']:.0f} MB; after loading the orders and lines: "
          f"{checked['loaded_rss_mb']:.0f} MB)")  # fmt: skip
    above_imports = checked["peak_rss_mb"] - checked["imports_rss_mb"]
    checks_own = checked["peak_rss_mb"] - checked["loaded_rss_mb"]
    print(
        f"  the sync step (load + checks) above its imports: {above_imports:.0f} MB; the checks above the load's own peak: {checks_own:.0f} MB"
    )
    targets = [
        ("full load / floor", full["total_s"] / floor_s, "≤ 1.2"),
        ("with checks / floor", checked_day["total_s"] / floor_s, "≤ 1.5"),
        ("delta / full load", delta["total_s"] / full["total_s"], "≤ 0.05"),
        ("load peak RSS at 1M (MB)", big["peak_rss_mb"], "≤ 300"),
        ("load RSS 1M / 100k", big["peak_rss_mb"] / small["peak_rss_mb"], "≤ 1.1 (flat)"),
        ("load + checks above imports (MB)", above_imports, "≤ 150"),
        ("checks above the load's peak (MB)", checks_own, "≤ 150"),
    ]  # fmt: skip
    print("\ntargets")
    for name, value, target in targets:
        limit = float(target.split()[1])
        print(f"  {name:<38} {value:8.2f}   target {target:<14} {'met' if value <= limit else 'MISSED'}")
    if args.skip_rest:
        return
    from bench.rest_path import rest_path

    for page_wait in (0.0, 0.1):
        rest = rest_path(20_000, page_wait)
        plain, pages, ours, made = rest["plain"], rest["pages"], rest["client"], rest["generation"]
        pace = (
            f"every page also waits {page_wait:.1f} s, as across a network"
            if page_wait
            else "at the simulator's own pace"
        )
        print(
            f"\nREST path (Fortellis style; simulator in its own process; one rooftop-day of orders and lines; {pace})"
        )
        runs = [("simulator generation alone", made), ("plain page loop", plain), ("the client's pages alone", pages),
                ("client path → raw tables", ours)]  # fmt: skip
        for name, run in runs:
            print(f"  {name:<28} {run['records']:>7,} records in {run['seconds']:5.1f} s = {run['records'] / run['seconds']:>7,.0f} records/s")  # fmt: skip
        print(f"  (the client path: HTTP {ours['http_s'] / ours['seconds']:.0%} of its time; retries: {ours['retries'] or 'none'};"
              " the generation is in process, without HTTP)")  # fmt: skip
        rate = {
            name: run["records"] / run["seconds"]
            for name, run in (("plain", plain), ("pages", pages), ("ours", ours))
        }
        print(f"  the client's pages / plain   {rate['pages'] / rate['plain']:.2f}")
        speed = rate["ours"] / rate["plain"]
        print(
            f"  client path / plain loop     {speed:.2f}   target ≥ 0.80   {'met' if speed >= 0.8 else 'MISSED'}"
        )
        print(
            f"  first page, every run        {', '.join(f'{s:.1f} s' for s in rest['first_pages'])} (the client's timeout: 30 s)"
        )
    try:
        print(
            f"\ndemo fleet nightly sync through Dagster (`auterity sync`, 3 rooftops): {demo_nightly_sync():.1f} s"
        )
    except (RuntimeError, AssertionError) as exc:
        print(f"\ndemo fleet nightly sync through Dagster: not measured ({type(exc).__name__}: {exc})")


if __name__ == "__main__":
    main()
