"""The enrichment assets on a synced partition: offline by default, incremental, re-run by prompt version."""

import dataclasses
import datetime as dt

import dagster as dg
import pytest
import yaml
from sqlalchemy import func, select

from assets import enrich
from assets.enrichment import FAILURE_CHECK, _enrichment_asset, lead_enrichments, repair_order_enrichments
from auterity_pipelines.partitions import partition_key
from auterity_pipelines.schema import ai_usage
from auterity_pipelines.schema import lead_enrichments as lead_table
from auterity_pipelines.schema import repair_order_enrichments as line_table
from ml.serving import NeuroWeaverServer, ServingFaults, serve_in_thread
from resources.ai import RelayCore
from tests.conftest import start_simulator, write_fleet
from tests.helpers import sync

ROOFTOP, DAY = "lakeside-honda", dt.date(2026, 11, 12)
KEY_VARIABLES = (
    "OPENAI_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "AUTERITY_NEUROWEAVER_URL",
    "AUTERITY_RELAYCORE_CONFIG",
)


@pytest.fixture
def offline(monkeypatch):
    for name in KEY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def enrich_partition(instance, warehouse, relaycore=None):
    return dg.materialize(
        [lead_enrichments, repair_order_enrichments],
        resources={"warehouse": warehouse, "relaycore": relaycore or RelayCore()},
        partition_key=partition_key(ROOFTOP, DAY),
        instance=instance,
    )


def metadata(result, table):
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.path[-1] == table]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def rows(warehouse, table):
    with warehouse.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table))]


def test_offline_enrichment_is_incremental_and_follows_the_prompt_version(
    tmp_path, instance, warehouse, offline, monkeypatch
):
    with start_simulator() as url:
        assert sync(instance, write_fleet(tmp_path / "fleet.yaml", url), warehouse, ROOFTOP, DAY).success
    leads_count, lines_count = (
        warehouse.count("leads", ROOFTOP),
        warehouse.count("repair_order_lines", ROOFTOP),
    )

    first = enrich_partition(instance, warehouse)
    assert all(c.passed for c in first.get_asset_check_evaluations())
    lead_meta, line_meta = metadata(first, "lead_enrichments"), metadata(first, "repair_order_enrichments")
    assert lead_meta["records"] == lead_meta["enriched"] == leads_count > 0
    assert line_meta["records"] == line_meta["enriched"] == lines_count > 0
    assert lead_meta["calls_by_provider"] == f"local ×{lead_meta['ai_calls']}"
    leads = rows(warehouse, lead_table)
    assert len(leads) == leads_count and {r["status"] for r in leads} == {"ok"}
    assert {r["intent"] for r in leads} <= {
        "buy",
        "lease",
        "trade-in",
        "finance",
        "service",
        "test-drive",
        "other",
    }
    assert all(0 <= r["urgency"] <= 1 and r["summary"] for r in leads)
    lines = rows(warehouse, line_table)
    assert len(lines) == lines_count and all(-1 <= r["sentiment"] <= 1 for r in lines)
    assert len({r["category"] for r in lines}) >= 4

    # Rematerializing changes nothing and calls nobody.
    with warehouse.engine.connect() as conn:
        calls = conn.execute(select(func.count()).select_from(ai_usage)).scalar()
    again = enrich_partition(instance, warehouse)
    for table, count in (("lead_enrichments", leads_count), ("repair_order_enrichments", lines_count)):
        meta = metadata(again, table)
        assert (meta["unchanged_skipped"], meta["enriched"], meta["ai_calls"]) == (count, 0, 0)
    with warehouse.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ai_usage)).scalar() == calls

    # A new prompt version enriches every record again, beside the old version's rows.
    task = dataclasses.replace(enrich.LEADS.task, version="lead-v2")
    revised = _enrichment_asset(dataclasses.replace(enrich.LEADS, task=task), "leads", "leads, prompt v2")
    result = dg.materialize(
        [revised],
        resources={"warehouse": warehouse, "relaycore": RelayCore()},
        partition_key=partition_key(ROOFTOP, DAY),
        instance=instance,
    )
    meta = metadata(result, "lead_enrichments")
    assert (meta["enriched"], meta["unchanged_skipped"]) == (leads_count, 0)
    versions = {r["prompt_version"] for r in rows(warehouse, lead_table)}
    assert versions == {enrich.LEADS.task.prompt_version, task.prompt_version}


def test_answers_that_keep_failing_are_recorded_and_fail_the_check_not_the_asset(
    tmp_path, instance, warehouse, offline
):
    with start_simulator() as url:
        assert sync(instance, write_fleet(tmp_path / "fleet.yaml", url), warehouse, ROOFTOP, DAY).success
    server = NeuroWeaverServer(ServingFaults(shares={"invalid": 1.0}))
    with serve_in_thread(server) as url:
        config = {
            "providers": {"neuroweaver": {"kind": "openai_compatible", "base_url": url, "max_retries": 0}},
            "tasks": {
                "lead_enrichment": {
                    "candidates": [{"provider": "neuroweaver", "model": "neuroweaver-lead-enrichment"}]
                }
            },
            "max_failure_share": 0.05,
        }
        path = tmp_path / "relaycore.yaml"
        path.write_text(yaml.safe_dump(config))
        result = dg.materialize(
            [lead_enrichments],
            resources={"warehouse": warehouse, "relaycore": RelayCore(config_path=str(path))},
            partition_key=partition_key(ROOFTOP, DAY),
            instance=instance,
            raise_on_error=False,
        )
    # Materialized, with every failure kept; the blocking check then stops the run so nothing downstream reads it.
    assert not result.success
    [check] = result.get_asset_check_evaluations()
    assert (check.check_name, check.passed) == (FAILURE_CHECK, False)
    leads = rows(warehouse, lead_table)
    assert leads and all(r["status"] == "failed" and "after one retry" in r["error"] for r in leads)
    assert metadata(result, "lead_enrichments")["failed"] == len(leads)


def test_repair_order_lines_carry_their_customers_name_to_redaction(tmp_path, instance, warehouse):
    """A technician writes "Beatrix Lindqvist states…": the line's own record names nobody, its order's customer does."""
    from auterity_pipelines.schema import customers, repair_orders

    with start_simulator() as url:
        assert sync(instance, write_fleet(tmp_path / "fleet.yaml", url), warehouse, ROOFTOP, DAY).success
    with warehouse.engine.connect() as conn:
        named = {
            ro: (first, last)
            for ro, first, last in conn.execute(
                select(repair_orders.c.ro_number, customers.c.first_name, customers.c.last_name).join(
                    customers,
                    (customers.c.dealership_id == repair_orders.c.dealership_id)
                    & (customers.c.customer_id == repair_orders.c.customer_id),
                )
            )
        }
    lines = enrich.partition_lines(warehouse, ROOFTOP, DAY)
    with_customer = [(key, names) for key, _, names in lines if key.split("#")[0] in named]
    assert with_customer, "the day has lines whose order's customer is on file"
    for key, names in with_customer:
        assert names == named[key.split("#")[0]], key
