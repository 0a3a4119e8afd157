"""RelayCore against the NeuroWeaver endpoint over real HTTP, through the real `openai` client."""

import json
import subprocess
import sys
from collections import deque

import pytest
from sqlalchemy import func, select

from auterity_pipelines.enrichment.tasks import LEAD_ENRICHMENT
from auterity_pipelines.schema import ai_usage
from ml.serving import NeuroWeaverServer, ServingFaults, serve_in_thread
from resources.ai.config import parse_config
from resources.ai.router import Router, WorkItem

LEAD = {
    "source": "cars.com",
    "comments": "This is Mary Smith at 1234 N Lake Shore Dr. Lease a 2024 Honda CR-V asap, text 312-555-0199 or mary.smith12@gmail.com",
    "vehicle": {"year": 2024, "make": "Honda", "model": "CR-V", "vin": "1HGCM82633A004352"},
    "contact": {"email": True, "phone": True},
}
PII = ("Mary", "Smith", "Lake Shore", "555-0199", "mary.smith12@gmail.com", "1HGCM82633A004352")


def config(url, price=0.0, retries=0, timeout=5.0, quota=None, local=True, concurrency=8):
    candidates = [
        {
            "provider": "neuroweaver",
            "model": "neuroweaver-lead-enrichment",
            "input_per_million": price,
            "output_per_million": price,
        }
    ]
    providers = {
        "neuroweaver": {
            "kind": "openai_compatible",
            "base_url": url,
            "max_retries": retries,
            "timeout_seconds": timeout,
            "max_concurrency": 8,
        }
    }
    if local:
        candidates.append({"provider": "local", "model": "neuroweaver-lead-enrichment"})
        providers["local"] = {"kind": "local"}
    return parse_config(
        {
            "providers": providers,
            "tasks": {"lead_enrichment": {"candidates": candidates}},
            "quotas": {"default": quota or {}},
            "circuit_breaker": {"failures": 3, "cooldown_seconds": 60},
            "concurrency": concurrency,
        }
    )


def items(n, offset=0):
    return [
        WorkItem(f"L-{i}", {**LEAD, "comments": f"{LEAD['comments']} (ref {i})"}, ("Mary", "Smith"))
        for i in range(offset, offset + n)
    ]


def usage(warehouse):
    with warehouse.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(ai_usage).order_by(ai_usage.c.id))]


@pytest.fixture
def endpoint():
    def start(**faults):
        server = NeuroWeaverServer(ServingFaults(**faults), keep_requests=True)
        return server, serve_in_thread(server)

    return start


def test_no_personal_detail_reaches_the_external_provider(endpoint, warehouse):
    server, running = endpoint()
    with running as url:
        outcomes = list(
            Router(config(url, local=False), warehouse.engine).run(LEAD_ENRICHMENT, "d1", items(5))
        )
    assert [o.status for o in outcomes] == ["ok"] * 5
    assert len(server.requests) == 5
    for body in server.requests:
        text = body.decode()
        assert not [secret for secret in PII if secret in text], text
        assert (
            "[NAME_1]" in text
            and "[PHONE_1]" in text
            and "[EMAIL_1]" in text
            and "[VIN_1]" in text
            and "[ADDRESS_1]" in text
        )
    assert outcomes[0].answer["intent"] == "lease" and outcomes[0].answer["vehicle"]["make"] == "Honda"


def test_sdk_retries_ride_out_a_429_and_a_500(endpoint, warehouse):
    server, running = endpoint(script=deque(["rate_limit", "server_error"]))
    with running as url:
        [outcome] = Router(config(url, retries=2), warehouse.engine).run(LEAD_ENRICHMENT, "d1", items(1))
    assert (outcome.status, outcome.provider) == ("ok", "neuroweaver")
    assert len(server.requests) == 3


@pytest.mark.parametrize("fault", ["server_error", "rate_limit", "timeout"])
def test_a_failing_provider_fails_over_to_the_next_and_the_ledger_shows_both(endpoint, warehouse, fault):
    _, running = endpoint(shares={fault: 1.0}, timeout_seconds=3)
    with running as url:
        # One record at a time, so the breaker's opening is seen by the records after it.
        router = Router(config(url, timeout=0.5, concurrency=1), warehouse.engine)
        outcomes = list(router.run(LEAD_ENRICHMENT, "d1", items(6)))
    assert {(o.status, o.provider) for o in outcomes} == {("ok", "local")}
    rows = usage(warehouse)
    expected = {"server_error": "server_error", "rate_limit": "rate_limited", "timeout": "timeout"}[fault]
    failed = [r for r in rows if r["provider"] == "neuroweaver"]
    # The breaker opens after three failures: later records skip the provider altogether.
    assert [r["outcome"] for r in failed] == [expected] * 3
    assert [r["outcome"] for r in rows if r["provider"] == "local"] == ["ok"] * 6


def test_an_invalid_answer_is_retried_once_then_recorded_as_failed(endpoint, warehouse):
    server, running = endpoint(script=deque(["invalid", "ok", "invalid", "invalid"]))
    with running as url:
        router = Router(config(url, local=False, concurrency=1), warehouse.engine)
        first, second = list(router.run(LEAD_ENRICHMENT, "d1", items(2)))
    assert first.status == "ok"
    assert second.status == "failed" and "invalid answer" in second.error and "intent" in second.error
    assert [r["outcome"] for r in usage(warehouse)] == ["invalid", "ok", "invalid", "invalid"]
    retry = json.loads(server.requests[1])["messages"]
    assert retry[-1]["role"] == "user" and "That answer was invalid" in retry[-1]["content"]


def test_a_second_pass_is_served_from_the_cache_without_a_call(endpoint, warehouse):
    server, running = endpoint()
    with running as url:
        first = Router(config(url), warehouse.engine)
        list(first.run(LEAD_ENRICHMENT, "d1", items(10)))
        again = Router(config(url), warehouse.engine)
        outcomes = list(again.run(LEAD_ENRICHMENT, "d1", items(10)))
    assert len(server.requests) == first.stats.calls == 10
    assert again.stats.calls == 0 and again.stats.cache_hits == 10
    assert all(o.cache_hit and o.status == "ok" for o in outcomes)


def test_a_spent_budget_fails_records_with_the_reason_and_never_overspends(endpoint, warehouse):
    # At $1 per million tokens a call reserves about $0.0025 and costs about $0.0006: a few fit.
    quota = {"monthly_budget_usd": 0.004, "on_budget_exhausted": "error"}
    server, running = endpoint()
    with running as url:
        router = Router(config(url, price=1.0, quota=quota, local=False), warehouse.engine)
        outcomes = list(router.run(LEAD_ENRICHMENT, "d1", items(30)))
    ok = [o for o in outcomes if o.status == "ok"]
    failed = [o for o in outcomes if o.status == "failed"]
    assert ok and failed and len(ok) == len(server.requests)
    assert all("monthly AI budget for lead_enrichment at d1 is spent" in o.error for o in failed)
    spent = sum(float(r["cost_usd"]) for r in usage(warehouse))
    assert 0 < spent <= 0.004
    assert router.quotas.used("d1", "lead_enrichment", "spend_micro_usd") == round(spent * 1_000_000)


def test_a_spent_budget_falls_back_to_local_where_configured(endpoint, warehouse):
    quota = {"monthly_budget_usd": 0.004, "on_budget_exhausted": "local"}
    _, running = endpoint()
    with running as url:
        outcomes = list(
            Router(config(url, price=1.0, quota=quota), warehouse.engine).run(
                LEAD_ENRICHMENT, "d1", items(20)
            )
        )
    assert all(o.status == "ok" for o in outcomes)
    assert {o.provider for o in outcomes} == {"neuroweaver", "local"}


CONCURRENT_RUN = """
import sys
from resources.ai.config import parse_config
from resources.ai.router import Router
from resources.warehouse import Warehouse
from tests.integration.test_relaycore import LEAD_ENRICHMENT, config, items
url, warehouse_url, offset = sys.argv[1], sys.argv[2], int(sys.argv[3])
router = Router(config(url, price=1.0, quota={"monthly_budget_usd": 0.01, "on_budget_exhausted": "error"}, local=False), Warehouse(url=warehouse_url).engine)
print(sum(o.status == "ok" for o in router.run(LEAD_ENRICHMENT, "d1", items(40, offset))))
"""


@pytest.mark.postgres
def test_the_budget_holds_across_processes_running_at_once(endpoint, postgres_url):
    from resources.warehouse import Warehouse

    warehouse = Warehouse(url=postgres_url)
    warehouse.upgrade()
    server, running = endpoint(latency_ms=20)
    with running as url:
        runs = [
            subprocess.Popen(
                [sys.executable, "-c", CONCURRENT_RUN, url, postgres_url, str(offset)],
                stdout=subprocess.PIPE,
                text=True,
            )
            for offset in (0, 1000, 2000)
        ]
        ok = sum(int(run.communicate(timeout=120)[0].strip()) for run in runs)
    with warehouse.engine.connect() as conn:
        spent = float(conn.execute(select(func.sum(ai_usage.c.cost_usd))).scalar())
    assert 0 < spent <= 0.01
    assert ok == len(server.requests) < 120
