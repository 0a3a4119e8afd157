"""The complaint classifier behind the `local` provider, tracked, registered and promoted in MLflow."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ml.evaluation import close_figures
from ml.promotion import Decision, decide
from ml.registry import (
    CHALLENGER,
    CHAMPION,
    ModelNotServable,
    Store,
    alias_version,
    load_alias,
    name_challenger,
    set_alias,
)
from ml.text import complaints

COMPLAINT_MODEL = "neuroweaver_complaint_classifier"
# What the pipeline holds besides scikit-learn's usual types (skops loads nothing else).
SKOPS_TRUSTED_TYPES = ["ml.text.complaints._prep", "ml.text.complaints._sentence_vectors"]


def holdout() -> tuple[list[complaints.Labelled], list[complaints.Labelled]]:
    train_rows, test_rows = complaints.holdout_split(complaints.load_nhtsa())
    return train_rows + complaints.load_service_requests(), test_rows


FINGERPRINT_TAG = "auterity.fingerprint"  # on a model version: what its training data and code hash to


def fingerprint(train_rows: list[complaints.Labelled], test_rows: list[complaints.Labelled]) -> str:
    """The training data, the holdout and the code that trains: a version is new only when one changes."""
    import hashlib

    digest = hashlib.sha256(complaints.MODEL_VERSION.encode())
    for path in complaints.trained_by():
        digest.update(path.read_bytes())
    for side in (train_rows, test_rows):
        for row in side:
            digest.update(f"{row.category}\t{row.text}\n".encode())
        digest.update(b"\f")
    return digest.hexdigest()


@dataclass(frozen=True)
class Registered:
    run_id: str
    version: str
    scores: complaints.Scores
    baseline: complaints.Scores
    unsure: complaints.Unsure
    new: bool  # False: the same data and code were registered before, and that version stands


def train_challenger(store: Store, tags: dict[str, str]) -> Registered:
    """Train without the NHTSA holdout and register a version, unless one was trained on the same data
    and code; it is `challenger` only if it beats the majority baseline."""
    import mlflow
    from mlflow.models import infer_signature

    train_rows, test_rows = holdout()
    baseline = complaints.majority_baseline(train_rows, test_rows)
    current = fingerprint(train_rows, test_rows)
    known = _version_with(store, current)
    if known is not None:
        metrics = store.client().get_run(known.run_id).data.metrics
        scores = complaints.Scores(metrics["holdout_accuracy"], metrics["holdout_macro_f1"], len(test_rows))
        unsure = complaints.Unsure(metrics["holdout_unsure_share"], metrics["holdout_accuracy_when_sure"])
        return Registered(known.run_id, str(known.version), scores, baseline, unsure, new=False)
    model = complaints.train(train_rows)
    scores = complaints.evaluate(model, test_rows)
    unsure = complaints.unsure(model, test_rows)
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
                "holdout_unsure_share": unsure.share,
                "holdout_accuracy_when_sure": unsure.accuracy_when_sure,
            }
        )
        mlflow.set_tag("holdout_predicted_only", ", ".join(scores.predicted_only) or "none")
        figures = _figures(model, test_rows)
        for name, figure in figures.items():
            mlflow.log_figure(figure, f"plots/{name}.png")
        close_figures(figures.values())
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name=COMPLAINT_MODEL,
            signature=infer_signature(texts["text"].tolist(), model.predict(texts["text"].tolist())),
            input_example=texts["text"].tolist(),
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
        )
    version = str(info.registered_model_version)
    store.client().set_model_version_tag(COMPLAINT_MODEL, version, FINGERPRINT_TAG, current)
    failed = [] if scores.macro_f1 > baseline.macro_f1 else ["beats_majority_baseline"]
    name_challenger(store, COMPLAINT_MODEL, version, failed)
    return Registered(run.info.run_id, version, scores, baseline, unsure, new=True)


def _version_with(store: Store, digest: str):
    for found in store.client().search_model_versions(f"name='{COMPLAINT_MODEL}'"):
        if found.tags.get(FINGERPRINT_TAG) == digest:
            return found
    return None


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


def _figures(model, rows: list[complaints.Labelled]) -> dict:
    """F1 by gold category, and the confusion matrix, on the holdout."""
    from sklearn.metrics import f1_score

    from ml.evaluation import importance_figure
    from ml.text.generalisation import confusion_figure

    truth = [r.category for r in rows]
    predicted = [str(p) for p in model.predict([r.text for r in rows])]
    labels = sorted(set(truth))
    f1 = pd.Series(f1_score(truth, predicted, labels=labels, average=None, zero_division=0), index=labels)
    by_category = importance_figure(f1, "complaint classifier: F1 by category on the NHTSA holdout")
    by_category.axes[0].set_xlabel("F1")
    return {
        "f1_by_category": by_category,
        "confusion_matrix": confusion_figure(truth, predicted, "complaint classifier on the NHTSA holdout"),
    }
