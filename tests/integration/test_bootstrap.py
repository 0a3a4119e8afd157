"""The demo's first start: history months requested once, then one training run once they are all in."""

import dagster as dg
import pytest

from assets.models import champion_key
from auterity_pipelines.definitions import defs
from sensors.bootstrap import BOOTSTRAP_MONTHS, BOOTSTRAP_TAG, demo_bootstrap


@pytest.fixture
def demo(monkeypatch):
    monkeypatch.delenv("AUTERITY_FLEET", raising=False)  # the bundled demo fleet


def record_runs(instance, requests, status):
    job = defs.resolve_job_def("dms_history_job")
    for request in requests:
        instance.create_run_for_job(job_def=job, tags=request.tags, status=status)


def test_the_demo_loads_history_then_trains_its_first_lead_model_once(demo, instance):
    first = demo_bootstrap(dg.build_sensor_context(instance=instance))
    requests = first.run_requests
    # The two REST rooftops, the months before the daily window; the extract rooftop has no history to load.
    assert len(requests) == 2 * BOOTSTRAP_MONTHS
    assert {r.partition_key.keys_by_dimension["dealership"] for r in requests} == {
        "lakeside-honda",
        "northgate-ford",
    }
    assert len({r.run_key for r in requests}) == len(requests)
    assert all(r.job_name == "dms_history_job" and r.tags[BOOTSTRAP_TAG] == "history" for r in requests)
    assert all("auterity/dms-endpoint" in r.tags for r in requests)  # the DMS concurrency limits apply

    record_runs(instance, requests[:3], dg.DagsterRunStatus.STARTED)
    record_runs(instance, requests[3:], dg.DagsterRunStatus.SUCCESS)
    waiting = demo_bootstrap(dg.build_sensor_context(instance=instance))
    assert isinstance(waiting, dg.SkipReason) and waiting.skip_message == "13 of 16 history months loaded"

    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        instance.report_run_failed(record.dagster_run)  # a month that failed does not stop the training
    (train,) = demo_bootstrap(dg.build_sensor_context(instance=instance)).run_requests
    assert train.job_name == "model_training_job" and train.run_key == "bootstrap:train"
    assert {k.to_user_string() for k in train.asset_selection} == {
        "ml/lead_conversion",
        "ml/lead_conversion_champion",
    }

    instance.report_runless_asset_event(
        dg.AssetMaterialization(champion_key("lead_conversion"), metadata={"champion_version": "1"})
    )
    assert (
        demo_bootstrap(dg.build_sensor_context(instance=instance)).skip_message
        == "lead_conversion has a champion"
    )


def test_a_real_fleet_is_never_bootstrapped(instance, tmp_path, monkeypatch):
    from auterity_pipelines.settings import DEMO_FLEET

    copy = tmp_path / "fleet.yaml"
    copy.write_text(DEMO_FLEET.read_text())  # even a copy of the demo fleet is somebody's real fleet
    monkeypatch.setenv("AUTERITY_FLEET", str(copy))
    result = demo_bootstrap(dg.build_sensor_context(instance=instance))
    assert isinstance(result, dg.SkipReason) and "only on the bundled demo fleet" in result.skip_message
