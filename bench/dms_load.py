"""DMS load benchmark: 1M repair-order lines from an extract into PostgreSQL through the sync's own
code path (read, validate, conform, upsert), against raw COPY and pandas to_sql measured in the same run.

    .venv/bin/python -m bench.dms_load [--rows 1000000] [--postgres URL]

Each load runs in a fresh process on a fresh database, so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

DAY = dt.date(2026, 11, 16)
ROOFTOP, TZ = "bench-rooftop", "America/Chicago"
LINES = ("repair_orders", "repair_order_lines")
ADMIN = os.environ.get("AUTERITY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def new_database(admin: str) -> str:
    from sqlalchemy import create_engine, text

    name = f"auterity_bench_{uuid.uuid4().hex[:10]}"
    with create_engine(admin, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    return create_engine(admin).url.set(database=name).render_as_string(hide_password=False)


def drop_database(admin: str, url: str) -> None:
    from sqlalchemy import create_engine, make_url, text

    with create_engine(admin, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {make_url(url).database} WITH (FORCE)"))


def write_lines_extract(root: Path, target_lines: int) -> int:
    """A one-day extract of repair orders and their lines, scaled to about `target_lines` lines."""
    from auterity_pipelines.simulator.data import RooftopDms, SimulatorSettings
    from auterity_pipelines.simulator.extract import write_extract

    now = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    # A day's count is proportional to the scale (its random draw does not depend on it), 2.5 lines an order.
    probe = RooftopDms(ROOFTOP, SimulatorSettings(now=now, scale=1000, outcomes=False)).count(
        "repair_orders", (DAY - dt.date(2025, 1, 1)).days
    )
    # 1% headroom: the lines per order vary, and the target is a floor. Outcomes tie each day to
    # the months before it; a one-day load at this scale needs none.
    settings = SimulatorSettings(
        now=now, scale=1010 * target_lines / (probe * 2.5), update_share=0, outcomes=False
    )
    folder = write_extract(RooftopDms(ROOFTOP, settings), ROOFTOP, DAY, TZ, root, entities=LINES)
    return json.loads((folder / "manifest.json").read_text())["files"]["repair_order_lines.csv"]["rows"]


def write_delta(root: Path, share: float = 0.01) -> int:
    """The next day's extract: `share` of the lines changed (new amount, later modified_at)."""
    source = root / DAY.isoformat() / "repair_order_lines.csv"
    day = DAY + dt.timedelta(days=1)
    folder = root / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    rows = 0
    step = round(1 / share)
    with source.open(newline="") as src, (folder / "repair_order_lines.csv").open("w", newline="") as dst:
        reader, writer = csv.reader(src), csv.writer(dst)
        writer.writerow(next(reader))
        for n, row in enumerate(reader):
            if n % step == 0:
                row[1] = f"{day.isoformat()}T15:00:00Z"
                row[9] = f"{float(row[9]) + 10:.2f}"
                writer.writerow(row)
                rows += 1
    path = folder / "repair_order_lines.csv"
    files = {path.name: {"rows": rows, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}}
    (folder / "manifest.json").write_text(
        json.dumps({"dealership_id": ROOFTOP, "date": day.isoformat(), "files": files})
    )
    return rows


def worker_load(url: str, root: Path, days: list[dt.date]) -> dict:
    """The sync asset's path for repair-order lines: extract → raw table → contract table, per day."""
    from assets.sync import RawLoader, conform_partition
    from resources.dms.extract import ExtractReader
    from resources.dms.window import Window
    from resources.warehouse import Warehouse

    warehouse = Warehouse(url=url)
    warehouse.upgrade()
    result = {"baseline_rss_mb": peak_rss_mb(), "days": []}
    for day in days:
        window = Window.local_day(day, TZ)
        reader = ExtractReader(root, ROOFTOP)
        started = time.perf_counter()
        reader.check(window)
        checked = time.perf_counter()
        loader = RawLoader(warehouse, ROOFTOP, TZ, window, "bench")
        loader.load("repair_order_lines", reader.batches("repair_order_lines", window))
        raw_done = time.perf_counter()
        stats = conform_partition(warehouse, "repair_order_lines", ROOFTOP, TZ, day)
        done = time.perf_counter()
        result["days"].append({
            "rows": stats.rows, "quarantined": stats.quarantined + loader.stats["repair_order_lines"].quarantined,
            "check_s": checked - started, "raw_s": raw_done - checked, "conform_s": done - raw_done,
            "total_s": done - started,
        })  # fmt: skip
    result["peak_rss_mb"] = peak_rss_mb()
    return result


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


def copy_then_upsert(url: str, csv_path: Path) -> float:
    """The floor of any upsert path: COPY into staging, one INSERT … ON CONFLICT into a keyed table, no Python."""
    import psycopg
    from sqlalchemy import make_url

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    columns = ("source_id text, modified_at timestamptz, ro_number text, line_number int, op_code text, complaint text, "
               "cause text, correction text, labor_hours numeric(6,2), amount numeric(12,2)")  # fmt: skip
    with psycopg.connect(conninfo) as conn:
        conn.execute(f"CREATE TABLE upsert_target ({columns}, PRIMARY KEY (source_id))")
        conn.commit()
        started = time.perf_counter()
        conn.execute(f"CREATE TEMP TABLE upsert_stage ({columns})")
        with (
            conn.cursor().copy("COPY upsert_stage FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
            csv_path.open("rb") as f,
        ):
            while chunk := f.read(1 << 20):
                copy.write(chunk)
        conn.execute("INSERT INTO upsert_target SELECT * FROM upsert_stage ON CONFLICT (source_id) DO UPDATE SET "
                     "amount = excluded.amount, modified_at = excluded.modified_at "
                     "WHERE excluded.modified_at > upsert_target.modified_at")  # fmt: skip
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


def rest_path(rows_target: int) -> dict:
    """The REST path against the simulator (a separate process, as a DMS would be)."""
    import socket

    from assets.sync import RawLoader
    from resources.dms.fortellis import FortellisClient
    from resources.dms.window import Window
    from resources.warehouse import Warehouse

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    scale = max(1, rows_target / (22 * 3.5))
    sim = subprocess.Popen([sys.executable, "-m", "auterity_pipelines.cli.main", "dms-simulator", "--port", str(port),
                            "--now", "2026-11-20T00:00:00", "--scale", f"{scale:.1f}"], stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        import httpx

        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/_sim/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        with tempfile.TemporaryDirectory() as tmp:
            warehouse = Warehouse(url=f"sqlite:///{tmp}/rest.db")
            warehouse.upgrade()
            client = FortellisClient(
                f"http://127.0.0.1:{port}", "demo-client", "demo-client-secret", ROOFTOP, page_size=1000
            )
            window = Window.local_day(DAY, TZ)
            loader = RawLoader(warehouse, ROOFTOP, TZ, window, "bench")
            started = time.perf_counter()
            loader.load("repair_orders", client.batches("repair_orders", window))
            elapsed = time.perf_counter() - started
            records = loader.stats["repair_orders"].rows + loader.stats["repair_order_lines"].rows
            return {
                "records": records,
                "seconds": elapsed,
                "http_s": client.http_seconds,
                "json_s": client.json_seconds,
            }
    finally:
        sim.terminate()
        sim.wait()


def demo_nightly_sync() -> float:
    """`auterity sync` of the demo fleet's last night, through Dagster, simulator included."""
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTERITY_", "DAGSTER_"))} | {
            "AUTERITY_HOME": home
        }
        cli = [sys.executable, "-m", "auterity_pipelines.cli.main"]
        sim = subprocess.Popen(
            [*cli, "dms-simulator", "--port", "8765", "--extract-days", "1"], env=env, stdout=subprocess.PIPE
        )
        try:
            assert sim.stdout.readline().startswith(b"wrote")
            time.sleep(1.5)
            started = time.perf_counter()
            subprocess.run([*cli, "sync"], env=env, check=True, capture_output=True)
            return time.perf_counter() - started
        finally:
            sim.terminate()
            sim.wait()


def run_worker(url: str, root: Path, days: list[dt.date]) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.dms_load", "--worker", url, str(root), *map(str, days)],
                         check=True, capture_output=True, text=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument(
        "--postgres", default=ADMIN, help="an admin URL; the bench creates and drops its databases"
    )
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        url, root, *days = args.worker
        print(json.dumps(worker_load(url, Path(root), [dt.date.fromisoformat(d) for d in days])))
        return

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print(f"writing extracts (~{args.small:,} and ~{args.rows:,} repair-order lines) …", flush=True)
        small_rows = write_lines_extract(tmp / "small", args.small)
        big_rows = write_lines_extract(tmp / "big", args.rows)
        delta_rows = write_delta(tmp / "big")
        csv_path = tmp / "big" / DAY.isoformat() / "repair_order_lines.csv"
        print(f"  {small_rows:,} and {big_rows:,} lines; delta {delta_rows:,} changed lines "
              f"({csv_path.stat().st_size / 1e6:.0f} MB CSV)\n", flush=True)  # fmt: skip

        databases = []
        try:
            databases.append(url := new_database(args.postgres))
            small = run_worker(url, tmp / "small", [DAY])
            databases.append(url := new_database(args.postgres))
            big = run_worker(url, tmp / "big", [DAY, DAY + dt.timedelta(days=1)])
            databases.append(url := new_database(args.postgres))
            copy_s = raw_copy(url, csv_path)
            upsert_s = copy_then_upsert(url, csv_path)
            sample_rows, to_sql_s = pandas_to_sql(url, csv_path, args.small)
        finally:
            for url in databases:
                drop_database(args.postgres, url)

    full, delta = big["days"]
    full_rate = full["rows"] / full["total_s"]
    copy_rate = big_rows / copy_s
    to_sql_rate = sample_rows / to_sql_s
    print("PostgreSQL load of repair-order lines (extract → raw → contract table)")
    print(
        f"  full load   {full['rows']:>9,} rows  {full['total_s']:6.1f} s  {full_rate:>9,.0f} rows/s"
        f"  (manifest check {full['check_s']:.1f} s, raw {full['raw_s']:.1f} s, conform {full['conform_s']:.1f} s)"
    )
    print(
        f"  raw COPY    {big_rows:>9,} rows  {copy_s:6.1f} s  {copy_rate:>9,.0f} rows/s  (same CSV, same ten typed columns)"
    )
    print(
        f"  COPY+upsert {big_rows:>9,} rows  {upsert_s:6.1f} s  {big_rows / upsert_s:>9,.0f} rows/s  "
        "(staging + one INSERT … ON CONFLICT into a keyed table, no Python: the floor of one upsert)"
    )
    print(
        f"  to_sql      {sample_rows:>9,} rows  {to_sql_s:6.1f} s  {to_sql_rate:>9,.0f} rows/s  (pandas default method, measured on {sample_rows:,})"
    )
    print(f"  1% delta    {delta['rows']:>9,} rows  {delta['total_s']:6.1f} s")
    print(f"  peak RSS    {small['peak_rss_mb']:.0f} MB at {small_rows:,} rows, {big['peak_rss_mb']:.0f} MB at {big_rows:,} "
          f"(after imports: {big['baseline_rss_mb']:.0f} MB)")  # fmt: skip
    targets = [
        ("full load / raw COPY", full["total_s"] / copy_s, "≤ 2.0", full["total_s"] / copy_s <= 2.0),
        ("delta / full load", delta["total_s"] / full["total_s"], "≤ 0.05", delta["total_s"] / full["total_s"] <= 0.05),
        ("peak RSS at 1M (MB)", big["peak_rss_mb"], "< 300", big["peak_rss_mb"] < 300),
        ("RSS 1M / 100k", big["peak_rss_mb"] / small["peak_rss_mb"], "flat (≤ 1.25)", big["peak_rss_mb"] / small["peak_rss_mb"] <= 1.25),
        ("speed-up over to_sql", full_rate / to_sql_rate, "≥ 10", full_rate / to_sql_rate >= 10),
    ]  # fmt: skip
    print(
        f"  (the full load upserts every line twice, raw and contract: floor {2 * upsert_s / copy_s:.1f}× raw COPY)"
    )
    print("\ntargets")
    for name, value, target, met in targets:
        print(f"  {name:<22} {value:8.2f}   target {target:<14} {'met' if met else 'MISSED'}")

    rest = rest_path(20_000)
    print("\nREST path (Fortellis style, simulator in its own process, SQLite warehouse)")
    print(f"  {rest['records']:,} records in {rest['seconds']:.1f} s = {rest['records'] / rest['seconds']:,.0f} records/s; "
          f"HTTP {rest['http_s'] / rest['seconds']:.0%} of the time, JSON decoding {rest['json_s'] / rest['seconds']:.0%}")  # fmt: skip
    print(
        f"\ndemo fleet nightly sync through Dagster (`auterity sync`, 3 rooftops): {demo_nightly_sync():.1f} s"
    )


if __name__ == "__main__":
    main()
