import datetime as dt

import dagster as dg
import pytest

from auterity_pipelines.fleet import parse_fleet
from auterity_pipelines.partitions import split_key
from sensors.fleet import fleet_partitions
from sensors.schedules import nightly_dms_sync, nightly_partitions

UTC = dt.UTC
FLEET = parse_fleet({"dealerships": [
    {"id": "lakeside-honda", "timezone": "America/Chicago", "dms": {"kind": "extract", "path": "/x"}},
    {"id": "harbor-kia", "timezone": "America/New_York", "dms": {"kind": "extract", "path": "/y"}},
]})  # fmt: skip


def days_at(now: dt.datetime) -> dict[str, dt.date]:
    return {d.id: day for d, day in nightly_partitions(FLEET, now)}


@pytest.mark.parametrize(
    ("now", "chicago_day"),
    [
        # 23:59 local on Nov 24 (CST, UTC-6): Nov 23 is still the last full day.
        (dt.datetime(2026, 11, 25, 5, 59, tzinfo=UTC), dt.date(2026, 11, 23)),
        # 00:01 local on Nov 25: Nov 24 just ended.
        (dt.datetime(2026, 11, 25, 6, 1, tzinfo=UTC), dt.date(2026, 11, 24)),
        # Spring forward (Mar 8 2026): midnight is still 06:00 UTC, since CST applies until 02:00 local.
        (dt.datetime(2026, 3, 8, 5, 59, tzinfo=UTC), dt.date(2026, 3, 6)),
        (dt.datetime(2026, 3, 8, 6, 0, tzinfo=UTC), dt.date(2026, 3, 7)),
        # The day after, midnight is 05:00 UTC (CDT, UTC-5).
        (dt.datetime(2026, 3, 9, 4, 59, tzinfo=UTC), dt.date(2026, 3, 7)),
        (dt.datetime(2026, 3, 9, 5, 0, tzinfo=UTC), dt.date(2026, 3, 8)),
        # Fall back (Nov 1 2026): Nov 1 has 25 hours and ends at 06:00 UTC on Nov 2.
        (dt.datetime(2026, 11, 2, 5, 59, tzinfo=UTC), dt.date(2026, 10, 31)),
        (dt.datetime(2026, 11, 2, 6, 0, tzinfo=UTC), dt.date(2026, 11, 1)),
    ],
)
def test_each_rooftop_gets_its_previous_local_day(now, chicago_day):
    assert days_at(now)["lakeside-honda"] == chicago_day


def test_rooftops_in_different_zones_roll_over_at_their_own_midnight():
    # 05:30 UTC: past midnight in New York (00:30), not yet in Chicago (23:30).
    days = days_at(dt.datetime(2026, 11, 25, 5, 30, tzinfo=UTC))
    assert days == {"harbor-kia": dt.date(2026, 11, 24), "lakeside-honda": dt.date(2026, 11, 23)}


def test_the_schedule_requests_each_rooftops_day_once_by_run_key(tmp_path, monkeypatch):
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(
        "dealerships:\n"
        "  - {id: lakeside-honda, timezone: America/Chicago, dms: {kind: extract, path: /x}}\n"
        "  - {id: harbor-kia, timezone: America/New_York, dms: {kind: extract, path: /y}}\n"
    )
    monkeypatch.setenv("AUTERITY_FLEET", str(fleet_file))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("dealerships", ["lakeside-honda", "harbor-kia"])
        requests = []
        for hour in (5, 6):  # 00:15 in New York, then 00:15 in Chicago
            tick = dt.datetime(2026, 11, 25, hour, 15, tzinfo=UTC)
            context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
            requests.append({r.run_key: split_key(r.partition_key) for r in nightly_dms_sync(context)})
    assert requests[0]["nightly:harbor-kia:2026-11-24"] == ("harbor-kia", dt.date(2026, 11, 24))
    assert requests[0]["nightly:lakeside-honda:2026-11-23"] == ("lakeside-honda", dt.date(2026, 11, 23))
    # An hour later Chicago has passed midnight: a new run key for its new day; New York's is unchanged.
    assert set(requests[1]) == {"nightly:harbor-kia:2026-11-24", "nightly:lakeside-honda:2026-11-24"}


def test_the_fleet_sensor_keeps_partitions_in_step_with_the_file(tmp_path, monkeypatch):
    fleet_file = tmp_path / "fleet.yaml"
    monkeypatch.setenv("AUTERITY_FLEET", str(fleet_file))
    line = "  - {{id: {}, timezone: America/Chicago, dms: {{kind: extract, path: /x}}}}\n"
    with dg.instance_for_test() as instance:
        fleet_file.write_text("dealerships:\n" + line.format("a-one") + line.format("b-two"))
        result = fleet_partitions(dg.build_sensor_context(instance=instance))
        assert [r.partition_keys for r in result.dynamic_partitions_requests] == [["a-one", "b-two"]]
        instance.add_dynamic_partitions("dealerships", ["a-one", "b-two"])
        assert isinstance(fleet_partitions(dg.build_sensor_context(instance=instance)), dg.SkipReason)
        # A rooftop added to the file, one taken out: no code change, no deploy.
        fleet_file.write_text("dealerships:\n" + line.format("b-two") + line.format("c-three"))
        result = fleet_partitions(dg.build_sensor_context(instance=instance))
        adds, deletes = result.dynamic_partitions_requests
        assert (adds.partition_keys, deletes.partition_keys) == (["c-three"], ["a-one"])


@pytest.mark.parametrize(
    ("tick", "day"),
    [
        # Spring forward: the tick just after Chicago's midnight (06:00 UTC, still CST) asks for Mar 7.
        (dt.datetime(2026, 3, 8, 6, 15, tzinfo=UTC), "2026-03-07"),
        # The next night midnight comes at 05:00 UTC (CDT): the 05:15 tick already asks for Mar 8.
        (dt.datetime(2026, 3, 9, 5, 15, tzinfo=UTC), "2026-03-08"),
        # Fall back: Nov 1 has 25 hours; the 05:15 UTC tick on Nov 2 is still Nov 1, 23:15 local.
        (dt.datetime(2026, 11, 2, 5, 15, tzinfo=UTC), "2026-10-31"),
        (dt.datetime(2026, 11, 2, 6, 15, tzinfo=UTC), "2026-11-01"),
    ],
)
def test_the_schedule_follows_a_rooftops_midnight_across_dst(tmp_path, monkeypatch, tick, day):
    fleet_file = tmp_path / "fleet.yaml"
    fleet_file.write_text(
        "dealerships:\n  - {id: lakeside-honda, timezone: America/Chicago, dms: {kind: extract, path: /x}}\n"
    )
    monkeypatch.setenv("AUTERITY_FLEET", str(fleet_file))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("dealerships", ["lakeside-honda"])
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
        (request,) = nightly_dms_sync(context)
    assert request.run_key == f"nightly:lakeside-honda:{day}"
    assert request.partition_key == f"{day}|lakeside-honda"
    assert request.tags["auterity/dms-endpoint"] == "extract:/x"
    assert request.tags["auterity/dms-kind"] == "extract"
