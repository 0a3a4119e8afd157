"""The complaint classifier behind the local provider: registered like the other models, served as champion."""

import json
import os
import select
import subprocess
import sys
from pathlib import Path

import dagster as dg
import httpx
import pytest

from assets.models import champion_key, model_assets, model_key
from ml.registry import CHALLENGER, CHAMPION, Store, alias_version
from ml.text import complaints
from ml.text.registry import COMPLAINT_MODEL
from resources.mlflow import NeuroWeaver
from tests.conftest import free_port

ASSETS = [
    a
    for a in model_assets
    if a.key in (model_key("complaint_classifier"), champion_key("complaint_classifier"))
]


def test_the_complaint_classifier_is_registered_once_per_data_and_code_and_a_tie_keeps_the_champion(
    instance, tmp_path, monkeypatch
):
    neuroweaver = NeuroWeaver(tracking_uri=Store.default(tmp_path).tracking_uri)

    def train():
        result = dg.materialize(ASSETS, resources={"neuroweaver": neuroweaver}, instance=instance)
        trained = result.asset_materializations_for_node("ml__complaint_classifier")[0].metadata
        decision = result.asset_materializations_for_node("ml__complaint_classifier_champion")[0].metadata
        return trained, decision

    trained, _ = train()
    assert trained["macro_f1"].value > 0.5 and trained["model_version"].value == "1"
    assert trained["registered_new_version"].value is True
    assert alias_version(neuroweaver.store, COMPLAINT_MODEL, CHAMPION).version == "1"
    client = neuroweaver.store.client()
    run_id = trained["mlflow_run_id"].value
    plots = {a.path for a in client.list_artifacts(run_id, "plots")}
    assert plots == {"plots/f1_by_category.png", "plots/confusion_matrix.png"}
    assert client.get_run(run_id).data.tags["holdout_predicted_only"]  # "none", or the categories named
    metrics = client.get_run(run_id).data.metrics
    assert metrics["holdout_unsure_share"] == pytest.approx(trained["unsure_share"].value)
    assert trained["unsure_share"].value < 0.5
    # Saying "other" on the least certain rows leaves the rows it is likelier to get right.
    assert trained["accuracy_when_sure"].value >= trained["accuracy"].value

    again, decision = train()  # the same data and code: nothing new to register
    assert again["registered_new_version"].value is False and again["model_version"].value == "1"
    assert "already the champion" in decision["reason"].value
    assert len(neuroweaver.store.client().search_model_versions(f"name='{COMPLAINT_MODEL}'")) == 1

    rows = complaints.load_service_requests()
    monkeypatch.setattr(complaints, "load_service_requests", lambda: rows[:-1])  # the data changed
    changed, decision = train()
    assert changed["registered_new_version"].value is True and changed["model_version"].value == "2"
    assert decision["promoted"].value is False and "the champion stays" in decision["reason"].value
    assert alias_version(neuroweaver.store, COMPLAINT_MODEL, CHALLENGER).version == "2"
    assert alias_version(neuroweaver.store, COMPLAINT_MODEL, CHAMPION).version == "1"


def test_neuroweaver_serve_answers_with_the_registered_champion(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["AUTERITY_HOME"] = str(tmp_path)
    port = free_port()
    command = [str(Path(sys.executable).with_name("auterity")), "neuroweaver", "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([server.stdout], [], [], 240)
        assert ready, "the endpoint did not start"
        banner = server.stdout.readline()
        # An empty store gets a trained and registered champion first, and that is what serves.
        assert "complaint classifier version 1, champion" in banner, banner
        assert alias_version(Store.default(tmp_path), COMPLAINT_MODEL, CHAMPION).version == "1"
        line = {"complaint": "Grinding noise from front wheels when braking.", "cause": "", "correction": ""}
        for _ in range(50):
            try:
                answer = httpx.post(
                    f"http://127.0.0.1:{port}/v1/chat/completions",
                    json={
                        "model": "neuroweaver-repair-order-enrichment",
                        "messages": [{"role": "user", "content": json.dumps(line)}],
                    },
                    timeout=10,
                )
                break
            except httpx.ConnectError:
                select.select([], [], [], 0.2)
        result = json.loads(answer.json()["choices"][0]["message"]["content"])
        assert result["category"] == "brakes"
    finally:
        server.terminate()
        server.wait(timeout=30)
