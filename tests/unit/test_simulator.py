import datetime as dt

from auterity_pipelines import vin
from auterity_pipelines.records import content_checksum
from auterity_pipelines.simulator.data import RooftopDms, SimulatorSettings, truth

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
DAY = (dt.datetime(2026, 11, 10, tzinfo=dt.UTC), dt.datetime(2026, 11, 11, tzinfo=dt.UTC))


def records(dms, entity, window=DAY):
    return [r for _, r in dms.stream(entity, *window)]


def test_the_same_rooftop_key_gives_the_same_records():
    a, b = RooftopDms("r1", SimulatorSettings(now=NOW)), RooftopDms("r1", SimulatorSettings(now=NOW))
    assert records(a, "repair_orders") == records(b, "repair_orders")
    assert records(a, "customers") != records(RooftopDms("r2", SimulatorSettings(now=NOW)), "customers")


def test_records_change_day_by_day():
    earlier = RooftopDms("r1", SimulatorSettings(now=dt.datetime(2026, 11, 10, 23, tzinfo=dt.UTC)))
    later = RooftopDms("r1", SimulatorSettings(now=NOW))
    before = {r["source_id"]: r for r in records(earlier, "vehicles")}
    after = {
        r["source_id"]: r for r in records(later, "vehicles", (dt.datetime(2026, 11, 10, tzinfo=dt.UTC), NOW))
    }
    updated = [
        sid for sid in before if sid in after and after[sid]["modified_at"] > before[sid]["modified_at"]
    ]
    assert updated, "some of the day's vehicles must change later"
    assert any(after[sid] != before[sid] for sid in updated)


def test_a_record_appears_in_exactly_one_window():
    dms = RooftopDms("r1", SimulatorSettings(now=NOW))
    day1 = {r["source_id"] for r in records(dms, "deals", DAY)}
    next_day = (DAY[1], DAY[1] + dt.timedelta(days=1))
    assert day1 and not day1 & {r["source_id"] for r in records(dms, "deals", next_day)}


def test_repair_orders_arrive_late_and_vins_are_mostly_valid():
    dms = RooftopDms("r1", SimulatorSettings(now=NOW))
    month = (dt.datetime(2026, 10, 1, tzinfo=dt.UTC), dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    orders = records(dms, "repair_orders", month)
    assert any(r["opened_at"][:10] < r["modified_at"][:10] for r in orders)
    assert all(
        r["lines"] and all(line["complaint"] and line["op_code"] for line in r["lines"]) for r in orders
    )
    vehicles = records(dms, "vehicles", month)
    bad = [v for v in vehicles if not vin.decode(v["vin"]).valid]
    assert 0 < len(bad) < 0.15 * len(vehicles)


def test_resuming_after_a_position_continues_without_gaps_or_repeats():
    dms = RooftopDms("r1", SimulatorSettings(now=NOW))
    whole = list(dms.stream("appointments", *DAY))
    position = whole[len(whole) // 2][0]
    rest = list(dms.stream("appointments", *DAY, after=position))
    assert whole[len(whole) // 2 + 1 :] == rest


def test_malformed_records_are_reported_in_the_truth():
    dms = RooftopDms("r1", SimulatorSettings(now=NOW, malformed_share=0.2))
    month = (dt.datetime(2026, 10, 1, tzinfo=dt.UTC), dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    result = truth(dms, "vehicles", *month)
    served = records(dms, "vehicles", month)
    assert result.raw_faults and result.conform_faults
    assert len(result.records) + len(result.raw_faults) == len(served)


def test_pages_cover_a_window_exactly_whatever_the_page_size():
    import httpx

    from auterity_pipelines.simulator.server import Simulator, serve_in_thread
    from resources.dms.fortellis import FortellisClient
    from resources.dms.tekion import TekionClient
    from resources.dms.window import Window

    dms = RooftopDms("r1", SimulatorSettings(now=NOW))
    window = Window(dt.date(2026, 11, 10), *DAY)
    want = sorted(r["source_id"] for r in records(dms, "appointments"))
    with serve_in_thread(Simulator(SimulatorSettings(now=NOW))) as url:
        for size in (1, len(want) - 1, len(want), len(want) + 1):
            for client in (FortellisClient(url, "demo-client", "demo-client-secret", "r1", page_size=size),
                           TekionClient(url, "demo-app", "demo-app-secret", "r1", page_size=size)):  # fmt: skip
                got = sorted(
                    r["source_id"] for batch in client.batches("appointments", window) for r in batch
                )
                assert got == want, (type(client).__name__, size)
        assert httpx.get(f"{url}/fortellis/v1/appointments").status_code == 400
        report = httpx.get(f"{url}/_sim/truth", params={"key": "r1", "entity": "appointments",
                                                         "start": DAY[0].isoformat(), "end": DAY[1].isoformat()}).json()  # fmt: skip
    assert (report["records"], report["checksum"]) == content_checksum(records(dms, "appointments"))
    assert report["records"] == len(want) and report["raw_faults"] == report["conform_faults"] == []
