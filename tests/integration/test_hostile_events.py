"""What the outside world sends the receiver and the bridge: refused clearly, kept, and nothing else stopped."""

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import httpx
import pytest

from auterity_pipelines.events.signing import LEGACY, headers
from auterity_pipelines.fleet import LiveFleet
from auterity_pipelines.loopback import serve_app_in_thread
from resources.events.amqp import consume, publish
from resources.events.receiver import Receiver
from tests.integration.test_events_intake import ADF, RO_CLOSED, ROOFTOP, SECRET, inbox, post, quarantined

FLEET = """dealerships:
  - id: lakeside-honda
    name: Lakeside Honda
    timezone: America/Chicago
    webhook_secret_env: LAKESIDE_WEBHOOK_SECRET
    dms: {{kind: extract, path: {path}}}
"""
SECOND = """  - id: harbor-kia
    name: Harbor Kia
    timezone: America/New_York
    webhook_secret_env: LAKESIDE_WEBHOOK_SECRET{legacy}
    dms: {{kind: extract, path: {path}}}
"""


@pytest.fixture
def fleet_file(tmp_path, monkeypatch):
    monkeypatch.setenv("LAKESIDE_WEBHOOK_SECRET", SECRET)
    path = tmp_path / "fleet.yaml"
    path.write_text(FLEET.format(path=tmp_path))
    return path


@pytest.fixture
def live_receiver(fleet_file, warehouse):
    with serve_app_in_thread(
        Receiver(LiveFleet(fleet_file), warehouse, max_body=100_000).app(), "receiver"
    ) as url:
        yield url


def add_rooftop(fleet_file, legacy: bool = False) -> None:
    time.sleep(0.01)  # a new modification time, even on a coarse clock
    extra = "\n    webhook_legacy_signature: true" if legacy else ""
    folder = fleet_file.parent
    fleet_file.write_text(FLEET.format(path=folder) + SECOND.format(path=folder, legacy=extra))


def post_to(url, rooftop, body, content_type="application/xml", signed_for=None, **signing):
    sent = {**headers(SECRET, body, signed_for or rooftop, **signing), "Content-Type": content_type}
    return httpx.post(f"{url}/v1/dealerships/{rooftop}/leads", content=body, headers=sent, timeout=10)


def test_an_event_from_year_one_is_refused_and_kept_and_later_events_still_get_in(live_receiver, warehouse):
    for occurred in ("0001-01-01T00:00:00+12:00", "1899-12-31T23:00:00Z", "9999-12-31T23:59:59-12:00"):
        event = {**RO_CLOSED, "id": f"old-{occurred[:4]}", "occurred_at": occurred}
        refused = post(live_receiver, "events", json.dumps(event).encode(), "application/json")
        assert refused.status_code == 400 and "occurred_at" in refused.json()["error"], refused.text
    late = {**RO_CLOSED, "data": {**RO_CLOSED["data"], "closed_at": "0001-01-01T00:00:00+14:00"}}
    assert post(live_receiver, "events", json.dumps(late).encode(), "application/json").status_code == 400
    assert len(quarantined(warehouse)) == 4 and inbox(warehouse) == []
    assert (
        post(live_receiver, "events", json.dumps(RO_CLOSED).encode(), "application/json").status_code == 202
    )


def test_adf_nested_three_thousand_deep_is_a_400_kept_in_quarantine(live_receiver, warehouse):
    deep = b"<adf>" + b"<prospect>" * 3000 + b"</prospect>" * 3000 + b"</adf>"
    refused = post(live_receiver, "leads", deep)
    assert refused.status_code == 400 and "nested more than" in refused.json()["error"]
    (kept,) = quarantined(warehouse)
    assert kept["reason"].startswith("ADF: elements nested") and "<adf><prospect>" in str(kept["payload"])


@pytest.mark.parametrize(
    "signature, timestamp",
    [
        ("sha256=ünïcode", None),
        ("v1=" + "é" * 64, None),
        (None, "+{now}"),
        (None, "{now_}"),  # int() reads 1_796_071_231
        (None, "0{now}"),
        (None, "{now}.0"),
        (None, "1e9"),
    ],
)
def test_odd_signature_and_timestamp_headers_are_401_never_500(
    live_receiver, warehouse, signature, timestamp
):
    now = int(time.time())
    sent = headers(SECRET, ADF, ROOFTOP, now)
    raw = [(b"content-type", b"application/xml")]
    written = (timestamp or "{now}").format(now=now, now_=f"{now:_}")
    raw.append((b"x-auterity-timestamp", written.encode("latin-1")))
    raw.append((b"x-auterity-signature", (signature or sent["X-Auterity-Signature"]).encode("latin-1")))
    answer = httpx.post(
        f"{live_receiver}/v1/dealerships/{ROOFTOP}/leads", content=ADF, headers=raw, timeout=10
    )
    assert answer.status_code == 401, answer.text
    assert inbox(warehouse) == []


def test_a_signature_names_its_rooftop_and_the_old_scheme_needs_the_rooftops_consent(
    live_receiver, fleet_file, warehouse
):
    add_rooftop(fleet_file)
    # Both rooftops share a secret: a post signed for one is worthless at the other.
    replayed = post_to(live_receiver, "harbor-kia", ADF, signed_for=ROOFTOP)
    assert replayed.status_code == 401 and "does not match" in replayed.json()["error"]
    legacy = post_to(live_receiver, "harbor-kia", ADF, scheme=LEGACY)
    assert legacy.status_code == 401 and "accepts v1 signatures only" in legacy.json()["error"]
    add_rooftop(fleet_file, legacy=True)
    assert post_to(live_receiver, "harbor-kia", ADF, scheme=LEGACY).status_code == 202
    assert post_to(live_receiver, ROOFTOP, ADF).status_code == 202
    assert [e["dealership_id"] for e in inbox(warehouse)] == ["harbor-kia", ROOFTOP]


def test_a_forged_post_is_refused_on_its_headers_before_its_body_is_read(live_receiver, warehouse):
    """A request that declares 90 kB and sends none of it: the answer comes without waiting for the body."""
    host, port = urlsplit(live_receiver).hostname, urlsplit(live_receiver).port
    for signature in ("v1=" + "0" * 64 + "x", "sha256=" + "0" * 64):
        request = (
            f"POST /v1/dealerships/{ROOFTOP}/leads HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Type: application/xml\r\nContent-Length: 90000\r\n"
            f"X-Auterity-Timestamp: {int(time.time())}\r\nX-Auterity-Signature: {signature}\r\n\r\n"
        )
        with socket.create_connection((host, port), timeout=5) as conn:
            conn.sendall(request.encode())
            answer = conn.recv(4096).decode()  # would time out if the server waited for the body
        assert answer.startswith("HTTP/1.1 401"), answer


def test_a_rooftop_added_to_the_fleet_file_is_served_without_a_restart(live_receiver, fleet_file, warehouse):
    assert post_to(live_receiver, "harbor-kia", ADF).status_code == 404
    add_rooftop(fleet_file)
    assert post_to(live_receiver, "harbor-kia", ADF).status_code == 202
    fleet_file.write_text("dealerships: [oops")  # a broken edit leaves the last good fleet in force
    assert post_to(live_receiver, "harbor-kia", ADF).status_code == 202


def test_the_bridge_takes_a_rooftop_added_to_the_fleet_file_without_a_restart(
    amqp_queue, fleet_file, warehouse
):
    url, queue = amqp_queue
    fleets = LiveFleet(fleet_file)
    publish(url, "harbor-kia.ro.closed", {**RO_CLOSED, "id": "before"})
    assert consume(url, fleets, warehouse, queue, stop_after=1) == 1
    add_rooftop(fleet_file)
    publish(url, "harbor-kia.ro.closed", {**RO_CLOSED, "id": "after"})
    publish(
        url,
        "harbor-kia.ro.closed",
        {**RO_CLOSED, "id": "ancient", "occurred_at": "0001-01-01T00:00:00+12:00"},
    )
    assert consume(url, fleets, warehouse, queue, stop_after=2) == 2
    assert [e["payload"]["id"] for e in inbox(warehouse)] == ["after"]
    assert len(quarantined(warehouse)) == 2  # before it was in the fleet, and year one


def test_the_demo_secret_signs_nothing_outside_the_bundled_demo_fleet(tmp_path, monkeypatch):
    from auterity_pipelines.settings import DEMO_FLEET, named_secret

    monkeypatch.delenv("AUTERITY_DEMO_WEBHOOK_SECRET", raising=False)
    copy = tmp_path / "fleet.yaml"
    copy.write_text(DEMO_FLEET.read_text())
    monkeypatch.setenv("AUTERITY_FLEET", str(DEMO_FLEET))
    assert named_secret("AUTERITY_DEMO_WEBHOOK_SECRET") == "demo-webhook-secret"
    monkeypatch.setenv("AUTERITY_FLEET", str(copy))
    assert named_secret("AUTERITY_DEMO_WEBHOOK_SECRET") is None
    started = subprocess.run(
        [sys.executable, "-m", "auterity_pipelines.cli.main", "serve-events", "--port", "0"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "AUTERITY_HOME": str(tmp_path)},
    )  # fmt: skip
    assert started.returncode == 1 and "AUTERITY_DEMO_WEBHOOK_SECRET" in started.stderr, started.stderr


def test_bad_rows_planted_in_the_inbox_are_marked_failed_and_stop_no_other_event(
    fleet_file, warehouse, instance, monkeypatch
):
    """The receiver refuses year one now; a row that got in another way (an older receiver, a hand
    insert, a bug) must still not stop the sensor for every rooftop."""
    import dagster as dg
    from sqlalchemy import insert, select

    from auterity_pipelines.schema import events_inbox
    from resources.events.inbox import Incoming, store
    from sensors.events import inbox_events

    monkeypatch.setenv("AUTERITY_FLEET", str(fleet_file))
    now = dt.datetime.now(dt.UTC)
    planted = [
        ("evt_year_one", {**RO_CLOSED, "occurred_at": "0001-01-01T00:00:00+12:00"}),
        ("evt_no_time", {**RO_CLOSED, "occurred_at": None}),
        ("evt_not_a_dict", ["a", "list"]),
    ]
    with warehouse.engine.begin() as conn:
        for event_id, payload in planted:
            conn.execute(insert(events_inbox).values(
                event_id=event_id, dealership_id=ROOFTOP, event_type="ro.closed", received_at=now,
                payload=payload, status="received", channel="webhook", dedup_key=event_id))  # fmt: skip
    (good,) = store(warehouse, ROOFTOP, [Incoming("ro.closed", RO_CLOSED, "id:dms-evt-1")], "webhook")
    context = dg.build_sensor_context(instance=instance, resources={"warehouse": warehouse})
    result = inbox_events(context)
    assert [r.run_key for r in result.run_requests] == [good.event_id]
    with warehouse.engine.connect() as conn:
        rows = {r.event_id: r for r in conn.execute(select(events_inbox))}
    for event_id, _ in planted:
        assert rows[event_id].status == "failed" and rows[event_id].error.startswith("not routed: "), event_id
    assert "OverflowError" in rows["evt_year_one"].error
    again = inbox_events(dg.build_sensor_context(instance=instance, cursor=result.cursor,
                                                  resources={"warehouse": warehouse}))  # fmt: skip
    assert isinstance(again, dg.SkipReason)  # nothing repeats, nothing is stuck


def test_drops_read_nothing_through_links_or_outside_the_folder_and_wait_for_a_writer(
    tmp_path, monkeypatch, warehouse, instance, corpus
):
    import dagster as dg
    from sqlalchemy import select

    from auterity_pipelines.jobs import file_drop_job
    from auterity_pipelines.schema import events_inbox, quarantine
    from sensors.events import lead_file_drops
    from tests.integration.test_lead_intake import settled

    root = tmp_path / "drops"
    monkeypatch.setenv("AUTERITY_DROP_DIR", str(root))
    folder = root / ROOFTOP / "leads"
    folder.mkdir(parents=True)
    outside = tmp_path / "outside.xml"
    outside.write_bytes(ADF.replace(b"A-1", b"OUTSIDE"))
    (folder / "environ.xml").symlink_to("/proc/self/environ")
    (folder / "elsewhere.xml").symlink_to(outside)
    os.link(outside, folder / "hardlink.xml")
    (folder / "huge.xml").write_bytes(b"<adf>" + b" " * 1_100_000 + b"</adf>")
    (folder / "LEAD.XML").write_bytes(ADF)
    (folder / "writing.xml").write_bytes(ADF[:40])
    settled(folder)

    def take(requests):
        for request in requests:
            assert file_drop_job.execute_in_process(
                run_config=request.run_config, resources={"warehouse": warehouse}, instance=instance
            ).success

    first = lead_file_drops(dg.build_sensor_context(instance=instance))
    assert len(first.run_requests) == 6
    (folder / "writing.xml").write_bytes(ADF.replace(b"A-1", b"A-2"))  # the writer finishes after the look
    take(first.run_requests)
    names = sorted(p.name for p in (folder / "failed").iterdir() if not p.name.endswith(".reason.txt"))
    assert names == ["elsewhere.xml", "environ.xml", "hardlink.xml", "huge.xml"]
    assert (folder / "processed" / "LEAD.XML").exists() and (folder / "writing.xml").exists()
    assert (folder / "failed" / "environ.xml").is_symlink()  # moved as a link, its target never opened
    with warehouse.engine.connect() as conn:
        kept = [r.payload for r in conn.execute(select(quarantine).where(quarantine.c.entity == "events"))]
        loaded = [r.payload["source_id"] for r in conn.execute(select(events_inbox))]
    assert len(kept) == 4 and not any("PATH=" in str(p) or "OUTSIDE" in str(p) for p in kept)
    assert loaded == ["cars.com:A-1"]
    settled(folder)  # the finished file settles and is taken whole on the next look
    take(lead_file_drops(dg.build_sensor_context(instance=instance)).run_requests)
    with warehouse.engine.connect() as conn:
        assert sorted(r.payload["source_id"] for r in conn.execute(select(events_inbox))) == [
            "cars.com:A-1",
            "cars.com:A-2",
        ]
