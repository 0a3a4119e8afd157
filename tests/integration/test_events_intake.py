"""Events in: the signed webhook receiver and the RabbitMQ bridge, both into the durable inbox."""

import json
import threading
import time

import httpx
import pytest
from sqlalchemy import select

from auterity_pipelines.events.signing import headers
from auterity_pipelines.fleet import load_fleet
from auterity_pipelines.loopback import serve_app_in_thread
from auterity_pipelines.schema import events_inbox, quarantine
from resources.events.amqp import consume, publish
from resources.events.receiver import Receiver

SECRET = "lakeside-test-secret"
ROOFTOP = "lakeside-honda"
ADF = b"""<?xml version="1.0"?><?ADF VERSION="1.0"?>
<adf><prospect><id source="cars.com">A-1</id><requestdate>2026-11-20T09:15:00-06:00</requestdate>
<vehicle interest="buy"><year>2026</year><make>Honda</make><model>CR-V</model></vehicle>
<customer><contact><name part="full">Maria Lopez</name><email>maria@example.com</email></contact>
<comments>Test drive Saturday?</comments></customer></prospect></adf>"""
RO_CLOSED = {
    "id": "dms-evt-1",
    "type": "ro.closed",
    "occurred_at": "2026-11-20T16:00:00Z",
    "data": {"ro_number": "R-100", "closed_at": "2026-11-20T15:58:00Z", "vin": "1hgcm82633a004352"},
}


@pytest.fixture
def fleet(tmp_path, monkeypatch):
    monkeypatch.setenv("LAKESIDE_WEBHOOK_SECRET", SECRET)
    (tmp_path / "fleet.yaml").write_text(
        f"""dealerships:
  - id: {ROOFTOP}
    name: Lakeside Honda
    timezone: America/Chicago
    webhook_secret_env: LAKESIDE_WEBHOOK_SECRET
    dms: {{kind: extract, path: {tmp_path}}}
"""
    )
    return load_fleet(tmp_path / "fleet.yaml")


@pytest.fixture
def receiver(fleet, warehouse):
    with serve_app_in_thread(Receiver(fleet, warehouse, max_body=10_000).app(), "event receiver") as url:
        yield url


def post(url, path, body: bytes, content_type="application/xml", secret=SECRET, now=None, **extra):
    sent = {**headers(secret, body, ROOFTOP, now), "Content-Type": content_type, **extra}
    return httpx.post(f"{url}/v1/dealerships/{ROOFTOP}/{path}", content=body, headers=sent, timeout=10)


def inbox(warehouse):
    with warehouse.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(events_inbox).order_by(events_inbox.c.seq))]


def quarantined(warehouse):
    with warehouse.engine.connect() as conn:
        return [
            dict(r._mapping) for r in conn.execute(select(quarantine).where(quarantine.c.entity == "events"))
        ]


def test_a_signed_adf_lead_is_stored_once_and_answered_with_its_event_id(receiver, warehouse):
    first = post(receiver, "leads", ADF)
    assert first.status_code == 202, first.text
    event_id = first.json()["event_id"]
    again = post(receiver, "leads", ADF, now=time.time() + 5)  # a resend, signed afresh
    assert again.status_code == 202 and again.json()["event_id"] == event_id
    assert again.json()["duplicates"] == [event_id]
    (row,) = inbox(warehouse)
    assert (row["event_id"], row["event_type"], row["status"], row["channel"]) == (
        event_id, "lead.received", "received", "webhook"
    )  # fmt: skip
    assert row["payload"]["source_id"] == "cars.com:A-1" and row["payload"]["last_name"] == "Lopez"


def test_a_dms_event_is_deduplicated_by_the_sender_s_id(receiver, warehouse):
    first = post(receiver, "events", json.dumps(RO_CLOSED).encode(), "application/json")
    assert first.status_code == 202, first.text
    redelivered = {**RO_CLOSED, "occurred_at": "2026-11-20T16:00:05Z"}  # same id, other bytes
    second = post(receiver, "events", json.dumps(redelivered).encode(), "application/json")
    assert second.json() == {"event_id": first.json()["event_id"], "duplicate": True}
    (row,) = inbox(warehouse)
    assert row["payload"]["data"]["vin"] == "1HGCM82633A004352"


@pytest.mark.parametrize(
    "change, status, reason",
    [
        ({"secret": "not-the-secret"}, 401, "signature does not match"),
        ({"now": time.time() - 600}, 401, "more than 300 s from now"),
        ({"content_type": "application/json"}, 415, "expected application/xml"),
    ],
)
def test_deliveries_that_are_not_authentic_are_refused(receiver, warehouse, change, status, reason):
    refused = post(receiver, "leads", ADF, **change)
    assert refused.status_code == status and reason in refused.json()["error"]
    assert inbox(warehouse) == []


def test_unknown_rooftops_and_oversized_bodies_are_refused(receiver, warehouse):
    body = b"<adf/>"
    unknown = httpx.post(
        f"{receiver}/v1/dealerships/nowhere-motors/leads",
        content=body,
        headers=headers(SECRET, body, "nowhere-motors"),
    )
    assert unknown.status_code == 404
    big = b"<adf>" + b" " * 20_000 + b"</adf>"
    assert post(receiver, "leads", big).status_code == 413
    assert inbox(warehouse) == []


def test_unreadable_bodies_are_400_with_the_reason_and_kept_in_quarantine(receiver, warehouse):
    bomb = b'<?xml version="1.0"?><!DOCTYPE adf [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><adf>&b;</adf>'
    refused = post(receiver, "leads", bomb)
    assert refused.status_code == 400 and "refused" in refused.json()["error"]
    broken = {**RO_CLOSED, "data": {"ro_number": "R-1"}}
    invalid = post(receiver, "events", json.dumps(broken).encode(), "application/json")
    assert (
        invalid.status_code == 400 and "ro.closed.data.closed_at: Field required" in invalid.json()["error"]
    )
    reasons = sorted(q["reason"] for q in quarantined(warehouse))
    assert len(reasons) == 2 and reasons[0].startswith("ADF: refused")
    assert inbox(warehouse) == []


def test_the_bridge_stores_each_event_once_and_quarantines_what_it_cannot_read(amqp_queue, fleet, warehouse):
    url, queue = amqp_queue
    publish(url, f"{ROOFTOP}.ro.closed", RO_CLOSED)
    publish(url, f"{ROOFTOP}.ro.closed", {**RO_CLOSED, "occurred_at": "2026-11-20T16:01:00Z"})  # redelivered
    publish(url, f"{ROOFTOP}.lead", ADF, content_type="application/xml")
    publish(url, f"{ROOFTOP}.ro.closed", b"{not json")
    assert consume(url, fleet, warehouse, queue, stop_after=4) == 4
    rows = inbox(warehouse)
    assert [(r["event_type"], r["channel"]) for r in rows] == [
        ("ro.closed", "amqp"),
        ("lead.received", "amqp"),
    ]
    assert len(quarantined(warehouse)) == 1


def test_a_crash_before_the_ack_redelivers_and_the_redelivery_stores_nothing_new(
    amqp_queue, fleet, warehouse
):
    url, queue = amqp_queue
    publish(url, f"{ROOFTOP}.ro.closed", RO_CLOSED)

    def crash(stored):
        raise RuntimeError("the bridge died after the insert, before the ack")

    with pytest.raises(RuntimeError):
        consume(url, fleet, warehouse, queue, on_stored=crash)
    assert len(inbox(warehouse)) == 1
    seen = []
    done = threading.Event()

    def record(stored):
        seen.extend(stored)
        done.set()

    assert consume(url, fleet, warehouse, queue, on_stored=record, stop_after=1) == 1
    assert done.is_set() and [s.created for s in seen] == [False]
    assert len(inbox(warehouse)) == 1
