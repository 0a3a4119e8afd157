"""What starts NeuroWeaver runs (sensors), and what watches its scores (drift and decile checks)."""

import dagster as dg

from assets.core import CORE_KEYS
from assets.models import champion_key, model_assets, model_key
from assets.scoring import ScoredPartition, decile_result, drift_result, lead_scores
from auterity_pipelines.partitions import partition_key
from ml.features.frames import load_tables
from ml.models import LEAD_CONVERSION, SERVICE_RETENTION
from ml.registry import CHAMPION, alias_version
from resources.mlflow import NeuroWeaver
from sensors.models import retrain_on_new_outcomes, score_new_leads
from tests.integration.conftest import NOW, ROOFTOP, SCORED_DAY

LEAD_ASSETS = [
    a for a in model_assets if a.key in (model_key("lead_conversion"), champion_key("lead_conversion"))
]


def report(instance, key: dg.AssetKey, partition: str | None = None, **metadata) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=partition, metadata=metadata))


def test_scoring_waits_for_a_champion_then_requests_one_run_per_lead_sync(instance):
    days = [SCORED_DAY.replace(day=d) for d in (17, 18, 19)]
    for day in days:
        report(instance, CORE_KEYS["leads"], str(partition_key(ROOFTOP, day)))
    waiting = score_new_leads(dg.build_sensor_context(instance=instance))
    assert isinstance(waiting, dg.SkipReason) and "no champion yet" in waiting.skip_message

    report(instance, champion_key("lead_conversion"), champion_version=None)  # trained, nothing promoted
    assert isinstance(score_new_leads(dg.build_sensor_context(instance=instance)), dg.SkipReason)
    report(instance, champion_key("lead_conversion"), champion_version="1")
    result = score_new_leads(dg.build_sensor_context(instance=instance))
    assert [r.partition_key for r in result.run_requests] == [str(partition_key(ROOFTOP, d)) for d in days]
    assert len({r.run_key for r in result.run_requests}) == 3
    again = score_new_leads(dg.build_sensor_context(instance=instance, cursor=result.cursor))
    assert isinstance(again, dg.SkipReason)

    report(instance, CORE_KEYS["leads"], str(partition_key(ROOFTOP, days[-1])))  # the same day, synced again
    later = score_new_leads(dg.build_sensor_context(instance=instance, cursor=result.cursor))
    assert len(later.run_requests) == 1 and later.run_requests[0].run_key not in {
        r.run_key for r in result.run_requests
    }


def test_leads_sent_unscored_before_the_champion_are_scored_once_it_can_score_them(instance):
    from assets.scoring import LEAD_SCORES, UNSCORED

    before, broken = (str(partition_key(ROOFTOP, SCORED_DAY.replace(day=d))) for d in (18, 19))
    report(instance, LEAD_SCORES, before, **{UNSCORED: "no champion", "champion_version": "none"})
    assert isinstance(score_new_leads(dg.build_sensor_context(instance=instance)), dg.SkipReason)
    report(instance, champion_key("lead_conversion"), champion_version="1")
    # Version 1 cannot be loaded: its own failures are not asked for again and again.
    report(instance, LEAD_SCORES, broken, **{UNSCORED: "cannot be loaded", "champion_version": "1"})
    report(instance, LEAD_SCORES, broken, rows=3, champion_version="1")  # a scoring that worked
    result = score_new_leads(dg.build_sensor_context(instance=instance))
    assert [r.partition_key for r in result.run_requests] == [before]


def test_retraining_is_requested_once_enough_new_outcomes_arrive(instance, history, neuroweaver):
    def evaluate():
        context = dg.build_sensor_context(
            instance=instance, resources={"warehouse": history, "neuroweaver": neuroweaver}
        )
        return retrain_on_new_outcomes(context)

    first = evaluate()
    assert {tuple(r.asset_selection) for r in first.run_requests} == {
        (model_key("lead_conversion"), champion_key("lead_conversion")),
        (model_key("service_retention"), champion_key("service_retention")),
    }
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    leads_now = LEAD_CONVERSION.matured_outcomes(history.engine, now)
    assert f"retrain:lead_conversion:{leads_now}" in {r.run_key for r in first.run_requests}

    report(instance, model_key("lead_conversion"), labelled_outcomes=leads_now - 100)
    report(
        instance,
        model_key("service_retention"),
        labelled_outcomes=SERVICE_RETENTION.matured_outcomes(history.engine, now),
    )
    skipped = evaluate()
    assert isinstance(skipped, dg.SkipReason)
    assert "lead_conversion: 100 new of 500" in skipped.skip_message

    report(instance, model_key("lead_conversion"), labelled_outcomes=leads_now - 600)
    assert [r.run_key for r in evaluate().run_requests] == [f"retrain:lead_conversion:{leads_now}"]


def trained_champion(instance, history, neuroweaver) -> ScoredPartition:
    assert dg.materialize(
        LEAD_ASSETS, resources={"warehouse": history, "neuroweaver": neuroweaver}, instance=instance
    ).success
    champion = alias_version(neuroweaver.store, "lead_conversion", CHAMPION)
    frame = LEAD_CONVERSION.build(load_tables(history.engine, LEAD_CONVERSION.tables), NOW)[1]
    return ScoredPartition(frame, None, champion.version, champion.run_id, None)


def test_the_drift_check_warns_on_shifted_leads_and_not_on_unshifted_ones(instance, history, neuroweaver):
    scored = trained_champion(instance, history, neuroweaver)
    steady = drift_result(neuroweaver, scored, SCORED_DAY)
    assert steady.passed and steady.metadata["recent_leads"].value >= 100
    assert steady.metadata["max_psi"].value < 0.2

    shifted = scored.frame.copy()
    # A broken lead router: answers take hours, and every lead comes from one social campaign.
    shifted["response_minutes"] *= 40
    shifted["source"] = "facebook"
    drifted = drift_result(
        neuroweaver, ScoredPartition(shifted, None, scored.champion, scored.champion_run_id, None), SCORED_DAY
    )
    assert not drifted.passed and drifted.severity == dg.AssetCheckSeverity.WARN
    assert {"response_minutes", "source"} <= set(drifted.metadata["drifted_features"].value.split(", "))


def test_observed_conversion_tracks_the_champion_by_decile_once_outcomes_arrive(
    instance, history, neuroweaver
):
    scored = trained_champion(instance, history, neuroweaver)
    early = decile_result(history, neuroweaver, scored, ROOFTOP)
    assert early.passed and "waiting for" in early.metadata["note"].value

    # Score the months of history (one partition holds them) so that outcomes meet predictions.
    history_day = SCORED_DAY.replace(day=SCORED_DAY.day - 1)
    result = dg.materialize(
        [lead_scores],
        resources={
            "warehouse": history,
            "neuroweaver": NeuroWeaver(tracking_uri=neuroweaver.tracking_uri, challenger_share=0),
        },
        partition_key=partition_key(ROOFTOP, history_day),
        instance=instance,
    )
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    deciles = checks["observed_vs_predicted_by_decile"]
    assert deciles.passed and deciles.metadata["matured_scored_leads"].value > 5000
    assert deciles.metadata["max_gap"].value < 0.1
