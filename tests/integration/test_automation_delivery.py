"""Sending never twice and never silently lost: provider faults, run retries, a run killed between
the provider's answer and the record, consent and STOP replies, quiet hours, rate limits."""

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time

import dagster as dg
import httpx
import pytest
from dagster._core.instance.ref import InstanceRef
from sqlalchemy import insert, select, update

from auterity_pipelines.automations.library import Scope
from auterity_pipelines.automations.rules import e164
from auterity_pipelines.automations.runner import Context, run_automation
from auterity_pipelines.events.signing import twilio_signature
from auterity_pipelines.fleet import LiveFleet, load_fleet
from auterity_pipelines.loopback import serve_app_in_thread
from auterity_pipelines.partitions import partition_key
from auterity_pipelines.schema import automation_deliveries, contact_opt_outs, customers, deals
from resources.channels.outbox import Outbox
from resources.events.receiver import Receiver
from tests.conftest import clean_environment
from tests.integration.automations_world import DAY, HOT, ROOFTOP, automation

SMS_FROM = "+15005550006"


def faults(world, service: str, *kinds: str, **options) -> None:
    httpx.post(f"{world.url}/_{service}/faults", json={"faults": list(kinds), **options}).raise_for_status()


def test_429_500_and_timeouts_from_the_provider_still_send_each_message_once(fresh, instance):
    hot = fresh.score_leads()
    # The first message meets all four: a 429 (Retry-After 1), a 500, no answer at all, and an
    # answer that never comes after the provider took it (found by asking the provider).
    faults(fresh, "sms", "429", "500", "timeout", "accept_then_hang", retry_after=1, hang_seconds=2.5)
    metadata = fresh.run(HOT, instance, timeout_seconds=1, attempts=5)["hot"]
    assert metadata["sent"] == len(hot) and metadata["failed"] == 0
    bodies = [m["body"] for m in fresh.sms()]
    assert len(bodies) == len(hot) == len(set(bodies))
    rows = fresh.deliveries("hot")
    assert max(r["attempts"] for r in rows) == 4 and {r["decision"] for r in rows} == {"sent"}


def test_a_provider_refusing_the_account_fails_each_message_with_the_reason_and_no_retry(fresh, instance):
    fresh.score_leads()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUTERITY_SMS_AUTH_TOKEN", "wrong-token")
        metadata = fresh.run(HOT, instance)["hot"]
    assert metadata["failed"] == metadata["candidates"] > 0 and fresh.sms() == []
    rows = fresh.deliveries("hot")
    assert {(r["decision"], r["retryable"]) for r in rows} == {("failed", False)}
    assert all(r["reason"].startswith("HTTP 401") for r in rows)
    assert fresh.run(HOT, instance)["hot"]["already_decided"] == len(rows)  # a refusal is not re-sent


def test_a_run_retry_after_the_provider_was_down_sends_only_what_had_not_gone(fresh, instance):
    hot = fresh.score_leads()
    # Down for the second half of the first attempt: the first half goes, the rest fail twice.
    half = len(hot) // 2
    faults(fresh, "sms", *["ok"] * half, *["503"] * (2 * (len(hot) - half)))
    metadata = fresh.run(HOT, instance, retry_policy=dg.RetryPolicy(max_retries=1, delay=0), attempts=2)[
        "hot"
    ]
    assert metadata["sent"] == len(hot) - half  # the retried step's own count
    assert len(fresh.sms()) == len(hot)
    rows = fresh.deliveries("hot")
    assert {r["decision"] for r in rows} == {"sent"}
    assert sorted(r["attempts"] for r in rows) == [1] * half + [3] * (len(hot) - half)


def test_a_run_whose_sends_keep_failing_fails_visibly_with_each_failure_recorded(fresh, instance):
    hot = fresh.score_leads()
    faults(fresh, "sms", *["503"] * (2 * len(hot)))
    assert fresh.run(HOT, instance, raise_on_error=False, attempts=2)["hot"] == {"success": False}
    rows = fresh.deliveries("hot")
    assert len(rows) == len(hot)
    assert {(r["decision"], r["retryable"], r["reason"]) for r in rows} == {
        ("failed", True, "HTTP 503 after 2 attempts")
    }
    assert fresh.run(HOT, instance)["hot"]["sent"] == len(hot) == len(fresh.sms())


KILLED_RUN = """
import json, os, sys
from pathlib import Path
import dagster as dg

from assets.automations import build_automation_asset
from auterity_pipelines.automations.config import load_automations
from auterity_pipelines.fleet import load_fleet
from resources.channels import Channels
from resources.dms.fleet import DmsFleet
from resources.mlflow import NeuroWeaver
from resources.warehouse import Warehouse

args = json.loads(sys.argv[1])
found = load_automations(Path(args["automations"]), fleet=load_fleet(Path(args["fleet"])))
asset = build_automation_asset(found.automations[0], found.rate_limits, dg.RetryPolicy(max_retries=0))
dg.materialize(
    [asset],
    resources={
        "warehouse": Warehouse(url=args["warehouse"]),
        "channels": Channels(sms_url=args["sms_url"], timeout_seconds=120),
        "dms": DmsFleet(fleet_file=args["fleet"]),
        "neuroweaver": NeuroWeaver(tracking_uri=args["mlflow"]),
    },
    partition_key=args["partition"],
    instance=dg.DagsterInstance.get(),
)
"""


def _killed_mid_send(world, tmp_path) -> tuple[dg.DagsterInstance, str]:
    """Run the hot-lead automation in a process killed (SIGKILL) once the provider has the first
    message and before its answer reaches the run; the instance it ran in, and that message's body."""
    home = tmp_path / "dagster"
    home.mkdir()
    (world.tmp / "automations.yaml").write_text(HOT)
    args = {
        "automations": str(world.tmp / "automations.yaml"),
        "fleet": str(world.fleet_file),
        "warehouse": world.warehouse.url,
        "sms_url": f"{world.url}/twilio",
        "mlflow": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "partition": str(partition_key(ROOFTOP, DAY)),
    }
    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
    instance.add_dynamic_partitions("dealerships", [ROOFTOP])
    faults(world, "sms", "accept_then_hang", hang_seconds=60)
    env = clean_environment() | {"DAGSTER_HOME": str(home), "AUTERITY_FLEET": str(world.fleet_file)}
    child = subprocess.Popen([sys.executable, "-c", KILLED_RUN, json.dumps(args)], env=env, cwd=os.getcwd())
    deadline = time.monotonic() + 60
    while not world.sms() and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.1)
    assert world.sms(), "the provider never received the first message"
    child.send_signal(signal.SIGKILL)
    child.wait()
    world.simulator.sms.faults.queue.clear()
    return instance, world.sms()[0]["body"]


def test_a_run_killed_after_the_provider_took_a_message_is_reconciled_not_resent(fresh, tmp_path):
    hot = fresh.score_leads()
    instance, first = _killed_mid_send(fresh, tmp_path)
    (claimed,) = [r for r in fresh.deliveries("hot")]
    assert claimed["decision"] == "sending"
    # Run monitoring marks a run whose worker died as failed; the claim's run is then known dead.
    (run,) = instance.get_runs()
    instance.report_run_failed(run)
    metadata = fresh.run(HOT, instance)["hot"]
    assert metadata["sent"] == len(hot)
    bodies = [m["body"] for m in fresh.sms()]
    assert len(bodies) == len(hot) and bodies.count(first) == 1
    row = next(r for r in fresh.deliveries("hot") if r["delivery_key"] == claimed["delivery_key"])
    assert (row["decision"], row["reason"]) == ("sent", "reconciled: the provider had it")
    assert row["provider_message_id"] == fresh.sms()[0]["sid"]
    instance.dispose()


def test_a_claim_whose_run_may_still_be_sending_is_left_alone(fresh, tmp_path):
    hot = fresh.score_leads()
    instance, _ = _killed_mid_send(fresh, tmp_path)  # its run still shows as started
    metadata = fresh.run(HOT, instance)["hot"]
    assert metadata["in_flight_elsewhere"] == 1 and metadata["sent"] == len(hot) - 1
    assert len(fresh.sms()) == len(hot)
    instance.dispose()


def _scope(world, now: dt.datetime) -> Scope:
    fleet = load_fleet(world.fleet_file)
    dealership = fleet.get(ROOFTOP)
    return Scope(ROOFTOP, dealership.name, dealership.timezone, DAY, now, world.warehouse.engine,
                 str(partition_key(ROOFTOP, DAY)), "http://ui")  # fmt: skip


def _run(world, text: str, now: dt.datetime, run_id: str = "run-1", preview: bool = False):
    found = world.automations(text)
    (a,) = found.automations
    outbox = Outbox(world.channels(), load_fleet(world.fleet_file))
    context = Context(
        a, _scope(world, now), world.warehouse.engine, outbox, found.rate_limits[a.channel], run_id
    )
    return run_automation(context, preview=preview)


def test_an_email_claim_whose_run_died_is_recorded_as_unknown_not_sent_again(fresh):
    text = automation(
        "aged",
        "aged_inventory_digest",
        "{days: 30, notify: {channel: email, to_env: AUTERITY_DEMO_GM_EMAIL}}",
    )
    fresh.add_vehicles({"1HGCM82633A000001": 90})
    now = dt.datetime.now(dt.UTC)
    _run(fresh, text, now, preview=True)
    row = dict(
        delivery_key=_key(fresh, text, now), automation="aged", dealership_id=ROOFTOP, subject="x", channel="email",
        window="w", decision="sending", retryable=False, attempts=0, partition_key="p", created_at=now,
        updated_at=now, run_id="a-dead-run",
    )  # fmt: skip
    with fresh.warehouse.engine.begin() as conn:
        conn.execute(insert(automation_deliveries).values(row))
    report = _run(fresh, text, now)
    assert report.counts["failed"] == 1 and fresh.mail() == []
    (stored,) = fresh.deliveries("aged")
    assert stored["reason"].startswith("outcome unknown") and stored["decision"] == "failed"


def _key(world, text, now) -> str:
    from auterity_pipelines.automations.rules import delivery_key, local_window

    week = local_window(now, "America/Chicago", "week")
    return delivery_key("aged", ROOFTOP, f"digest:{week}", "email", week)


def _deal_customers(world) -> list[dict]:
    sold = world.rows(
        select(deals).where(deals.c.deal_id.in_(world.warehouse.partition_source_ids("deals", ROOFTOP, DAY)))
    )
    people = world.rows(
        select(customers).where(customers.c.customer_id.in_([d["customer_id"] for d in sold]))
    )
    return [c for c in people if c["sms_opt_in"] is True and e164(c["phone"])]


@pytest.fixture
def receiver(fresh):
    app = Receiver(LiveFleet(fresh.fleet_file), fresh.warehouse).app()
    with serve_app_in_thread(app, "receiver") as url:
        yield url


def test_a_stop_reply_opts_the_customer_out_and_start_opts_them_back_in(fresh, instance, receiver):
    customer = _deal_customers(fresh)[0]
    phone = e164(customer["phone"])
    inbound = f"{receiver}/sms/{ROOFTOP}/inbound"

    def reply(body: str) -> None:
        answer = httpx.post(
            f"{fresh.url}/_sms/reply",
            json={"from": customer["phone"], "to": SMS_FROM, "body": body, "url": inbound},
        )
        assert answer.json()["status"] == 200, answer.text

    reply(" Stop ")
    assert fresh.rows(select(contact_opt_outs.c.address, contact_opt_outs.c.source)) == [
        {"address": phone, "source": "sms_reply"}
    ]
    text = automation("thanks", "deal_thank_you", "{channel: sms, delay_hours: 0, max_age_days: 365}")
    fresh.run(text, instance)
    assert phone not in {m["to"] for m in fresh.sms()} and fresh.sms()
    row = next(r for r in fresh.deliveries("thanks") if r["recipient"] == f"***{phone[-4:]}")
    assert (row["decision"], row["reason"]) == ("suppressed", "opted out of SMS (STOP)")
    reply("START")
    assert fresh.rows(select(contact_opt_outs)) == []


def test_a_reply_with_a_forged_signature_changes_nothing(fresh, receiver):
    url = f"{receiver}/sms/{ROOFTOP}/inbound"
    form = {"From": "+13125550101", "To": SMS_FROM, "Body": "STOP", "MessageSid": "SMx"}
    forged = httpx.post(
        url, data=form, headers={"X-Twilio-Signature": twilio_signature("not-the-token", url, form)}
    )
    unsigned = httpx.post(url, data=form)
    assert (forged.status_code, unsigned.status_code) == (401, 401)
    assert fresh.rows(select(contact_opt_outs)) == []
    elsewhere = httpx.post(f"{receiver}/sms/nowhere-motors/inbound", data=form)
    assert elsewhere.status_code == 404
    mangled = httpx.post(url, content=b"From=%2B1312&Body=\xff\xfeSTOP", headers={"X-Twilio-Signature": "x"})
    assert mangled.status_code == 401

    def endless():  # no Content-Length: the limit must hold on what arrives
        yield b"Body=STOP&From="
        for _ in range(100):
            yield b"1" * 1000

    assert httpx.post(url, content=endless()).status_code == 413
    assert fresh.rows(select(contact_opt_outs)) == []


def test_the_providers_status_callback_is_recorded_on_the_delivery(fresh, instance, receiver):
    fresh.score_leads()
    fresh.run(HOT, instance, sms_status_callback=f"{receiver}/sms/{{dealership}}/status")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(r["reason"] is None for r in fresh.deliveries("hot")):
        time.sleep(0.1)
    assert {r["reason"] for r in fresh.deliveries("hot")} == {"provider: delivered"}


SERVICE_AT_NIGHT = automation(
    "due",
    "service_due_reminder",
    "{channel: email, months: 6}",
    '    quiet_hours: {start: "21:00", end: "08:00"}\n',
)


def test_quiet_hours_defer_customer_messages_to_the_morning_and_the_morning_run_sends_them(fresh):
    night = dt.datetime(2026, 11, 30, 3, 30, tzinfo=dt.UTC)  # 21:30 in Chicago
    report = _run(fresh, SERVICE_AT_NIGHT, night)
    assert report.counts["sent"] == 0 and report.counts["deferred"] > 0 and fresh.mail() == []
    deferred = [r for r in fresh.deliveries("due") if r["decision"] == "deferred"]
    assert {r["reason"] for r in deferred} == {"quiet hours until 2026-11-30 08:00 CST"}
    assert {r["send_after"].replace(tzinfo=dt.UTC) for r in deferred} == {
        dt.datetime(2026, 11, 30, 14, 0, tzinfo=dt.UTC)
    }
    morning = dt.datetime(2026, 11, 30, 14, 0, tzinfo=dt.UTC)
    again = _run(fresh, SERVICE_AT_NIGHT, morning, run_id="run-2")
    assert again.counts["sent"] == len(deferred) == len(fresh.mail())


def test_a_wait_whose_subject_is_gone_is_closed_and_stops_falling_due(fresh):
    from resources.channels.ledger import due

    night = dt.datetime(2030, 1, 15, 3, 30, tzinfo=dt.UTC)
    _run(fresh, SERVICE_AT_NIGHT, night)
    (victim,) = [r for r in fresh.deliveries("due") if r["decision"] == "deferred"][:1]
    with fresh.warehouse.engine.begin() as conn:  # as if the customer had come back since
        conn.execute(update(automation_deliveries).where(automation_deliveries.c.delivery_key == victim["delivery_key"])
                     .values(delivery_key="k-of-a-visit-no-longer-last", send_after=night))  # fmt: skip
    report = _run(fresh, SERVICE_AT_NIGHT, night, run_id="run-2")
    closed = next(r for r in fresh.deliveries("due") if r["delivery_key"] == "k-of-a-visit-no-longer-last")
    assert (closed["decision"], closed["reason"]) == ("suppressed", "no longer applies")
    assert report.counts["suppressed"] >= 1
    assert all(row["automation"] != "due" or row["at"] > night for row in due(fresh.warehouse.engine, night))


def test_the_trigger_sensor_asks_for_a_run_when_a_deferred_message_falls_due(fresh, instance):
    from sensors.automations import automation_triggers

    # A demo automation's name: the sensor runs what the loaded automations file names.
    text = SERVICE_AT_NIGHT.replace("name: due", "name: service-due-reminders")
    _run(fresh, text, dt.datetime(2030, 1, 15, 3, 30, tzinfo=dt.UTC))  # a night still to come
    context = dg.build_sensor_context(instance=instance, resources={"warehouse": fresh.warehouse})
    result = automation_triggers(context)
    assert not result.run_requests  # not yet due
    with fresh.warehouse.engine.begin() as conn:
        conn.execute(
            update(automation_deliveries).values(send_after=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        )
    context = dg.build_sensor_context(
        instance=instance, cursor=result.cursor, resources={"warehouse": fresh.warehouse}
    )
    (request,) = automation_triggers(context).run_requests
    assert request.asset_selection == [dg.AssetKey(["automations", "service-due-reminders"])]
    assert request.partition_key == str(partition_key(ROOFTOP, DAY))
    assert request.run_key.startswith("due:service-due-reminders:")


def test_a_rate_limit_sends_what_fits_and_gives_the_rest_later_minutes(fresh):
    hot = fresh.score_leads()
    text = HOT.replace("rate_limits: {sms: 10000", "rate_limits: {sms: 3")
    now = dt.datetime.now(dt.UTC)
    report = _run(fresh, text, now)
    assert report.counts["sent"] == 3 and report.counts["deferred"] == len(hot) - 3 and len(fresh.sms()) == 3
    slots = sorted(r["send_after"] for r in fresh.deliveries("hot") if r["decision"] == "deferred")
    minute = now.replace(second=0, microsecond=0, tzinfo=None)
    assert slots[:3] == [minute + dt.timedelta(minutes=1)] * 3
    assert all(
        r["reason"] == "rate limit: 3 sms per minute"
        for r in fresh.deliveries("hot")
        if r["decision"] == "deferred"
    )


def test_preview_shows_each_action_and_sends_and_records_nothing(fresh):
    hot = fresh.score_leads()
    report = _run(fresh, HOT, dt.datetime.now(dt.UTC), preview=True)
    assert [a["decision"] for a in report.actions] == ["send"] * len(hot)
    assert {a["to"] for a in report.actions} == {"***0100"}
    assert fresh.sms() == [] and fresh.deliveries() == []
