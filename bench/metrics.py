"""Metrics scrape at a 300-rooftop group's scale: GET /metrics against a PostgreSQL warehouse and
a PostgreSQL Dagster instance filled with a year of bookkeeping, beside the same scrape of an
empty install in the same run.

The warehouse gets what a year of 300 rooftops leaves in the tables the metrics read (a row per
rooftop, day and contract table in `partition_volumes`; AI calls, inbox events and automation
decisions); the instance gets a run per rooftop-day, inserted into its runs table with one real
run's body (the metrics read only job, status and times). Each figure is the median of 5 scrapes
over HTTP, after one that warms the connections.

    .venv/bin/python -m bench.metrics [--rooftops 300] [--days 365] [--postgres URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random
import statistics
import time

from auterity_pipelines.cli.metrics import DEFAULT_REFRESH_SECONDS
from bench.dms_load import ADMIN, drop_database, free_port, new_database

TABLES = ("customers", "vehicles", "deals", "repair_orders", "repair_order_lines", "leads")
TARGET_S = 1.0


def fill_warehouse(url: str, rooftops: int, days: int, per_rooftop: int) -> dict[str, int]:
    import psycopg
    from sqlalchemy import make_url

    from resources.warehouse import Warehouse

    Warehouse(url=url).upgrade()
    rng = random.Random(7)
    start = dt.datetime(2025, 12, 1, tzinfo=dt.UTC)
    names = [f"rooftop-{i:03d}" for i in range(rooftops)]

    def copy(conn, table: str, columns: str, rows) -> int:
        buffer = io.StringIO()
        n = 0
        for row in rows:
            buffer.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
            n += 1
        with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as target:
            target.write(buffer.getvalue())
        return n

    def stamp(i: int) -> str:
        return (start + dt.timedelta(seconds=i * 37 % (days * 86400))).isoformat()

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        counts = {
            "partition_volumes": copy(conn, "partition_volumes", "dealership_id, table_name, day, rows, quarantined, updated_at", (
                (r, t, (start + dt.timedelta(days=d)).date(), rng.randint(10, 5000), rng.randint(0, 20), stamp(d))
                for r in names for d in range(days) for t in TABLES)),
            "ai_usage": copy(conn, "ai_usage", "called_at, dealership_id, task, provider, model, prompt_version, tokens_in, "
                             "tokens_out, cost_usd, latency_ms, cache_hit, outcome", (
                (stamp(i), names[i % rooftops], rng.choice(["lead_enrichment", "repair_order_enrichment"]),
                 rng.choice(["openai", "neuroweaver", "local"]), "m", "v1", 400, 120, 0.0004, rng.randint(50, 4000),
                 rng.random() < 0.2, rng.choice(["ok"] * 20 + ["timeout", "rate_limited"])) for i in range(rooftops * per_rooftop))),
            "events_inbox": copy(conn, "events_inbox", "event_id, dealership_id, event_type, received_at, payload, status, "
                                 "channel, dedup_key, processed_at", (
                (f"e{i}", names[i % rooftops], rng.choice(["lead.received", "ro.closed", "deal.funded"]), stamp(i), "{}",
                 "done" if i % 50 else "received", "webhook", f"d{i}", stamp(i + 3) if i % 50 else None)
                for i in range(rooftops * per_rooftop))),
            "automation_deliveries": copy(conn, "automation_deliveries", "delivery_key, automation, dealership_id, subject, "
                                          'channel, "window", decision, retryable, attempts, partition_key, created_at, updated_at', (
                (f"k{i}", rng.choice(["hot_lead_alert", "service_due_reminder"]), names[i % rooftops], f"s{i}", "sms", "once",
                 rng.choice(["sent", "suppressed", "deferred"]), False, 1, "p", stamp(i), stamp(i))
                for i in range(rooftops * per_rooftop))),
        }  # fmt: skip
        conn.execute("ANALYZE")
    return counts


def fill_instance(instance, rooftops: int, days: int) -> int:
    """A run per rooftop-day: one real run, then copies of its row with their own ids and times."""
    import dagster as dg
    from dagster._core.storage.runs.schema import RunsTable
    from sqlalchemy import insert, select

    @dg.op
    def noop():
        return None

    @dg.job
    def nightly():
        noop()

    nightly.execute_in_process(instance=instance)
    with instance.run_storage.connect() as conn:
        body = conn.execute(select(RunsTable.c.run_body, RunsTable.c.snapshot_id)).first()
        rng = random.Random(3)
        rows = []
        for i in range(rooftops * days):
            started = 1.76e9 + i * 60
            status = "SUCCESS" if i % 40 else rng.choice(["FAILURE", "CANCELED", "QUEUED"])
            rows.append({
                "run_id": f"bench-{i:08d}", "snapshot_id": body.snapshot_id, "pipeline_name": "dms_sync_job",
                "status": status, "run_body": body.run_body, "partition": None, "partition_set": None,
                "start_time": started, "end_time": None if status == "QUEUED" else started + rng.uniform(5, 900),
            })  # fmt: skip
            if len(rows) == 5000:
                conn.execute(insert(RunsTable), rows)
                rows = []
        if rows:
            conn.execute(insert(RunsTable), rows)
    return rooftops * days + 1


def scrape_seconds(sources, refresh_seconds: float | None) -> tuple[float, dict[str, float], int]:
    import httpx

    from auterity_pipelines.metrics.server import serve

    port = free_port()
    server = serve(sources, "127.0.0.1", port, refresh_seconds)
    try:
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=60)  # warms the connections
        times, text = [], ""
        for _ in range(5):
            started = time.perf_counter()
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=60).text
            times.append(time.perf_counter() - started)
    finally:
        server.shutdown()
    per_source = {
        line.split('"')[1]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("auterity_metrics_source_seconds{")
    }
    return (
        statistics.median(times),
        per_source,
        sum(1 for line in text.splitlines() if line and line[0] != "#"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooftops", type=int, default=300)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument(
        "--per-rooftop", type=int, default=1000, help="AI calls, events and decisions per rooftop"
    )
    parser.add_argument("--postgres", default=ADMIN)
    args = parser.parse_args()

    import dagster as dg
    from sqlalchemy import make_url

    from auterity_pipelines.metrics.server import platform_sources
    from resources.ai.config import load_config
    from resources.warehouse import Warehouse

    relay = load_config()
    databases = [new_database(args.postgres) for _ in range(4)]
    try:
        figures = {}
        for label, (warehouse_url, instance_url), fill in (
            ("empty install", databases[:2], False),
            (f"{args.rooftops} rooftops", databases[2:], True),
        ):
            dagster_url = (
                make_url(instance_url)
                .set(drivername="postgresql+psycopg2")
                .render_as_string(hide_password=False)
            )
            with dg.instance_for_test(
                overrides={"storage": {"postgres": {"postgres_url": dagster_url}}}
            ) as instance:
                Warehouse(url=warehouse_url).upgrade()
                if fill:
                    started = time.perf_counter()
                    counts = fill_warehouse(warehouse_url, args.rooftops, args.days, args.per_rooftop)
                    counts["runs"] = fill_instance(instance, args.rooftops, args.days)
                    print(f"filled in {time.perf_counter() - started:.0f} s: "
                          + ", ".join(f"{k} {v:,}" for k, v in counts.items()), flush=True)  # fmt: skip
                sources = platform_sources(Warehouse(url=warehouse_url), instance, None, relay)
                sources.pop("models")  # the registry's read is a few aliases, whatever the scale
                figures[f"{label}, read at each scrape"] = scrape_seconds(sources, None)
                figures[label] = scrape_seconds(sources, DEFAULT_REFRESH_SECONDS)
        base = figures["empty install, read at each scrape"][0]
        print(
            "\nGET /metrics, median of 5 (PostgreSQL warehouse and instance); the stores' reading times in brackets"
        )
        for label, (seconds, per_source, samples) in figures.items():
            parts = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in per_source.items())
            print(
                f"  {label:40} {seconds:6.3f} s  {seconds / base:5.1f}× the empty install read live  {samples:,} samples  ({parts})"
            )
        print(f"\nserved from the background reading (auterity metrics serve's default, every {DEFAULT_REFRESH_SECONDS:.0f} s): "
              f"figures at most {DEFAULT_REFRESH_SECONDS:.0f} s plus one reading old")  # fmt: skip
        at_scale = figures[f"{args.rooftops} rooftops"][0]
        print(f"\ntarget: a scrape under {TARGET_S:.0f} s at {args.rooftops} rooftops: {at_scale:.3f} s, "
              f"{'met' if at_scale < TARGET_S else 'MISSED'}")  # fmt: skip
    finally:
        for url in databases:
            drop_database(args.postgres, url)


if __name__ == "__main__":
    main()
