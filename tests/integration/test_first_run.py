"""The first lead on a fresh install: no model yet, and it is still delivered, then scored once one appears."""

import dagster as dg
from sqlalchemy import select

from assets.enrichment import lead_enrichments
from assets.intake import crm_deliveries, inbound_leads
from assets.models import champion_key, model_assets, model_key
from assets.scoring import LEAD_SCORES, UNSCORED, lead_scores
from auterity_pipelines.partitions import partition_key
from auterity_pipelines.schema import events_inbox
from auterity_pipelines.schema import lead_scores as lead_scores_table
from resources.ai import RelayCore
from resources.dms.fleet import DmsFleet
from resources.events.inbox import store
from sensors.models import score_new_leads
from tests.integration.test_lead_intake import ROOFTOP, arrival_day, lead_event


def metadata_of(result, key):
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key == key]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_with_no_model_yet_a_lead_is_delivered_unscored_and_scored_when_a_champion_appears(
    instance,
    warehouse,
    fleet_file,
    crm,
    history,
    neuroweaver,
):
    (event,) = store(warehouse, ROOFTOP, [lead_event()], "webhook")
    key = partition_key(ROOFTOP, arrival_day())
    resources = {
        "dms": DmsFleet(fleet_file=str(fleet_file)),
        "warehouse": warehouse,
        "relaycore": RelayCore(),
        "neuroweaver": neuroweaver,  # an empty registry: the fresh install
    }
    intake = dg.materialize(
        [inbound_leads, lead_enrichments, lead_scores, crm_deliveries],
        resources=resources,
        partition_key=key,
        instance=instance,
        selection=[inbound_leads.key, lead_enrichments.key, lead_scores.key, crm_deliveries.key],
    )
    assert intake.success
    (posted,) = crm.received
    assert posted["event_id"] == event.event_id and posted["score"] is None
    assert posted["unscored_reason"] == "no lead_conversion champion yet"
    assert posted["enrichment"]["intent"]  # enrichment needs no trained model
    assert metadata_of(intake, LEAD_SCORES)[UNSCORED] == "no lead_conversion champion yet"
    assert metadata_of(intake, crm_deliveries.key)[UNSCORED] == posted["unscored_reason"]
    with warehouse.engine.connect() as conn:
        assert conn.execute(select(events_inbox.c.status)).scalar_one() == "done"
        assert conn.execute(select(lead_scores_table)).all() == []

    assert isinstance(score_new_leads(dg.build_sensor_context(instance=instance)), dg.SkipReason)
    trained = [
        a for a in model_assets if a.key in (model_key("lead_conversion"), champion_key("lead_conversion"))
    ]
    assert dg.materialize(
        trained, resources={"warehouse": history, "neuroweaver": neuroweaver}, instance=instance
    ).success
    requests = score_new_leads(dg.build_sensor_context(instance=instance)).run_requests
    assert [r.partition_key for r in requests] == [str(key)]
    later = dg.materialize(
        [lead_scores], resources=resources, partition_key=requests[0].partition_key, instance=instance
    )
    assert later.success and metadata_of(later, LEAD_SCORES)["rows"] == 1
    with warehouse.engine.connect() as conn:
        ((lead_id, version),) = conn.execute(
            select(lead_scores_table.c.lead_id, lead_scores_table.c.model_version)
        ).all()
    assert lead_id == "cars.com:A-1" and version == "1"
    assert len(crm.received) == 1  # the CRM was told once; the score is in the warehouse and `auterity leads`


def test_auterity_leads_lists_score_model_variant_and_crm_status(
    tmp_path, instance, crm, fleet_file, neuroweaver
):
    import json
    import subprocess
    import sys

    from tests.conftest import clean_environment

    home = tmp_path / "home"
    warehouse_url = f"sqlite:///{home / 'warehouse.db'}"
    from resources.warehouse import Warehouse

    home.mkdir()
    warehouse = Warehouse(url=warehouse_url)
    warehouse.upgrade()
    store(warehouse, ROOFTOP, [lead_event()], "webhook")
    resources = {"dms": DmsFleet(fleet_file=str(fleet_file)), "warehouse": warehouse, "relaycore": RelayCore(),
                 "neuroweaver": neuroweaver}  # fmt: skip
    assert dg.materialize(
        [inbound_leads, lead_enrichments, lead_scores, crm_deliveries],
        resources=resources,
        partition_key=partition_key(ROOFTOP, arrival_day()),
        instance=instance,
    ).success
    env = clean_environment() | {"AUTERITY_HOME": str(home), "AUTERITY_FLEET": str(fleet_file)}

    def leads(*args):
        return subprocess.run([sys.executable, "-m", "auterity_pipelines.cli.main", "leads", *args], env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    listed = leads("--json", "--dealership", ROOFTOP, "--date", "2026-11-20")  # the lead's own local day
    assert listed.returncode == 0, listed.stderr
    (row,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert row["lead_id"] == "cars.com:A-1" and row["crm"] == "posted"
    assert (row["score"], row["model_version"], row["variant"]) == (None, None, "unscored")
    table = leads()
    assert table.returncode == 0 and "cars.com:A-1" in table.stdout and "unscored" in table.stdout
    import datetime as dt

    later = dt.datetime.now(dt.UTC)
    warehouse.upsert(
        "lead_scores", [(ROOFTOP, "cars.com:A-1", "lead_conversion", "3", 0.42, "challenger", later, "r")]
    )
    (row,) = [json.loads(line) for line in leads("--json").stdout.splitlines()]
    assert (row["score"], row["model_version"], row["variant"]) == (0.42, "3", "challenger")
    assert leads("--dealership", "nowhere-motors").returncode == 2
    assert leads("--json", "--date", "2020-01-01").stdout == ""


def test_a_crm_without_its_signing_secret_fails_once_naming_the_variable(
    instance, warehouse, fleet_file, crm, neuroweaver, monkeypatch
):
    monkeypatch.delenv("LAKESIDE_WEBHOOK_SECRET")
    store(warehouse, ROOFTOP, [lead_event()], "webhook")
    resources = {"dms": DmsFleet(fleet_file=str(fleet_file)), "warehouse": warehouse, "relaycore": RelayCore(),
                 "neuroweaver": neuroweaver}  # fmt: skip
    result = dg.materialize(
        [inbound_leads, lead_enrichments, lead_scores, crm_deliveries],
        resources=resources,
        partition_key=partition_key(ROOFTOP, arrival_day()),
        instance=instance,
        selection=[inbound_leads.key, lead_enrichments.key, lead_scores.key, crm_deliveries.key],
        raise_on_error=False,
    )
    assert not result.success
    failure = result.failure_data_for_node("events__crm_deliveries")
    assert "LAKESIDE_WEBHOOK_SECRET is not set" in failure.user_failure_data.description
    kinds = [e.event_type_value for e in result.all_events]
    assert "STEP_UP_FOR_RETRY" not in kinds and crm.received == []
