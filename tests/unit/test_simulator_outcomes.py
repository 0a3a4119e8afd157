"""The simulator's hidden truth: leads become deals and customers come back as the probabilities say."""

import datetime as dt

import httpx
import pytest

from auterity_pipelines.simulator.data import EPOCH, RooftopDms, SimulatorSettings
from auterity_pipelines.simulator.outcomes import lead_probability, retention_probability
from tests.conftest import start_simulator

NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def dms() -> RooftopDms:
    return RooftopDms("lakeside-honda", SimulatorSettings(now=NOW))


def position(source_id: str) -> tuple[int, int]:
    _, day, index = source_id.split("-")
    return int(day), int(index)


def test_every_deal_from_a_lead_follows_a_converted_lead_within_30_days(dms):
    deals = [r for _, r in dms.stream("deals", EPOCH, NOW) if r["lead_source_id"]]
    assert len(deals) > 1000
    for deal in deals:
        lead = dms.lead(*position(deal["lead_source_id"]))
        assert lead.outcome.happened
        sold = dt.datetime.fromisoformat(deal["sold_at"])
        assert lead.created < sold <= lead.created + dt.timedelta(days=30)


def test_every_converted_lead_has_exactly_one_deal(dms):
    linked = [r["lead_source_id"] for _, r in dms.stream("deals", EPOCH, NOW) if r["lead_source_id"]]
    assert len(linked) == len(set(linked))
    cutoff = (NOW - EPOCH).days - 31  # leads whose deal day has certainly passed
    converted = {
        r["source_id"]
        for _, r in dms.stream("leads", EPOCH, NOW)
        if position(r["source_id"])[0] < cutoff and dms.lead(*position(r["source_id"])).outcome.happened
    }
    assert converted <= set(linked)


def test_outcomes_happen_as_often_as_their_probabilities_say(dms):
    leads = [dms.lead(*position(r["source_id"])).outcome for _, r in dms.stream("leads", EPOCH, NOW)]
    mean_p = sum(o.probability for o in leads) / len(leads)
    rate = sum(o.happened for o in leads) / len(leads)
    assert abs(mean_p - rate) < 0.02 and 0.1 < rate < 0.4


def test_a_return_visit_is_the_same_customer_and_vehicle_within_a_year(dms):
    orders = {r["ro_number"]: r for _, r in dms.stream("repair_orders", EPOCH, NOW)}
    by_customer: dict[str, list[dict]] = {}
    for order in orders.values():
        by_customer.setdefault(order["customer_source_id"], []).append(order)
    returns = 0
    for order in orders.values():
        visit = dms.visit(int(order["ro_number"][:4]), int(order["ro_number"][4:]))
        if visit.prior_visits:
            returns += 1
            earlier = [
                o for o in by_customer[order["customer_source_id"]] if o["opened_at"] < order["opened_at"]
            ]
            assert earlier and all(o["vin"] == order["vin"] for o in earlier)
    assert returns > 1000


def test_the_true_probabilities_reward_what_a_sales_desk_would_expect():
    fast, slow = (lead_probability("dealer website", "buy", m, False, True) for m in (5, 600))
    assert fast > slow
    assert lead_probability("walk-in", "buy", 5, False, True) > lead_probability(
        "facebook", "buy", 5, False, True
    )
    assert lead_probability("dealer website", "service", 5, False, True) < 0.1
    assert retention_probability(True, 2, 1, 0.5) > retention_probability(False, 14, 0, 6.0)


def test_the_simulator_reports_the_hidden_probabilities_over_http():
    with start_simulator() as url:
        start, end = dt.datetime(2026, 10, 1, tzinfo=dt.UTC), dt.datetime(2026, 10, 8, tzinfo=dt.UTC)
        params = {
            "key": "lakeside-honda",
            "entity": "leads",
            "start": start.isoformat(),
            "end": end.isoformat(),
        }
        found = httpx.get(f"{url}/_sim/outcomes", params=params).json()["outcomes"]
    dms = RooftopDms("lakeside-honda", SimulatorSettings(now=NOW))
    assert [o["source_id"] for o in found] == [r["source_id"] for _, r in dms.stream("leads", start, end)]
    for o in found:
        assert o["probability"] == round(dms.lead(*position(o["source_id"])).outcome.probability, 6)
        assert (o["follow_up_on"] is not None) == bool(o["outcome"])
