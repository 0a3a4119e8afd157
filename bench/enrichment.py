"""bench/enrichment: RelayCore's throughput against the NeuroWeaver endpoint answering in 100 ms.

Prints the router's records/s on 10,000 leads at a concurrency of 32 beside a plain sequential
loop over the `openai` client (first 300 records) in the same run, then a second pass over the
same records (target: no provider call, under 5% of the first pass's time), then the offline
classifiers' held-out scores.

    python -m bench.enrichment [--records 10000] [--latency-ms 100] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from auterity_pipelines.enrichment.inputs import lead_input
from auterity_pipelines.enrichment.tasks import LEAD_ENRICHMENT
from resources.ai.config import parse_config
from resources.ai.router import Router, WorkItem, redact_record
from resources.warehouse import Warehouse


def leads(n: int) -> list[WorkItem]:
    """Real-shaped leads from the DMS simulator, as the lead asset hands them to the router."""
    from auterity_pipelines.simulator.data import EPOCH, RooftopDms, SimulatorSettings

    dms = RooftopDms(
        "bench-rooftop", SimulatorSettings(now=EPOCH + dt.timedelta(days=400), scale=4, update_share=0)
    )
    items = []
    for _, lead in dms.stream("leads", EPOCH, EPOCH + dt.timedelta(days=399)):
        row = {**lead, "lead_id": lead["source_id"]}
        key, record, names = lead_input(row)
        # A per-record detail, so every record is a distinct request (and a distinct cache key).
        record["comments"] = f"{record['comments']} Ref {key}.".strip()
        items.append(WorkItem(key, record, names))
        if len(items) == n:
            break
    return items


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_endpoint(latency_ms: float) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "auterity_pipelines.cli.main",
            "neuroweaver",
            "serve",
            "--port",
            str(port),
            "--latency-ms",
            str(latency_ms),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{url}/models", timeout=1)
            return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the NeuroWeaver endpoint did not start")


def sequential_loop(url: str, items: list[WorkItem]) -> float:
    """The baseline: one `openai` client, one request after another, nothing else."""
    import openai

    client = openai.OpenAI(base_url=url, api_key="bench", max_retries=0)
    started = time.perf_counter()
    for item in items:
        messages = LEAD_ENRICHMENT.messages(redact_record(item.record, item.names))
        client.chat.completions.create(model="neuroweaver-lead-enrichment", messages=messages, max_tokens=300)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=100)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--loop-records", type=int, default=300)
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="auterity-bench-")
    os.environ["AUTERITY_HOME"] = home
    warehouse = Warehouse(
        url=os.environ.get("AUTERITY_BENCH_WAREHOUSE_URL") or f"sqlite:///{home}/warehouse.db"
    )
    warehouse.upgrade()
    items = leads(args.records)
    process, url = start_endpoint(args.latency_ms)
    try:
        quota = {
            "requests_per_minute": 100_000,
            "tokens_per_day": 100_000_000,
            "monthly_budget_usd": 50,
            "on_budget_exhausted": "error",
        }
        config = parse_config(
            {
                "providers": {
                    "neuroweaver": {
                        "kind": "openai_compatible",
                        "base_url": url,
                        "max_concurrency": args.concurrency,
                    }
                },
                "tasks": {
                    "lead_enrichment": {
                        "candidates": [
                            {
                                "provider": "neuroweaver",
                                "model": "neuroweaver-lead-enrichment",
                                "input_per_million": 0.1,
                                "output_per_million": 0.4,
                            }
                        ]
                    }
                },
                "quotas": {"default": quota},
                "concurrency": args.concurrency,
            }
        )
        loop_seconds = sequential_loop(url, items[: args.loop_records])
        loop_rate = args.loop_records / loop_seconds

        first = Router(config, warehouse.engine)
        started = time.perf_counter()
        outcomes = list(first.run(LEAD_ENRICHMENT, "bench-rooftop", items))
        first_seconds = time.perf_counter() - started
        ok = sum(o.status == "ok" for o in outcomes)

        second = Router(config, warehouse.engine)
        started = time.perf_counter()
        again = list(second.run(LEAD_ENRICHMENT, "bench-rooftop", items))
        second_seconds = time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=10)

    rate = len(items) / first_seconds
    spent = first.quotas.used("bench-rooftop", "lead_enrichment", "spend_micro_usd") / 1e6
    print(
        f"endpoint latency {args.latency_ms:.0f} ms, router concurrency {args.concurrency}, warehouse {warehouse.engine.dialect.name}"
    )
    print(
        f"sequential openai loop  {args.loop_records:>6,} records  {loop_seconds:6.1f} s  {loop_rate:8.1f} records/s"
    )
    print(
        f"RelayCore first pass    {len(items):>6,} records  {first_seconds:6.1f} s  {rate:8.1f} records/s  ({ok:,} ok, {first.stats.calls:,} calls, {first.stats.cache_hits:,} cache hits, ${spent:.4f} of a $50 budget)"
    )
    print(
        f"RelayCore second pass   {len(again):>6,} records  {second_seconds:6.2f} s  ({second.stats.calls} provider calls, {second.stats.cache_hits:,} cache hits)"
    )
    ratio, share = rate / loop_rate, second_seconds / first_seconds
    print(
        f"targets: router/loop {ratio:.1f}× (≥ 20 {'met' if ratio >= 20 else 'MISSED'}); second pass {share:.1%} of the first with {second.stats.calls} calls (< 5% and 0 {'met' if share < 0.05 and second.stats.calls == 0 else 'MISSED'})"
    )

    from ml.text.evaluation import evaluate_complaints

    scores = evaluate_complaints()
    print("offline classifiers:", json.dumps(scores))


if __name__ == "__main__":
    main()
