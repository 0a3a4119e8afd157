"""`/metrics`: each figure moved by a real action (a sync, a failed run, an AI call, an event, an
automation decision) and read back over HTTP from the real endpoint."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from auterity_pipelines.enrichment.tasks import LEAD_ENRICHMENT
from auterity_pipelines.events.routes import LEAD_RECEIVED
from auterity_pipelines.metrics.server import PlatformCollector, platform_sources, serve
from auterity_pipelines.schema import partition_volumes
from auterity_pipelines.simulator.data import SimulatorSettings
from ml.serving import NeuroWeaverServer, ServingFaults, serve_in_thread
from resources.ai.router import Router
from resources.channels import ledger
from resources.events.inbox import mark
from tests.conftest import clean_environment, free_port, start_simulator, write_fleet
from tests.helpers import sync
from tests.integration.test_delivery_ledger import row as delivery
from tests.integration.test_events_intake import ADF, ROOFTOP, inbox, post
from tests.integration.test_relaycore import config, items

NOW = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 20)


@contextmanager
def serving(warehouse, instance=None, relay=None, store=None, refresh_seconds=None) -> Iterator[int]:
    """The platform's `/metrics` on a loopback port; sources a test does not give are left out."""
    sources = platform_sources(warehouse, instance, store, relay)
    for name, given in (("dagster", instance), ("models", store)):
        if given is None:
            sources.pop(name)
    port = free_port()
    server = serve(sources, "127.0.0.1", port, refresh_seconds)
    try:
        yield port
    finally:
        server.shutdown()


def scrape(warehouse, instance=None, relay=None, store=None) -> dict[str, list]:
    """Read /metrics once and parse it: family name -> [(sample name, labels, value)]."""
    with serving(warehouse, instance, relay, store) as port:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return {
        f.name: [(s.name, s.labels, s.value) for s in f.samples] for f in text_string_to_metric_families(text)
    }


def value(found: dict, family: str, sample: str | None = None, **labels) -> float | None:
    for name, sample_labels, v in found.get(family, []):
        if name == (sample or family) and all(sample_labels.get(k) == x for k, x in labels.items()):
            return v
    return None


def test_a_sync_and_a_failed_run_move_the_sync_and_run_figures(tmp_path, warehouse, instance):
    before = scrape(warehouse, instance)
    assert value(before, "auterity_sync_rows", "auterity_sync_rows_total", dealership=ROOFTOP) is None
    with start_simulator(SimulatorSettings(now=NOW, malformed_share=0.1)) as url:
        fleet = write_fleet(tmp_path / "fleet.yaml", url)
        assert sync(instance, fleet, warehouse, ROOFTOP, DAY).success
        failed = sync(instance, tmp_path / "no-such-fleet.yaml", warehouse, ROOFTOP, DAY)
        assert not failed.success
    found = scrape(warehouse, instance)
    assert value(found, "auterity_metrics_source_up", source="warehouse") == 1
    assert value(found, "auterity_metrics_source_up", source="dagster") == 1
    with warehouse.engine.connect() as conn:
        wrote = dict(
            conn.execute(
                select(partition_volumes.c.table_name, func.sum(partition_volumes.c.rows))
                .where(partition_volumes.c.dealership_id == ROOFTOP)
                .group_by(partition_volumes.c.table_name)
            ).all()
        )
    assert wrote and all(n > 0 for n in wrote.values())
    for entity, rows in wrote.items():
        assert (
            value(found, "auterity_sync_rows", "auterity_sync_rows_total", dealership=ROOFTOP, entity=entity)
            == rows
        )
        assert value(found, "auterity_quarantined_records", "auterity_quarantined_records_total",
                     dealership=ROOFTOP, entity=entity) is not None  # fmt: skip
    with warehouse.engine.connect() as conn:
        good, bad = conn.execute(
            select(func.sum(partition_volumes.c.rows), func.sum(partition_volumes.c.quarantined)).where(
                partition_volumes.c.dealership_id == ROOFTOP
            )
        ).one()
    share = value(found, "auterity_quarantine_share", dealership=ROOFTOP)
    assert bad > 0 and share == pytest.approx(bad / (good + bad))  # all synced within the day
    synced = value(found, "auterity_partition_last_synced_timestamp_seconds", dealership=ROOFTOP)
    assert abs(synced - time.time()) < 600
    runs = {
        labels["status"]: v for name, labels, v in found["auterity_runs"] if name == "auterity_runs_total"
    }
    assert runs.get("SUCCESS") == 1 and runs.get("FAILURE") == 1, found["auterity_runs"]
    jobs = {labels["job"] for _, labels, _ in found["auterity_runs"]}
    assert len(jobs) == 1, jobs
    job = jobs.pop()
    assert value(found, "auterity_run_duration_seconds", "auterity_run_duration_seconds_count", job=job) == 2
    assert (
        value(
            found, "auterity_run_duration_seconds", "auterity_run_duration_seconds_bucket", job=job, le="+Inf"
        )
        == 2
    )
    assert value(found, "auterity_run_queue_depth") == 0


def test_ai_calls_move_requests_tokens_cost_latency_and_the_budget(warehouse):
    server = NeuroWeaverServer(ServingFaults())
    with serve_in_thread(server) as url:
        relay = config(url, price=2.0, local=False, quota={"monthly_budget_usd": 5})
        outcomes = list(Router(relay, warehouse.engine).run(LEAD_ENRICHMENT, "d1", items(3)))
    assert [o.status for o in outcomes] == ["ok"] * 3
    found = scrape(warehouse, relay=relay)
    labels = {"provider": "neuroweaver", "task": "lead_enrichment", "outcome": "ok"}
    assert value(found, "auterity_ai_requests", "auterity_ai_requests_total", **labels) == 3
    tokens_in = value(
        found, "auterity_ai_tokens", "auterity_ai_tokens_total", provider="neuroweaver", direction="input"
    )
    assert tokens_in > 0
    cost = value(
        found, "auterity_ai_cost_usd", "auterity_ai_cost_usd_total", dealership="d1", provider="neuroweaver"
    )
    assert cost > 0
    assert value(found, "auterity_ai_request_duration_seconds", "auterity_ai_request_duration_seconds_count",
                 provider="neuroweaver") == 3  # fmt: skip
    assert value(found, "auterity_ai_budget_usd", dealership="d1") == 5
    left = value(found, "auterity_ai_budget_remaining_usd", dealership="d1")
    assert left == pytest.approx(5 - cost, abs=1e-5)


def test_an_event_moves_received_backlog_and_event_to_result(receiver, warehouse):
    assert post(receiver, "leads", ADF).status_code == 202
    found = scrape(warehouse)
    received = {"dealership": ROOFTOP, "type": LEAD_RECEIVED, "status": "received"}
    assert value(found, "auterity_events_received", "auterity_events_received_total", **received) == 1
    assert value(found, "auterity_inbox_backlog", dealership=ROOFTOP) == 1
    (event,) = inbox(warehouse)
    mark(warehouse, [event["event_id"]], "done")
    found = scrape(warehouse)
    assert value(found, "auterity_inbox_backlog", dealership=ROOFTOP) == 0  # nothing waiting
    count = value(
        found,
        "auterity_event_to_result_seconds",
        "auterity_event_to_result_seconds_count",
        type=LEAD_RECEIVED,
    )
    assert count == 1
    # Labels never carry a record id: the event's id appears nowhere in the scrape.
    assert event["event_id"] not in repr(found)


def test_automation_decisions_are_counted_by_rooftop_automation_and_decision(warehouse):
    ledger.record(
        warehouse.engine, [delivery("k1", "sent"), delivery("k2", "suppressed"), delivery("k3", "sent")]
    )
    found = scrape(warehouse)
    labels = {"dealership": "lakeside-honda", "automation": "hot"}
    assert (
        value(
            found,
            "auterity_automation_decisions",
            "auterity_automation_decisions_total",
            decision="sent",
            **labels,
        )
        == 2
    )
    assert value(found, "auterity_automation_decisions", "auterity_automation_decisions_total",
                 decision="suppressed", **labels) == 1  # fmt: skip
    assert "lead:k1" not in repr(found)  # the subject is a record: never a label


def test_the_cli_serves_every_source_on_an_empty_install(tmp_path):
    """(Its bind address: test_binding.py.)"""
    port = free_port()
    env = clean_environment() | {"AUTERITY_HOME": str(tmp_path / "home")}
    server = subprocess.Popen(
        [sys.executable, "-m", "auterity_pipelines.cli.main", "metrics", "serve", "--port", str(port)],
        env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "the endpoint never answered"
                time.sleep(0.3)
        found = {f.name: f for f in text_string_to_metric_families(text)}
        up = {s.labels["source"]: s.value for s in found["auterity_metrics_source_up"].samples}
        assert up == {"warehouse": 1.0, "dagster": 1.0, "models": 1.0}  # an empty install answers
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert server.returncode == 0


def test_a_refreshing_endpoint_serves_its_latest_reading_and_says_how_old_it_is(warehouse):
    """With --refresh-seconds the stores are read in the background: a scrape answers from the
    latest reading, which follows the ledgers within a refresh."""
    with serving(warehouse, refresh_seconds=0.3) as port:

        def decisions() -> tuple[float | None, float]:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            found = {f.name: [(s.name, s.labels, s.value) for s in f.samples]
                     for f in text_string_to_metric_families(text)}  # fmt: skip
            sent = value(found, "auterity_automation_decisions", "auterity_automation_decisions_total",
                         dealership="lakeside-honda", decision="sent")  # fmt: skip
            return sent, value(found, "auterity_metrics_snapshot_age_seconds")

        sent, age = decisions()
        assert sent is None and 0 <= age < 5
        ledger.record(warehouse.engine, [delivery("k1", "sent")])
        deadline = time.monotonic() + 10
        while (sent := decisions()[0]) is None:
            assert time.monotonic() < deadline, "the new decision never reached a scrape"
            time.sleep(0.1)
        assert sent == 1


def test_a_reading_is_as_old_as_its_start_not_its_end():
    """What a source returns may predate a change made while it was being read: the age served
    counts from the start of the reading, so a reader waiting for figures newer than a change can
    trust it."""

    def slow() -> list:
        time.sleep(0.5)
        return []

    collector = PlatformCollector({"slow": slow}, refresh_seconds=600)
    collector.start()
    try:
        served = {f.name: f.samples[0].value for f in collector.collect()}
    finally:
        collector.stop()
    assert served["auterity_metrics_snapshot_age_seconds"] >= 0.5


def test_a_taken_port_fails_the_start_and_leaves_no_reading_thread(warehouse):
    import socket
    import threading

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        sources = platform_sources(warehouse, None, None, None)
        sources.pop("dagster"), sources.pop("models")
        with pytest.raises(OSError):
            serve(sources, "127.0.0.1", port, refresh_seconds=0.1)
    time.sleep(0.3)
    assert not [t for t in threading.enumerate() if t.name == "metrics-refresh"]
