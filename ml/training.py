"""Training a probability model on a feature frame: checks first, a stable holdout, then a fitted pipeline."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ml.evaluation import Scores, score


class TrainingSetError(ValueError):
    """The training set cannot make a trustworthy model; nothing should be registered."""


@dataclass(frozen=True)
class ModelSpec:
    name: str  # the registered model's name
    label: str
    id_column: str  # what the holdout split hashes, so a record stays on one side forever
    categorical: tuple[str, ...]
    numeric: tuple[str, ...]
    min_rows: int = 500
    max_null_share: float = 0.5
    holdout_share: float = 0.2
    params: dict = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return [*self.categorical, *self.numeric]


DEFAULT_PARAMS = {
    "max_iter": 300,
    "learning_rate": 0.06,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
    "early_stopping": True,
    "validation_fraction": 0.1,
    "n_iter_no_change": 15,
    "random_state": 0,
}


@dataclass
class TrainedModel:
    spec: ModelSpec
    pipeline: object
    train: pd.DataFrame
    holdout: pd.DataFrame
    scores: Scores
    params: dict
    importances: pd.Series | None = None
    curve: list | None = None  # ml.learning_curve.CurvePoint: holdout AUC by labelled rows

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.pipeline.predict_proba(model_input(frame, self.spec))[:, 1]


def model_input(frame: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """The features as the model and its MLflow signature take them: categories as text, numbers as floats."""
    columns = {name: frame[name].fillna("unknown").astype(str) for name in spec.categorical}
    columns |= {name: pd.to_numeric(frame[name]).astype("float64") for name in spec.numeric}
    return pd.DataFrame(columns, index=frame.index)


def labelled(frame: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    return frame[frame[spec.label].notna()]


def check_training_set(frame: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """The labelled rows, or TrainingSetError saying why they cannot train `spec.name`."""
    rows = labelled(frame, spec)
    if len(rows) < spec.min_rows:
        raise TrainingSetError(
            f"{spec.name}: {len(rows)} labelled rows ({len(frame)} in all); at least {spec.min_rows} are needed"
        )
    classes = rows[spec.label].unique()
    if len(classes) < 2:
        raise TrainingSetError(
            f"{spec.name}: every one of the {len(rows)} labelled rows has {spec.label}={classes[0]:g}; "
            "a model needs both outcomes"
        )
    nulls = rows[spec.features].isna().mean()
    bad = nulls[nulls > spec.max_null_share]
    if len(bad):
        listed = ", ".join(f"{name} ({share:.0%})" for name, share in bad.items())
        raise TrainingSetError(
            f"{spec.name}: features null in more than {spec.max_null_share:.0%} of rows: {listed}"
        )
    return rows


def in_holdout(ids: pd.Series, share: float) -> np.ndarray:
    """A stable split: a record's id decides its side, whatever else is in the set."""
    digests = ids.astype(str).map(lambda i: int(hashlib.blake2b(i.encode(), digest_size=8).hexdigest(), 16))
    return (digests.to_numpy() % 10_000) < share * 10_000


def build_pipeline(spec: ModelSpec, params: dict):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    encode = ColumnTransformer(
        [
            (
                "categories",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan
                ),
                list(spec.categorical),
            )
        ],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    categorical = [True] * len(spec.categorical) + [False] * len(spec.numeric)
    model = HistGradientBoostingClassifier(categorical_features=categorical, **params)
    return Pipeline([("encode", encode), ("model", model)])


def train(spec: ModelSpec, frame: pd.DataFrame, importance_rows: int = 5000) -> TrainedModel:
    """Fit on the training side of the split and score on the holdout; raises TrainingSetError first."""
    rows = check_training_set(frame, spec)
    holdout_mask = in_holdout(rows[spec.id_column], spec.holdout_share)
    train_rows, holdout = rows[~holdout_mask], rows[holdout_mask]
    for side, part in (("training", train_rows), ("holdout", holdout)):
        if part[spec.label].nunique() < 2:
            raise TrainingSetError(f"{spec.name}: the {side} side of the split holds one outcome only")
    params = {**DEFAULT_PARAMS, **spec.params}
    pipeline = build_pipeline(spec, params)
    pipeline.fit(model_input(train_rows, spec), train_rows[spec.label].astype(int))
    trained = TrainedModel(spec, pipeline, train_rows, holdout, Scores(0, 0, 0, 0, 0, 0), params)
    trained.scores = score(holdout[spec.label], trained.predict(holdout))
    trained.importances = permutation_importances(trained, holdout.head(importance_rows))
    return trained


def permutation_importances(trained: TrainedModel, rows: pd.DataFrame) -> pd.Series:
    from sklearn.inspection import permutation_importance

    result = permutation_importance(
        trained.pipeline,
        model_input(rows, trained.spec),
        rows[trained.spec.label].astype(int),
        scoring="roc_auc",
        n_repeats=3,
        random_state=0,
    )
    return pd.Series(result.importances_mean, index=trained.spec.features)
