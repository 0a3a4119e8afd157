"""NeuroWeaver's champions, from the MLflow registry: which version serves, and its holdout metrics."""

from __future__ import annotations

from auterity_pipelines.metrics.families import Family


def model_names() -> list[str]:
    from ml.models import MODELS
    from ml.text.registry import COMPLAINT_MODEL

    return [*MODELS, COMPLAINT_MODEL]


def collect(store) -> list:
    from ml.registry import alias_version

    versions = Family(
        "gauge", "auterity_model_champion_version", "The registered version each model serves.", ["model"]
    )
    metrics = Family(
        "gauge", "auterity_model_metric", "The champion's metrics on its holdout.", ["model", "metric"]
    )
    for name in model_names():
        champion = alias_version(store, name, "champion")
        if champion is None:
            continue
        versions.add([name], int(champion.version))
        for metric, value in store.client().get_run(champion.run_id).data.metrics.items():
            metrics.add([name, metric], value)
    return [versions.family(), metrics.family()]
