"""A 300-rooftop group on the production instance (PostgreSQL): what the code location, the
daemon's ticks and the UI's partition view cost, with two years of daily partitions (the design
before issue 7) and with the daily window of today's design, measured in the same run.

Per design, in a fresh PostgreSQL database and a fresh interpreter:
- the code location's load: in-process import, and the webserver's code server until the UI
  reports it LOADED; the code server's resident memory after the queries below;
- tick evaluation of the nightly schedule and of the fleet, inbox, lead-file and extract-day
  sensors against 300 rooftops, 100 of them extract rooftops: in process, and through the code
  server over gRPC as the daemon's ticks go (the UI's dry-run mutations);
- the GraphQL the asset's partitions page sends: partition status and counts of `dms/raw_customers`
  with every one of its partitions materialized (first query fills Dagster's status cache; then
  the median of five);
- the operations guide's `pg_dump` of that instance and its `pg_restore` into an empty database.

    .venv/bin/python -m bench.scale [--rooftops 300] [--windows 24 6]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get(
    "AUTERITY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
RECOMMENDED = 100_000  # Dagster: at most this many partitions per asset, or the UI slows
TIMEZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Phoenix",
]
STATUS_QUERY = """
query ($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    ... on AssetNode {
      partitionStats { numMaterialized numPartitions numFailed numMaterializing }
      assetPartitionStatuses {
        ... on MultiPartitionStatuses {
          primaryDimensionName
          ranges { primaryDimStartKey primaryDimEndKey
            secondaryDim { ... on DefaultPartitionStatuses { materializedPartitions }
                           ... on TimePartitionStatuses { ranges { status startKey endKey } } } }
        }
      }
    }
  }
}"""
LOCATION_QUERY = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
# What the UI's "test sensor" and "test schedule" send: an evaluation in the code server, over
# gRPC, as the daemon's ticks are.
DRY_RUN = {
    "sensor": """mutation ($selector: SensorSelector!, $cursor: String) {
        sensorDryRun(selectorData: $selector, cursor: $cursor) {
        __typename ... on DryRunInstigationTick { evaluationResult { skipReason error { message } } }
        ... on PythonError { message } } }""",
    "schedule": """mutation ($selector: ScheduleSelector!, $timestamp: Float) {
        scheduleDryRun(selectorData: $selector, timestamp: $timestamp) {
        __typename ... on DryRunInstigationTick { evaluationResult { skipReason error { message } } }
        ... on PythonError { message } } }""",
}


def fleet_yaml(n: int, root: Path) -> str:
    import yaml

    dealerships = []
    for i in range(n):
        dealer = {"id": f"rooftop-{i:03d}", "name": f"Rooftop {i}", "timezone": TIMEZONES[i % len(TIMEZONES)]}
        kind = ("fortellis", "tekion", "extract")[i % 3]
        if kind == "extract":
            (root / "extracts" / dealer["id"]).mkdir(parents=True, exist_ok=True)
            dealer["dms"] = {"kind": "extract", "path": str(root / "extracts" / dealer["id"])}
        elif kind == "fortellis":
            dealer["dms"] = {"kind": "fortellis", "base_url": f"https://api-{i % 4}.fortellis.example",
                             "client_id_env": "AUTERITY_DEMO_FORTELLIS_CLIENT_ID",
                             "client_secret_env": "AUTERITY_DEMO_FORTELLIS_CLIENT_SECRET",
                             "subscription_id": dealer["id"]}  # fmt: skip
        else:
            dealer["dms"] = {"kind": "tekion", "base_url": "https://api.tekion.example",
                             "app_id_env": "AUTERITY_DEMO_TEKION_APP_ID",
                             "secret_key_env": "AUTERITY_DEMO_TEKION_SECRET_KEY", "dealer_id": dealer["id"]}  # fmt: skip
        dealerships.append(dealer)
    return yaml.safe_dump({"dealerships": dealerships})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _median_seconds(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def dry_run(client, url: str, name: str, timestamp: float) -> None:
    kind = "schedule" if name.startswith("nightly") else "sensor"
    selector = {
        "repositoryLocationName": "auterity_pipelines",
        "repositoryName": "__repository__",
        f"{kind}Name": name,
    }
    variables = {
        "selector": selector,
        **({"timestamp": timestamp} if kind == "schedule" else {"cursor": None}),
    }
    answer = client.post(url, json={"query": DRY_RUN[kind], "variables": variables}).json()
    tick = answer.get("data", {}).get(f"{kind}DryRun") or {}
    result = tick.get("evaluationResult") or {}
    if tick.get("__typename") != "DryRunInstigationTick" or result.get("error"):
        raise RuntimeError(f"{name}: {answer}")


def seed(instance, key, partition_keys: list[str], batch: int = 5000) -> None:
    """One materialization per partition, written in batches as a run's would be."""
    import dagster as dg
    from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
    from dagster._core.events.log import EventLogEntry
    from dagster._core.instance.utils import RUNLESS_JOB_NAME, RUNLESS_RUN_ID

    from auterity_pipelines.partitions import rooftop_days

    for start in range(0, len(partition_keys), batch):
        entries = []
        for partition in partition_keys[start : start + batch]:
            dims = rooftop_days.get_partition_key_from_str(partition).keys_by_dimension
            tags = {f"dagster/partition/{name}": value for name, value in dims.items()}
            event = DagsterEvent(
                event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
                job_name=RUNLESS_JOB_NAME,
                event_specific_data=StepMaterializationData(
                    dg.AssetMaterialization(key, partition=partition, tags=tags)
                ),
            )
            entries.append(
                EventLogEntry(
                    error_info=None,
                    level="debug",
                    user_message="",
                    run_id=RUNLESS_RUN_ID,
                    timestamp=time.time(),
                    dagster_event=event,
                )
            )
        instance.event_log_storage.store_event_batch(entries)


def backup_and_restore(admin, url: str, work: Path) -> dict:
    """The operations guide's nightly dump of the instance, and its restore into an empty database."""
    from sqlalchemy import text

    dump = work / "dagster.dump"
    started = time.perf_counter()
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", url], check=True)
    dumped = time.perf_counter() - started
    restored_db = f"{url.rsplit('/', 1)[1]}_restored"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {restored_db}"))
    try:
        started = time.perf_counter()
        subprocess.run(
            [
                "pg_restore",
                "--no-owner",
                "--jobs=4",
                f"--dbname={url.rsplit('/', 1)[0]}/{restored_db}",
                str(dump),
            ],
            check=True,
        )
        restored = time.perf_counter() - started
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {restored_db} WITH (FORCE)"))
    return {"dump_s": dumped, "dump_mb": dump.stat().st_size / 2**20, "restore_s": restored}


def scenario(rooftops: int) -> dict:
    """One design, in this process (its window is already in the environment)."""
    import httpx
    import psutil
    from sqlalchemy import create_engine, text

    figures: dict = {}
    work = Path(tempfile.mkdtemp(prefix="auterity-scale-"))
    database = f"auterity_bench_scale_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {database}"))
    rest = ADMIN_URL.split("://", 1)[1].rsplit("/", 1)[0]
    home = work / "dagster"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    (work / "fleet.yaml").write_text(fleet_yaml(rooftops, work))
    os.environ.update(
        DAGSTER_HOME=str(home),
        DAGSTER_POSTGRES_URL=f"postgresql+psycopg2://{rest}/{database}",
        AUTERITY_HOME=str(work),
        AUTERITY_FLEET=str(work / "fleet.yaml"),
    )
    server = None
    try:
        started = time.perf_counter()
        import dagster as dg

        from auterity_pipelines.definitions import defs

        defs.resolve_asset_graph()  # loading the location resolves its assets, not only imports them
        figures["import_s"] = time.perf_counter() - started
        from auterity_pipelines.partitions import DAYS, MONTHS, rooftop_days
        from resources.warehouse import warehouse_now

        figures["days"] = len(DAYS.get_partition_keys())
        figures["months"] = len(MONTHS.get_partition_keys())
        instance = dg.DagsterInstance.get()
        ids = [f"rooftop-{i:03d}" for i in range(rooftops)]
        instance.add_dynamic_partitions("dealerships", ids)
        keys = rooftop_days.get_partition_keys(dynamic_partitions_store=instance)
        figures["partitions_per_asset"] = len(keys)
        started = time.perf_counter()
        seed(instance, dg.AssetKey(["dms", "raw_customers"]), keys)
        figures["seed_s"] = time.perf_counter() - started

        warehouse = warehouse_now()
        warehouse.upgrade()
        now = datetime.datetime.now(datetime.UTC).replace(minute=15, second=0, microsecond=0)
        ticks = {
            "nightly_dms_sync": lambda: defs.resolve_schedule_def("nightly_dms_sync")(
                dg.build_schedule_context(instance=instance, scheduled_execution_time=now)
            ),
            "fleet_partitions": lambda: defs.resolve_sensor_def("fleet_partitions")(
                dg.build_sensor_context(instance=instance)
            ),
            "inbox_events": lambda: defs.resolve_sensor_def("inbox_events")(
                dg.build_sensor_context(instance=instance, resources={"warehouse": warehouse})
            ),
            "lead_file_drops": lambda: defs.resolve_sensor_def("lead_file_drops")(
                dg.build_sensor_context(instance=instance)
            ),
            "extract_day_drops": lambda: defs.resolve_sensor_def("extract_day_drops")(
                dg.build_sensor_context(instance=instance)
            ),
        }
        figures["ticks_s"] = {name: _median_seconds(tick) for name, tick in ticks.items()}

        port = _free_port()
        started = time.perf_counter()
        server = subprocess.Popen(
            [sys.executable, "-m", "dagster_webserver", "-w", str(ROOT / "workspace.yaml"),
             "-h", "127.0.0.1", "-p", str(port)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}/graphql"
        with httpx.Client(timeout=300) as client:
            while True:
                try:
                    entries = client.post(url, json={"query": LOCATION_QUERY}).json()["data"][
                        "workspaceOrError"
                    ]
                    if all(e["loadStatus"] == "LOADED" for e in entries["locationEntries"]):
                        break
                except (httpx.HTTPError, KeyError, TypeError):
                    pass
                if server.poll() is not None or time.perf_counter() - started > 300:
                    raise RuntimeError("the webserver did not load the code location")
                time.sleep(0.2)
            figures["location_loaded_s"] = time.perf_counter() - started
            variables = {"key": {"path": ["dms", "raw_customers"]}}

            def status():
                answer = client.post(url, json={"query": STATUS_QUERY, "variables": variables}).json()
                assert "errors" not in answer, answer
                return answer["data"]["assetNodeOrError"]

            figures["ticks_grpc_s"] = {
                name: _median_seconds(lambda name=name: dry_run(client, url, name, now.timestamp()), runs=3)
                for name in ticks
            }
            started = time.perf_counter()
            node = status()
            figures["status_first_s"] = time.perf_counter() - started
            figures["status_s"] = _median_seconds(status)
            stats = node["partitionStats"]
            figures["materialized"] = f"{stats['numMaterialized']} of {stats['numPartitions']}"
        children = psutil.Process(server.pid).children(recursive=True)
        code_servers = [
            p for p in children if "grpc" in " ".join(p.cmdline()) or "code-server" in " ".join(p.cmdline())
        ]
        figures["code_server_rss_mb"] = max(p.memory_info().rss for p in code_servers) / 2**20
        figures["webserver_rss_mb"] = psutil.Process(server.pid).memory_info().rss / 2**20
        figures.update(backup_and_restore(admin, f"postgresql://{rest}/{database}", work))
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        admin.dispose()
        shutil.rmtree(work, ignore_errors=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooftops", type=int, default=300)
    parser.add_argument("--windows", type=int, nargs="+", default=[24, 6], help="daily window, in months")
    parser.add_argument("--scenario", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scenario:
        print(json.dumps(scenario(args.rooftops)))
        return
    results = {}
    for months in args.windows:
        env = {**os.environ, "AUTERITY_DAILY_WINDOW_MONTHS": str(months)}
        print(f"measuring a {months}-month daily window with {args.rooftops} rooftops …", flush=True)
        out = subprocess.run(
            [sys.executable, "-m", "bench.scale", "--scenario", "--rooftops", str(args.rooftops)],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if out.returncode:
            sys.exit(out.stderr[-3000:])
        results[months] = json.loads(out.stdout.strip().splitlines()[-1])
    rows = [
        ("daily partitions per rooftop", lambda f: f"{f['days']}"),
        ("history months per rooftop", lambda f: f"{f['months']}"),
        ("partitions per daily asset", lambda f: f"{f['partitions_per_asset']:,}"),
        (f"  against Dagster's {RECOMMENDED:,}", lambda f: f"{f['partitions_per_asset'] / RECOMMENDED:.2f}×"),
        ("import definitions (s)", lambda f: f"{f['import_s']:.2f}"),
        ("UI: code location LOADED (s)", lambda f: f"{f['location_loaded_s']:.2f}"),
        ("code server RSS (MB)", lambda f: f"{f['code_server_rss_mb']:.0f}"),
        ("webserver RSS (MB)", lambda f: f"{f['webserver_rss_mb']:.0f}"),
        ("partition status, first query (s)", lambda f: f"{f['status_first_s']:.2f}"),
        ("partition status, median of 5 (s)", lambda f: f"{f['status_s']:.3f}"),
        ("  materialized", lambda f: f["materialized"]),
        *[
            row
            for name in results[args.windows[0]]["ticks_s"]
            for row in (
                (f"tick {name}, in process (s)", lambda f, n=name: f"{f['ticks_s'][n]:.3f}"),
                ("  through the code server (s)", lambda f, n=name: f"{f['ticks_grpc_s'][n]:.3f}"),
            )
        ],
        ("seeding one asset's materializations (s)", lambda f: f"{f['seed_s']:.1f}"),
        ("instance pg_dump (s)", lambda f: f"{f['dump_s']:.1f}"),
        ("  dump size (MB)", lambda f: f"{f['dump_mb']:.1f}"),
        ("instance pg_restore --jobs=4 (s)", lambda f: f"{f['restore_s']:.1f}"),
    ]
    header = "".join(f"{f'{m}-month window':>20}" for m in args.windows)
    print(f"\n{'':<44}{header}")
    for label, cell in rows:
        print(f"{label:<44}" + "".join(f"{cell(results[m]):>20}" for m in args.windows))
    if len(args.windows) == 2:
        old, new = (results[m] for m in args.windows)
        print(
            f"\nratio {args.windows[1]}-month / {args.windows[0]}-month: partitions "
            f"{new['partitions_per_asset'] / old['partitions_per_asset']:.2f}, first status query "
            f"{new['status_first_s'] / old['status_first_s']:.2f}, warm status query {new['status_s'] / old['status_s']:.2f}, "
            f"code server memory {new['code_server_rss_mb'] / old['code_server_rss_mb']:.2f}"
        )


if __name__ == "__main__":
    main()
