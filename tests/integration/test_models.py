"""NeuroWeaver end to end: train and register through `materialize`, promote or not, score by alias."""

import datetime as dt
import shutil

import dagster as dg
from sqlalchemy import select

from assets.models import model_assets, model_key
from assets.scoring import lead_scores
from auterity_pipelines.partitions import partition_key
from auterity_pipelines.schema import lead_scores as lead_scores_table
from auterity_pipelines.simulator.data import RooftopDms, SimulatorSettings
from ml import lifecycle
from ml.features.frames import load_tables
from ml.models import LEAD_CONVERSION
from ml.registry import CHALLENGER, CHAMPION, CHECKS_TAG, Store, alias_version, log_trained, name_challenger
from ml.scoring import variant
from ml.training import ModelSpec, train
from resources.mlflow import NeuroWeaver
from resources.warehouse import Warehouse
from tests.helpers import load_history
from tests.integration.conftest import NOW, ROOFTOP, SCORED_DAY

ASSETS = {a.key: a for a in model_assets}


def train_lead_model(instance, warehouse, neuroweaver, **kwargs):
    keys = [model_key("lead_conversion"), dg.AssetKey(["ml", "lead_conversion_champion"])]
    return dg.materialize(
        [ASSETS[k] for k in keys],
        resources={"warehouse": warehouse, "neuroweaver": neuroweaver},
        instance=instance,
        **kwargs,
    )


def register_weak_challenger(store: Store, warehouse: Warehouse):
    """A lead model that sees only the weekday: far worse than one that sees everything."""
    spec, frame = LEAD_CONVERSION.build(load_tables(warehouse.engine, LEAD_CONVERSION.tables), NOW)
    weak = ModelSpec(spec.name, spec.label, spec.id_column, (), ("received_weekday",))
    logged = log_trained(store, train(weak, frame), {"purpose": "test: weak model"})
    name_challenger(store, spec.name, logged.version, [])  # as if it had passed its checks
    return logged


def test_training_registers_a_version_with_metrics_plots_and_signature(instance, history, neuroweaver):
    result = train_lead_model(instance, history, neuroweaver)
    assert result.success
    metadata = result.asset_materializations_for_node("ml__lead_conversion")[0].metadata
    assert metadata["model_version"].value == "1"
    assert metadata["roc_auc"].value > 0.7
    assert metadata["labelled_outcomes"].value > 5000
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"holdout_auc_above_floor": True, "calibration_error_within_limit": True}

    store = neuroweaver.store
    client = store.client()
    run = client.get_run(metadata["mlflow_run_id"].value)
    assert {"holdout_roc_auc", "holdout_pr_auc", "holdout_brier", "holdout_calibration_error"} <= set(
        run.data.metrics
    )
    plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert plots == {
        "plots/roc.png",
        "plots/calibration.png",
        "plots/feature_importance.png",
        "plots/learning_curve.png",
    }
    # The learning curve: one AUC per subset size, the last fitted on the whole training side.
    curve = client.get_metric_history(run.info.run_id, "learning_curve_roc_auc")
    steps = sorted(m.step for m in curve)
    assert len(steps) >= 4 and steps[0] == 250 and steps[-1] == metadata["training_rows"].value
    assert "| labelled rows | holdout ROC AUC |" in metadata["learning_curve"].value
    version = client.get_model_version("lead_conversion", "1")
    assert {"champion", "challenger"} <= set(version.aliases)  # the first version has nobody to beat
    import mlflow

    info = mlflow.models.get_model_info("models:/lead_conversion@champion")
    assert info.signature is not None and "source" in info.signature.inputs.input_names()


def test_a_worse_challenger_is_not_promoted_and_a_better_one_is(instance, history, neuroweaver):
    store = neuroweaver.store
    register_weak_challenger(store, history)
    assert lifecycle.promote(
        store, "lead_conversion", neuroweaver.promotion_margin("roc_auc")
    ).decision.promote
    assert alias_version(store, "lead_conversion", CHAMPION).version == "1"

    better = train_lead_model(instance, history, neuroweaver)  # version 2, every feature
    promoted = better.asset_materializations_for_node("ml__lead_conversion_champion")[0].metadata
    assert promoted["promoted"].value is True and promoted["champion_version"].value == "2"

    register_weak_challenger(store, history)  # version 3
    kept = dg.materialize(
        [ASSETS[dg.AssetKey(["ml", "lead_conversion_champion"])]],
        resources={"neuroweaver": neuroweaver},
        instance=instance,
    )
    decision = kept.asset_materializations_for_node("ml__lead_conversion_champion")[0].metadata
    assert decision["promoted"].value is False
    assert "the champion stays" in decision["reason"].value
    assert alias_version(store, "lead_conversion", CHAMPION).version == "2"
    assert alias_version(store, "lead_conversion", CHALLENGER).version == "3"


def test_a_failing_blocking_check_keeps_the_version_from_champion(instance, history, neuroweaver):
    strict = NeuroWeaver(tracking_uri=neuroweaver.tracking_uri, min_holdout_auc=0.99)
    result = train_lead_model(instance, history, strict, raise_on_error=False)
    assert not result.success
    # Registered, but no alias: lead_scores sends a share of leads to @challenger.
    assert alias_version(strict.store, "lead_conversion", CHALLENGER) is None
    assert alias_version(strict.store, "lead_conversion", CHAMPION) is None
    version = strict.store.client().get_model_version("lead_conversion", "1")
    assert version.aliases == [] and version.tags[CHECKS_TAG] == "holdout_auc_above_floor"
    assert not result.asset_materializations_for_node("ml__lead_conversion_champion")


def test_too_few_outcomes_stop_training_and_register_nothing(instance, new_warehouse, neuroweaver):
    warehouse = new_warehouse()
    dms = RooftopDms(ROOFTOP, SimulatorSettings(now=NOW))
    start = NOW - dt.timedelta(days=40)
    load_history(warehouse, dms, ROOFTOP, start, NOW, NOW.date())
    result = train_lead_model(instance, warehouse, neuroweaver, raise_on_error=False)
    assert not result.success
    failure = result.failure_data_for_node("ml__lead_conversion").error.message
    assert "nothing registered" in failure and "labelled rows" in failure and "at least 500" in failure
    assert neuroweaver.store.client().search_registered_models() == []


def score(instance, warehouse, neuroweaver, **kwargs):
    return dg.materialize(
        [lead_scores],
        resources={"warehouse": warehouse, "neuroweaver": neuroweaver},
        partition_key=partition_key(ROOFTOP, SCORED_DAY),
        instance=instance,
        **kwargs,
    )


def scored_rows(warehouse: Warehouse) -> list:
    with warehouse.engine.connect() as conn:
        return conn.execute(select(lead_scores_table)).all()


def test_scores_carry_the_version_and_variant_chosen_by_lead_id(instance, history, neuroweaver):
    store = neuroweaver.store
    train_lead_model(instance, history, neuroweaver)  # version 1: champion
    register_weak_challenger(store, history)  # version 2: challenger
    result = score(instance, history, neuroweaver)
    assert result.success
    partition_leads = set(history.partition_source_ids("leads", ROOFTOP, SCORED_DAY))
    rows = scored_rows(history)
    assert {r.lead_id for r in rows} == partition_leads and len(rows) == len(partition_leads)
    for row in rows:
        assert row.variant == variant(row.lead_id, 0.5)
        assert row.model_version == {"champion": "1", "challenger": "2"}[row.variant]
        assert 0 < row.score < 1
    assert {r.variant for r in rows} == {"champion", "challenger"}

    assert score(instance, history, neuroweaver).success  # a rerun rewrites the same rows
    assert len(scored_rows(history)) == len(rows)


def unscored(result) -> tuple[str, dict[str, bool]]:
    (event,) = result.asset_materializations_for_node("lead_scores")
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    return event.metadata["unscored_reason"].value, checks


def test_scoring_without_a_champion_writes_nothing_and_says_why(instance, history, neuroweaver):
    result = score(instance, history, neuroweaver)
    reason, _ = unscored(result)
    assert result.success and reason == "no lead_conversion champion yet"  # the leads go on unscored
    assert scored_rows(history) == []


def test_scoring_with_a_broken_champion_writes_nothing_and_fails_its_checks(
    instance, history, neuroweaver, tmp_path
):
    train_lead_model(instance, history, neuroweaver)
    shutil.rmtree(tmp_path / "mlartifacts" / "lead_conversion" / "models")
    reason, checks = unscored(score(instance, history, neuroweaver))
    assert reason == "lead_conversion version 1 (champion) cannot be loaded"
    assert checks == {"feature_drift_psi": False, "observed_vs_predicted_by_decile": False}
    assert scored_rows(history) == []


def test_the_champion_s_version_and_holdout_metrics_reach_the_metrics_endpoint(history, neuroweaver):
    from ml.registry import set_alias
    from tests.integration.test_metrics import scrape, value

    store = neuroweaver.store
    found = scrape(history, store=store)
    assert value(found, "auterity_metrics_source_up", source="models") == 1
    assert value(found, "auterity_model_champion_version", model="lead_conversion") is None  # none yet
    logged = register_weak_challenger(store, history)
    set_alias(store, "lead_conversion", CHAMPION, logged.version)
    found = scrape(history, store=store)
    assert value(found, "auterity_model_champion_version", model="lead_conversion") == int(logged.version)
    auc = store.client().get_run(logged.run_id).data.metrics["holdout_roc_auc"]
    assert value(found, "auterity_model_metric", model="lead_conversion", metric="holdout_roc_auc") == auc
