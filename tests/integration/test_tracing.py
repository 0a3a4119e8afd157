"""One lead, one trace: from the receiver's request through the inbox row, the sensor's run
request and each step of its run (the provider call inside enrichment) to the CRM post, received
by a loopback OTLP/HTTP collector. Nothing is exported, or stored, when no endpoint is set."""

from __future__ import annotations

import dagster as dg
import pytest

from assets.enrichment import lead_enrichments
from assets.intake import crm_deliveries, inbound_leads
from assets.scoring import lead_scores
from auterity_pipelines import tracing
from auterity_pipelines.fleet import load_fleet
from auterity_pipelines.loopback import serve_app_in_thread
from resources.ai import RelayCore
from resources.dms.fleet import DmsFleet
from resources.events.receiver import Receiver
from sensors.events import inbox_events
from tests.integration.otlp_collector import Collector
from tests.integration.test_events_intake import ADF, inbox, post

STEPS = [inbound_leads, lead_enrichments, lead_scores, crm_deliveries]
PERSON = ("Maria", "Lopez", "maria@example.com", "Test drive")


@pytest.fixture
def collector(monkeypatch):
    collector = Collector()
    with serve_app_in_thread(collector.app(), "OTLP collector") as url:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url)
        monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
        yield collector


def lead_through_intake(instance, warehouse, fleet_file, neuroweaver):
    """Post the lead to the real receiver, let the sensor ask for its run, and run it."""
    with serve_app_in_thread(Receiver(load_fleet(fleet_file), warehouse).app(), "receiver") as url:
        assert post(url, "leads", ADF).status_code == 202
    (event,) = inbox(warehouse)
    (request,) = inbox_events(
        dg.build_sensor_context(instance=instance, resources={"warehouse": warehouse})
    ).run_requests
    result = dg.materialize(
        STEPS,
        resources={
            "dms": DmsFleet(fleet_file=str(fleet_file)),
            "warehouse": warehouse,
            "relaycore": RelayCore(),
            "neuroweaver": neuroweaver,
        },
        partition_key=request.partition_key,
        instance=instance,
        tags=request.tags,
    )
    assert result.success
    tracing.flush()
    return event, request, result.run_id


def test_one_lead_is_one_trace_from_the_receiver_to_the_crm_post(
    instance, warehouse, fleet_file, crm, neuroweaver, collector
):
    event, request, run_id = lead_through_intake(instance, warehouse, fleet_file, neuroweaver)
    assert len(crm.received) == 1
    spans = collector.spans
    by_name = {}
    for span in spans:
        by_name.setdefault(span["name"], []).append(span)
    (receive,) = by_name["POST /v1/dealerships/{dealership_id}/leads"]
    (stored,) = by_name["inbox store"]
    (requested,) = by_name["run request"]
    assert receive["kind"] == "server" and receive["parent_id"] is None
    assert receive["attributes"]["http.response.status_code"] == 202
    assert stored["parent_id"] == receive["span_id"]
    assert stored["attributes"]["auterity.event_ids"] == [event["event_id"]]
    assert event["traceparent"].split("-")[2] == stored["span_id"]  # the inbox row carries the context
    assert requested["parent_id"] == stored["span_id"]
    assert requested["attributes"]["auterity.event_id"] == event["event_id"]
    assert request.tags[tracing.TRACE_TAG].split("-")[2] == requested["span_id"]

    steps = {s["name"].removeprefix("step "): s for s in spans if s["name"].startswith("step ")}
    assert set(steps) == {"events__inbound_leads", "enrichment__lead_enrichments", "lead_scores",
                          "events__crm_deliveries"}  # fmt: skip
    for step in steps.values():
        assert step["parent_id"] == requested["span_id"]
        assert step["attributes"]["dagster.run_id"] == run_id
        assert step["attributes"]["auterity.event_id"] == event["event_id"]
        assert not step["error"]
    calls = [s for s in spans if s["name"].startswith("ai ")]
    assert calls and all(c["parent_id"] == steps["enrichment__lead_enrichments"]["span_id"] for c in calls)
    assert calls[0]["attributes"]["auterity.task"] == "lead_enrichment"
    (posted,) = by_name["crm post"]
    assert posted["parent_id"] == steps["events__crm_deliveries"]["span_id"]
    assert posted["kind"] == "client" and posted["attributes"]["auterity.event_id"] == event["event_id"]

    assert {s["trace_id"] for s in spans} == {receive["trace_id"]}  # one trace
    assert {s["service"] for s in spans} == {"auterity-pipelines"}
    shown = repr([(s["name"], s["attributes"]) for s in spans])
    assert not [p for p in PERSON if p in shown]  # no person on any span


def test_without_an_endpoint_nothing_is_traced_stored_or_sent(
    instance, warehouse, fleet_file, crm, neuroweaver, collector, monkeypatch
):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT")
    event, request, _ = lead_through_intake(instance, warehouse, fleet_file, neuroweaver)
    assert len(crm.received) == 1
    assert event["traceparent"] is None
    assert tracing.TRACE_TAG not in request.tags
    assert collector.spans == []


@pytest.mark.parametrize(
    "sent", ["00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "garbage", "00-" + "f" * 5000]
)
def test_a_senders_traceparent_is_the_parent_and_a_malformed_one_is_ignored(
    warehouse, fleet_file, collector, sent
):
    with serve_app_in_thread(Receiver(load_fleet(fleet_file), warehouse).app(), "receiver") as url:
        assert post(url, "leads", ADF, traceparent=sent).status_code == 202
    tracing.flush()
    (receive,) = [s for s in collector.spans if s["kind"] == "server"]
    (event,) = inbox(warehouse)
    if sent.startswith("00-0af7"):
        assert receive["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
        assert receive["parent_id"] == "b7ad6b7169203331"
    else:  # not a trace context: this request starts its own trace
        assert receive["parent_id"] is None
    assert event["traceparent"].split("-")[1] == receive["trace_id"]  # our own context, never the header
