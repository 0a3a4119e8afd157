"""History onboarding: the CPU one rooftop-month of history costs, checks included.

Each demo rooftop's month just before the daily window is loaded through the `dms/history`
asset (Dagster's `materialize`, SQLite warehouse) in a child process of its own, against the
simulator in another; the child's CPU time (user + system, its own `getrusage`) is taken around
the run alone, imports left out (Great Expectations' too, printed apart). The baseline, measured in the same run, is the same month with
the quality checks left out: what the checks cost is the difference.

    .venv/bin/python -m bench.history [--dealerships lakeside-honda harbor-kia]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
TARGET_CPU_S = 4.0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def worker(fleet: str, home: str, dealership_id: str, month: str, checks: bool) -> dict:
    import dagster as dg
    from sqlalchemy import text

    import assets.history as history
    from auterity_pipelines.partitions import DEALERSHIPS
    from resources.dms.fleet import DmsFleet
    from resources.warehouse import Warehouse

    if checks:  # imported by the first check of a process, like any import: measured apart
        started = cpu_seconds()
        import great_expectations  # noqa: F401

        from auterity_pipelines.quality.gx import _batch_definition

        _batch_definition()
        gx_import = cpu_seconds() - started
    else:  # the baseline: the month loaded, its checks left out
        history.judge_days = lambda *args, **kwargs: {}
        gx_import = 0.0
    warehouse = Warehouse(url=f"sqlite:///{home}/warehouse.db")
    warehouse.upgrade()
    key = dg.MultiPartitionKey({"dealership": dealership_id, "month": month})
    resources = {"dms": DmsFleet(fleet_file=fleet), "warehouse": warehouse}
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(DEALERSHIPS.name, [dealership_id])
        cpu, wall = cpu_seconds(), time.perf_counter()
        result = dg.materialize(
            [history.dms_history], resources=resources, partition_key=key, instance=instance
        )
        cpu, wall = cpu_seconds() - cpu, time.perf_counter() - wall
    (materialization,) = result.asset_materializations_for_node("dms__history")
    metadata = {k: v.value for k, v in materialization.metadata.items()}
    with warehouse.engine.connect() as conn:
        failed = conn.execute(
            text(
                "SELECT table_name || '.' || check_name, count(*) FROM quality_results WHERE NOT passed GROUP BY 1"
            )
        ).all()
    return {"cpu_s": cpu, "wall_s": wall, "gx_import_s": gx_import, "failed": dict(failed), **metadata}


def write_month_extracts(root: Path, dealership_id: str, timezone: str, days: list[dt.date]) -> None:
    from auterity_pipelines.simulator.data import RooftopDms, SimulatorSettings
    from auterity_pipelines.simulator.extract import write_extract

    dms = RooftopDms(dealership_id, SimulatorSettings(now=NOW))
    for day in days:
        write_extract(dms, dealership_id, day, timezone, root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dealerships", nargs="+", default=["lakeside-honda", "harbor-kia"])
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        fleet, home, dealership_id, month, mode = args.worker
        print(json.dumps(worker(fleet, home, dealership_id, month, mode == "checks")))
        return

    from auterity_pipelines.fleet import load_fleet
    from auterity_pipelines.partitions import MONTHS, split_month_key
    from auterity_pipelines.settings import DEMO_FLEET
    from auterity_pipelines.simulator.credentials import DEMO_CREDENTIALS
    from bench.dms_load import free_port

    month = MONTHS.get_partition_keys()[-1]  # the month just before the daily window
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        fleet = Path(tmp) / "fleet.yaml"
        extracts = Path(tmp) / "extracts"
        fleet.write_text(
            DEMO_FLEET.read_text()
            .replace("127.0.0.1:8765", f"127.0.0.1:{port}")
            .replace("{auterity_home}/extracts/harbor-kia", str(extracts))
        )
        env = {**os.environ, **DEMO_CREDENTIALS, "AUTERITY_HOME": tmp}
        timezones = {d.id: d.timezone for d in load_fleet(fleet).dealerships}
        if "harbor-kia" in args.dealerships:
            _, days = split_month_key(f"harbor-kia|{month}")
            write_month_extracts(extracts, "harbor-kia", timezones["harbor-kia"], days)
        cli = [sys.executable, "-m", "auterity_pipelines.cli.main"]
        now = NOW.strftime("%Y-%m-%dT%H:%M:%S")
        sim = subprocess.Popen(
            [*cli, "dms-simulator", "--port", str(port), "--now", now, "--smtp-port", "0"],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        try:
            time.sleep(2.5)
            print(
                f"one history month ({month}) per demo rooftop, SQLite warehouse, CPU of the loading process\n"
            )
            for dealership_id in args.dealerships:
                figures = {}
                for mode in ("load", "checks"):
                    with tempfile.TemporaryDirectory() as home:
                        command = [
                            sys.executable,
                            "-m",
                            "bench.history",
                            "--worker",
                            str(fleet),
                            home,
                            dealership_id,
                            month,
                            mode,
                        ]
                        out = subprocess.run(command, env=env, capture_output=True, text=True)
                        if out.returncode:
                            raise SystemExit(
                                f"{dealership_id} {mode}: the worker failed\n{out.stderr[-3000:]}"
                            )
                        figures[mode] = json.loads(out.stdout.strip().splitlines()[-1])
                full, base = figures["checks"], figures["load"]
                print(
                    f"  {dealership_id:<16} {full['cpu_s']:5.1f} s CPU ({full['wall_s']:.1f} s wall), "
                    f"{full['days_loaded']} days, {full['raw_rows']:,} raw rows, {full['failed_checks']} failed checks; "
                    f"without the checks {base['cpu_s']:.1f} s CPU: the checks add {full['cpu_s'] - base['cpu_s']:.1f} s "
                    f"({full['cpu_s'] / base['cpu_s']:.2f}×). target ≤ {TARGET_CPU_S:.0f} s: "
                    f"{'met' if full['cpu_s'] <= TARGET_CPU_S else 'MISSED'}"
                )
                failed = ", ".join(f"{name} ×{n}" for name, n in sorted(full["failed"].items()))
                print(
                    f"    failed days by check: {failed or 'none'}; importing GX and making its context: "
                    f"{full['gx_import_s']:.1f} s CPU, once per process, not counted above"
                )
        finally:
            sim.terminate()
            sim.wait()


if __name__ == "__main__":
    main()
