"""A model's life in the registry: trained and registered as challenger, then promoted or not."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from ml.evaluation import Scores, score
from ml.learning_curve import learning_curve
from ml.models import TabularModel
from ml.promotion import Decision, decide
from ml.registry import (
    CHALLENGER,
    CHAMPION,
    LoggedVersion,
    ModelNotServable,
    Store,
    alias_version,
    load_alias,
    log_trained,
    probabilities,
    run_frame,
    set_alias,
)
from ml.training import TrainedModel, train


def train_challenger(
    store: Store,
    model: TabularModel,
    tables: dict[str, pd.DataFrame],
    as_of: dt.datetime,
    tags: dict[str, str],
) -> tuple[TrainedModel, LoggedVersion]:
    """Train on the warehouse frames and register a new version, with no alias yet (TrainingSetError first):
    it becomes `challenger` only once its checks pass (`registry.name_challenger`). Its learning
    curve is logged beside it."""
    spec, frame = model.build(tables, as_of)
    trained = train(spec, frame)
    trained.curve = learning_curve(spec, frame)
    return trained, log_trained(store, trained, {**tags, "as_of": as_of.isoformat()})


@dataclass(frozen=True)
class Promotion:
    decision: Decision
    challenger_version: str
    champion_version: str | None  # the champion before the decision
    challenger_scores: Scores
    champion_scores: Scores | None


def promote(store: Store, name: str, margin: float, metric: str = "roc_auc") -> Promotion:
    """Compare `challenger` with `champion` on the challenger's holdout and move `champion` if it wins."""
    challenger, challenger_model = load_alias(store, name, CHALLENGER)
    holdout = run_frame(store, challenger.run_id, "holdout")
    label = store.client().get_run(challenger.run_id).data.params["label"]
    challenger_scores = score(holdout[label], probabilities(challenger_model, holdout))
    champion = alias_version(store, name, CHAMPION)
    champion_version = champion.version if champion else None
    champion_scores, broken = None, None
    if champion is not None and champion.version != challenger.version:
        try:
            _, champion_model = load_alias(store, name, CHAMPION)
            champion_scores = score(holdout[label], probabilities(champion_model, holdout))
        except ModelNotServable as exc:
            broken = str(exc)
    if champion_version == challenger.version:
        decision = Decision(False, f"version {challenger.version} is already the champion")
    else:
        decision = decide(
            getattr(challenger_scores, metric),
            getattr(champion_scores, metric) if champion_scores else None,
            margin,
            metric,
        )
        if broken:
            decision = Decision(True, f"the champion cannot be used ({broken}); {decision.reason}")
    if decision.promote:
        set_alias(store, name, CHAMPION, challenger.version)
    return Promotion(decision, challenger.version, champion_version, challenger_scores, champion_scores)
