"""From the inbox to runs: the events sensor, and a lead's intake run through to its signed CRM post."""

import datetime as dt
import json

import dagster as dg
import yaml
from sqlalchemy import select

from assets.enrichment import lead_enrichments
from assets.intake import crm_deliveries, inbound_leads, local_day
from assets.models import champion_key, model_assets, model_key
from assets.scoring import lead_scores
from auterity_pipelines.adf import parse_adf
from auterity_pipelines.events.schemas import LEAD_RECEIVED
from auterity_pipelines.jobs import file_drop_job
from auterity_pipelines.partitions import partition_key
from auterity_pipelines.schema import events_inbox, leads
from resources.ai import RelayCore
from resources.dms.fleet import DmsFleet
from resources.events.inbox import Incoming, store
from sensors.events import event_day, inbox_events, lead_file_drops, next_cursor
from tests.helpers import crm_posts
from tests.integration.test_events_intake import ADF, RO_CLOSED

ROOFTOP = "lakeside-honda"
DMS_DAY = dt.date(2026, 11, 20)  # when the repair order closed


def arrival_day() -> dt.date:
    """A lead's run covers the day it reached us, in the rooftop's time zone."""
    return local_day(dt.datetime.now(dt.UTC), "America/Chicago")


def lead_event() -> Incoming:
    (lead,) = parse_adf(ADF).leads
    return Incoming(LEAD_RECEIVED, lead, f"lead:{lead['source_id']}")


def test_next_cursor_remembers_skipped_numbers_for_a_while():
    cursor = next_cursor({}, [1, 2, 4], now=1000.0)
    assert cursor == {"after": 4, "gaps": {"3": 1000.0}}
    assert next_cursor(cursor, [3, 5], now=1010.0) == {"after": 5, "gaps": {}}
    assert next_cursor(cursor, [6], now=1400.0)["gaps"] == {"5": 1400.0}  # 3 expired, 5 is new


def test_each_event_requests_its_run_once_by_event_id(instance, warehouse, fleet_file):
    (lead,) = store(warehouse, ROOFTOP, [lead_event()], "webhook")
    (ro,) = store(warehouse, ROOFTOP, [Incoming("ro.closed", RO_CLOSED, "id:dms-evt-1")], "webhook")
    (stray,) = store(warehouse, "gone-motors", [Incoming("ro.closed", RO_CLOSED, "id:x")], "amqp")

    def evaluate(cursor=None):
        return inbox_events(
            dg.build_sensor_context(instance=instance, cursor=cursor, resources={"warehouse": warehouse})
        )

    first = evaluate()
    assert [(r.run_key, r.job_name, r.partition_key) for r in first.run_requests] == [
        (lead.event_id, "lead_intake_job", str(partition_key(ROOFTOP, arrival_day()))),
        (ro.event_id, "dms_sync_job", str(partition_key(ROOFTOP, DMS_DAY))),
    ]
    assert json.loads(first.cursor)["after"] == 3
    with warehouse.engine.connect() as conn:
        status = dict(conn.execute(select(events_inbox.c.event_id, events_inbox.c.status)).all())
    assert status[stray.event_id] == "failed"  # kept, and out of the way
    assert isinstance(evaluate(first.cursor), dg.SkipReason)

    store(
        warehouse,
        ROOFTOP,
        [Incoming("ro.closed", {**RO_CLOSED, "id": "dms-evt-2"}, "id:dms-evt-2")],
        "webhook",
    )
    later = evaluate(first.cursor)
    assert len(later.run_requests) == 1 and later.run_requests[0].run_key not in {lead.event_id, ro.event_id}


def test_leads_arriving_together_share_one_intake_run_keyed_by_the_newest(instance, warehouse, fleet_file):
    (lead,) = parse_adf(ADF).leads
    events = [
        Incoming(LEAD_RECEIVED, {**lead, "source_id": f"cars.com:A-{n}"}, f"lead:A-{n}") for n in range(3)
    ]
    stored = store(warehouse, ROOFTOP, events, "webhook")
    (request,) = inbox_events(
        dg.build_sensor_context(instance=instance, resources={"warehouse": warehouse})
    ).run_requests
    assert request.run_key == stored[-1].event_id and request.tags["auterity/batch-size"] == "3"


def test_a_lead_event_is_loaded_enriched_scored_and_posted_to_the_crm_once(
    instance, warehouse, fleet_file, crm, history, neuroweaver
):
    trained = [
        a for a in model_assets if a.key in (model_key("lead_conversion"), champion_key("lead_conversion"))
    ]
    assert dg.materialize(
        trained, resources={"warehouse": history, "neuroweaver": neuroweaver}, instance=instance
    ).success
    (event,) = store(warehouse, ROOFTOP, [lead_event()], "webhook")
    resources = {
        "dms": DmsFleet(fleet_file=str(fleet_file)),
        "warehouse": warehouse,
        "relaycore": RelayCore(),
        "neuroweaver": neuroweaver,
    }

    def intake():
        return dg.materialize(
            [inbound_leads, lead_enrichments, lead_scores, crm_deliveries],
            resources=resources,
            partition_key=partition_key(ROOFTOP, arrival_day()),
            instance=instance,
            selection=[inbound_leads.key, lead_enrichments.key, lead_scores.key, crm_deliveries.key],
        )

    assert intake().success
    with warehouse.engine.connect() as conn:
        assert conn.execute(select(leads.c.lead_id)).scalars().all() == ["cars.com:A-1"]
        assert conn.execute(select(events_inbox.c.status)).scalar_one() == "done"  # the intake run's work
    assert crm_posts(warehouse) == [("lead:cars.com:A-1", "sent")]  # the CRM post has a row of its own
    (posted,) = crm.received
    assert posted["event_id"] == event.event_id and posted["lead"]["last_name"] == "Lopez"
    assert posted["enrichment"]["intent"] and 0 < posted["score"]["score"] < 1
    assert posted["score"]["model_version"] == "1"

    assert intake().success  # a second run for the day (another event's) posts nothing again
    assert len(crm.received) == 1
    assert crm_posts(warehouse) == [("lead:cars.com:A-1", "sent")]


def test_dropped_lead_files_are_taken_once_and_set_aside_with_their_outcome(
    instance, warehouse, fleet_file, corpus, tmp_path, monkeypatch
):
    root = tmp_path / "drops"
    monkeypatch.setenv("AUTERITY_DROP_DIR", str(root))
    folder = root / ROOFTOP / "leads"
    folder.mkdir(parents=True)
    (folder / "good.xml").write_bytes(
        (corpus / "adf" / "Aayush-Ratna-Sthapit_ADF-XML-Parser_lead1.xml").read_bytes()
    )
    (folder / "bad.xml").write_text("<lead>not adf</lead>")
    settled(folder)
    result = lead_file_drops(dg.build_sensor_context(instance=instance))
    assert len(result.run_requests) == 2 and len({r.run_key for r in result.run_requests}) == 2
    for request in result.run_requests:
        assert file_drop_job.execute_in_process(
            run_config=request.run_config, resources={"warehouse": warehouse}, instance=instance
        ).success
    assert sorted(p.name for p in folder.rglob("*") if p.is_file()) == [
        "bad.xml",
        "bad.xml.reason.txt",
        "good.xml",
    ]
    assert (folder / "processed" / "good.xml").exists()
    assert "root element is <lead>" in (folder / "failed" / "bad.xml.reason.txt").read_text()
    with warehouse.engine.connect() as conn:
        assert conn.execute(select(events_inbox.c.channel, events_inbox.c.event_type)).all() == [
            ("file", "lead.received")
        ]
    assert isinstance(lead_file_drops(dg.build_sensor_context(instance=instance)), dg.SkipReason)


def settled(folder, seconds: float = 60) -> None:
    """Age every file in `folder`: the drop sensor leaves files alone while they may be being written."""
    import os

    for path in folder.iterdir():
        stamp = path.lstat().st_mtime - seconds
        os.utime(path, (stamp, stamp), follow_symlinks=False)


def test_a_dms_event_runs_its_own_day_unless_that_day_has_no_partition():
    arrived = dt.datetime(2026, 11, 25, 15, tzinfo=dt.UTC)

    def day(occurred: str) -> dt.date:
        event = {"event_type": "ro.closed", "received_at": arrived, "payload": {"occurred_at": occurred}}
        return event_day(event, "America/Chicago")

    assert day("2026-11-24T23:00:00Z") == dt.date(2026, 11, 24)
    assert day("2019-01-01T00:00:00Z") == dt.date(2026, 11, 25)  # before the first partition
    assert day("2027-01-01T00:00:00Z") == dt.date(2026, 11, 25)  # a sender's clock ahead
    lead = {
        "event_type": "lead.received",
        "received_at": arrived,
        "payload": {"received_at": "2019-01-16T00:46:36Z"},
    }
    assert event_day(lead, "America/Chicago") == dt.date(2026, 11, 25)


def test_an_event_left_unfinished_is_asked_for_again_each_period_for_a_day(instance, warehouse, fleet_file):
    from sqlalchemy import update

    (stuck,) = store(warehouse, ROOFTOP, [Incoming("ro.closed", RO_CLOSED, "id:dms-evt-1")], "webhook")
    first = inbox_events(dg.build_sensor_context(instance=instance, resources={"warehouse": warehouse}))
    assert [r.run_key for r in first.run_requests] == [stuck.event_id]

    def aged(minutes: int):
        with warehouse.engine.begin() as conn:
            conn.execute(
                update(events_inbox).values(
                    received_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes)
                )
            )
        return inbox_events(
            dg.build_sensor_context(
                instance=instance, cursor=first.cursor, resources={"warehouse": warehouse}
            )
        )

    (retry,) = aged(15).run_requests  # its run died: asked for again, under a key of its own
    assert retry.run_key.startswith("retry:") and retry.run_key.endswith(stuck.event_id)
    assert retry.job_name == "dms_sync_job"
    assert isinstance(aged(60 * 25), dg.SkipReason)  # after a day it waits for a person


def test_a_dms_event_is_marked_done_by_the_sync_run_it_started(instance, warehouse, fleet_file):
    from assets.core import CORE_KEYS
    from assets.dms import dms_sync
    from auterity_pipelines.events.routes import EVENT_TAG

    (event,) = store(warehouse, ROOFTOP, [Incoming("ro.closed", RO_CLOSED, "id:dms-evt-1")], "webhook")
    other = store(
        warehouse, ROOFTOP, [Incoming("ro.closed", {**RO_CLOSED, "id": "x"}, "id:dms-evt-2")], "webhook"
    )
    assert dg.materialize(
        [dms_sync],
        selection=list(CORE_KEYS.values()),  # conform only: the raw day is already there
        resources={"dms": DmsFleet(fleet_file=str(fleet_file)), "warehouse": warehouse},
        partition_key=partition_key(ROOFTOP, arrival_day()),
        instance=instance,
        tags={EVENT_TAG: event.event_id},
    ).success
    with warehouse.engine.connect() as conn:
        statuses = dict(conn.execute(select(events_inbox.c.event_id, events_inbox.c.status)).all())
    assert statuses == {event.event_id: "done", other[0].event_id: "received"}


def test_every_event_type_has_a_route_and_only_a_routed_one_starts_a_run():
    from auterity_pipelines.events.routes import ROUTES
    from auterity_pipelines.events.schemas import EVENT_TYPES

    assert set(ROUTES) == {*EVENT_TYPES, LEAD_RECEIVED}
    assert {t: r.initial_status for t, r in ROUTES.items() if r.job is None} == {"lead.responded": "done"}
    assert all(r.done_by for r in ROUTES.values())


def test_a_lead_responded_event_is_stored_done_and_starts_nothing(instance, warehouse, fleet_file):
    responded = {"id": "resp-1", "type": "lead.responded", "occurred_at": "2026-11-30T15:00:00Z",
                 "data": {"lead_id": "cars.com:A-1", "responded_at": "2026-11-30T15:00:00Z"}}  # fmt: skip
    store(warehouse, ROOFTOP, [Incoming("lead.responded", responded, "id:resp-1")], "webhook")
    with warehouse.engine.connect() as conn:
        assert conn.execute(select(events_inbox.c.status)).scalar_one() == "done"
    result = inbox_events(dg.build_sensor_context(instance=instance, resources={"warehouse": warehouse}))
    assert isinstance(result, dg.SkipReason)


def test_a_day_with_an_intake_run_in_flight_gets_no_second_until_it_ends(instance, warehouse, fleet_file):
    from dagster._core.storage.dagster_run import DagsterRun

    key = partition_key(ROOFTOP, arrival_day())
    instance.add_run(
        DagsterRun(
            job_name="lead_intake_job",
            run_id="0f5e3b1e-0000-4000-8000-000000000001",
            status=dg.DagsterRunStatus.NOT_STARTED,  # waiting, like a queued run
            tags={"dagster/partition": str(key)},
        )
    )
    (event,) = store(warehouse, ROOFTOP, [lead_event()], "webhook")
    waiting = inbox_events(dg.build_sensor_context(instance=instance, resources={"warehouse": warehouse}))
    assert isinstance(waiting, dg.SkipReason) and "its day's run" in waiting.skip_message
    instance.delete_run("0f5e3b1e-0000-4000-8000-000000000001")  # it ended without taking the lead
    (request,) = inbox_events(
        dg.build_sensor_context(instance=instance, resources={"warehouse": warehouse})
    ).run_requests
    assert request.run_key == event.event_id


def test_an_extract_day_is_synced_once_its_manifest_lands_and_again_if_it_is_rewritten(
    instance, tmp_path, monkeypatch
):
    from auterity_pipelines.simulator.data import RooftopDms, SimulatorSettings
    from auterity_pipelines.simulator.extract import write_extract
    from sensors.events import extract_day_drops
    from tests.conftest import NOW, write_fleet

    root = tmp_path / "extracts"
    monkeypatch.setenv(
        "AUTERITY_FLEET", str(write_fleet(tmp_path / "fleet.yaml", "http://127.0.0.1:1", root))
    )
    day = dt.date(2026, 11, 18)
    folder = write_extract(
        RooftopDms("harbor-kia", SimulatorSettings(now=NOW)), "harbor-kia", day, "America/New_York", root
    )
    (partial := root / "2026-11-19").mkdir()  # still being written: no manifest yet
    first = extract_day_drops(dg.build_sensor_context(instance=instance))
    (request,) = first.run_requests
    assert request.partition_key == str(partition_key("harbor-kia", day)) and request.job_name in (
        None,
        "dms_sync_job",
    )
    assert isinstance(
        extract_day_drops(dg.build_sensor_context(instance=instance, cursor=first.cursor)), dg.SkipReason
    )
    manifest = folder / "manifest.json"
    manifest.write_text(manifest.read_text().replace("{", '{"rewritten": true, ', 1))
    (again,) = extract_day_drops(dg.build_sensor_context(instance=instance, cursor=first.cursor)).run_requests
    assert again.partition_key == request.partition_key and again.run_key != request.run_key
    assert partial.exists()


def test_extract_days_before_the_daily_window_sync_their_month_of_history(instance, tmp_path, monkeypatch):
    from auterity_pipelines.partitions import MONTHS
    from auterity_pipelines.simulator.data import RooftopDms, SimulatorSettings
    from auterity_pipelines.simulator.extract import write_extract
    from sensors.events import extract_day_drops
    from tests.conftest import NOW, write_fleet

    root = tmp_path / "extracts"
    monkeypatch.setenv(
        "AUTERITY_FLEET", str(write_fleet(tmp_path / "fleet.yaml", "http://127.0.0.1:1", root))
    )
    month = dt.date.fromisoformat(MONTHS.get_partition_keys()[-1])
    dms = RooftopDms("harbor-kia", SimulatorSettings(now=NOW))
    for day in (month, month + dt.timedelta(days=1)):  # two days of one month: one run
        write_extract(dms, "harbor-kia", day, "America/New_York", root)
    result = extract_day_drops(dg.build_sensor_context(instance=instance))
    (request,) = result.run_requests
    assert request.job_name == "dms_history_job"
    assert request.partition_key == f"harbor-kia|{month.isoformat()}"
    assert isinstance(
        extract_day_drops(dg.build_sensor_context(instance=instance, cursor=result.cursor)), dg.SkipReason
    )


def test_a_started_run_leaves_new_leads_to_a_queued_successor_that_dagster_yaml_holds_back(
    instance, warehouse, fleet_file
):
    from dagster._core.storage.dagster_run import DagsterRun

    from auterity_pipelines.settings import project_file

    key = str(partition_key(ROOFTOP, arrival_day()))
    instance.add_run(
        DagsterRun(
            job_name="lead_intake_job",
            run_id="0f5e3b1e-0000-4000-8000-000000000002",
            status=dg.DagsterRunStatus.STARTED,  # it has read its batch
            tags={"dagster/partition": key},
        )
    )
    store(warehouse, ROOFTOP, [lead_event()], "webhook")
    (request,) = inbox_events(
        dg.build_sensor_context(instance=instance, resources={"warehouse": warehouse})
    ).run_requests
    # The queue runs it after the started one: one intake run per rooftop-day, two in all, and
    # monitoring ends a run whose worker died, so that it cannot hold its slot for good.
    config = yaml.safe_load(project_file("dagster.yaml").read_text())
    limits = {
        (x["key"], json.dumps(x["value"])): x["limit"]
        for x in config["concurrency"]["runs"]["tag_concurrency_limits"]
    }
    assert request.tags["auterity/intake-day"] == key
    assert limits[("auterity/intake-day", json.dumps({"applyLimitPerUniqueValue": True}))] == 1
    assert limits[("auterity/event-type", json.dumps(request.tags["auterity/event-type"]))] == 2
    assert float(request.tags["dagster/max_runtime_seconds"]) > 0
    assert config["run_monitoring"]["enabled"] is True
