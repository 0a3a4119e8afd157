"""The complaint classifier behind the `local` provider, tracked, registered and promoted in MLflow."""

from __future__ import annotations

import pandas as pd

from ml.evaluation import close_figures
from ml.promotion import Decision, decide
from ml.registry import CHALLENGER, CHAMPION, ModelNotServable, Store, alias_version, load_alias, set_alias
from ml.text import complaints

COMPLAINT_MODEL = "neuroweaver_complaint_classifier"
# What the pipeline holds besides scikit-learn's usual types (skops loads nothing else).
SKOPS_TRUSTED_TYPES = ["ml.text.complaints._prep"]


def holdout() -> tuple[list[complaints.Labelled], list[complaints.Labelled]]:
    train_rows, test_rows = complaints.holdout_split(complaints.load_nhtsa())
    return train_rows + complaints.load_service_requests(), test_rows


def train_challenger(store: Store, tags: dict[str, str]) -> tuple[str, str, complaints.Scores]:
    """Train without the NHTSA holdout, log and register it as `challenger`: (run id, version, scores)."""
    import mlflow
    from mlflow.models import infer_signature

    train_rows, test_rows = holdout()
    model = complaints.train(train_rows)
    scores = complaints.evaluate(model, test_rows)
    baseline = complaints.majority_baseline(train_rows, test_rows)
    experiment = store.experiment_id(COMPLAINT_MODEL)
    texts = pd.DataFrame({"text": [r.text for r in test_rows[:5]]})
    with mlflow.start_run(experiment_id=experiment, tags=tags) as run:
        mlflow.log_params({"model": complaints.MODEL_VERSION, "training_rows": len(train_rows)})
        mlflow.log_metrics(
            {
                "holdout_accuracy": scores.accuracy,
                "holdout_macro_f1": scores.macro_f1,
                "baseline_accuracy": baseline.accuracy,
                "baseline_macro_f1": baseline.macro_f1,
            }
        )
        figure = _per_category_figure(model, test_rows)
        mlflow.log_figure(figure, "plots/f1_by_category.png")
        close_figures([figure])
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name=COMPLAINT_MODEL,
            signature=infer_signature(texts["text"].tolist(), model.predict(texts["text"].tolist())),
            input_example=texts["text"].tolist(),
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
        )
    version = str(info.registered_model_version)
    set_alias(store, COMPLAINT_MODEL, CHALLENGER, version)
    return run.info.run_id, version, scores


def promote(store: Store, margin: float) -> tuple[Decision, str | None]:
    """Challenger against champion by macro-F1 on the NHTSA holdout; returns the decision and the champion."""
    challenger = alias_version(store, COMPLAINT_MODEL, CHALLENGER)
    if challenger is None:
        raise ModelNotServable(f"model {COMPLAINT_MODEL!r} has no challenger to promote")
    champion = alias_version(store, COMPLAINT_MODEL, CHAMPION)
    if champion is not None and champion.version == challenger.version:
        return Decision(False, f"version {challenger.version} is already the champion"), champion.version
    _, test_rows = holdout()
    challenger_f1 = complaints.evaluate(load(store, CHALLENGER), test_rows).macro_f1
    champion_f1 = complaints.evaluate(load(store, CHAMPION), test_rows).macro_f1 if champion else None
    decision = decide(challenger_f1, champion_f1, margin, "macro_f1")
    if decision.promote:
        set_alias(store, COMPLAINT_MODEL, CHAMPION, challenger.version)
        return decision, challenger.version
    return decision, champion.version if champion else None


def load(store: Store, alias: str = CHAMPION):
    """The scikit-learn classifier behind an alias; ModelNotServable when there is none or it is broken."""
    return load_alias(store, COMPLAINT_MODEL, alias, flavor="sklearn")[1]


def _per_category_figure(model, rows: list[complaints.Labelled]):
    from sklearn.metrics import f1_score

    from ml.evaluation import importance_figure

    truth = [r.category for r in rows]
    predicted = model.predict([r.text for r in rows])
    labels = sorted(set(truth))
    f1 = pd.Series(f1_score(truth, predicted, labels=labels, average=None), index=labels)
    figure = importance_figure(f1, "complaint classifier: F1 by category on the NHTSA holdout")
    figure.axes[0].set_xlabel("F1")
    return figure
