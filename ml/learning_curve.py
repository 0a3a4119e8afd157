"""How a tabular model's holdout ROC AUC grows with the labelled records it learns from.

The model is fitted again on nested random subsets of its training side (each subset holds the
smaller ones), with its own settings, and every fit is scored on the same holdout the
registered version is scored on. With `repeats` > 1 the subsets are drawn again from other
shuffles and each point is their mean, with their spread. A curve still rising at its right end says more labelled
history would pay; a flat one says it would not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.training import DEFAULT_PARAMS, ModelSpec, build_pipeline, check_training_set, in_holdout, model_input

FIRST_SIZE = 250  # fewer labelled rows than this leave early stopping too few to stop on
POINTS = 6


@dataclass(frozen=True)
class CurvePoint:
    rows: int  # labelled records the fit learnt from
    roc_auc: float  # on the holdout; the mean over repeats
    spread: float = 0.0  # the standard deviation over repeats


def sizes(available: int, first: int = FIRST_SIZE, points: int = POINTS) -> list[int]:
    """Geometrically spaced subset sizes from `first` to every available row."""
    if available <= first:
        return [available]
    return sorted({round(float(n)) for n in np.geomspace(first, available, points)})


def learning_curve(spec: ModelSpec, frame: pd.DataFrame, repeats: int = 1) -> list[CurvePoint]:
    """Holdout ROC AUC of `spec`'s model fitted on growing subsets of its training rows."""
    from sklearn.metrics import roc_auc_score

    rows = check_training_set(frame, spec)
    side = in_holdout(rows[spec.id_column], spec.holdout_share)
    training, holdout = rows[~side], rows[side]
    params = {**DEFAULT_PARAMS, **spec.params}
    truth, holdout_input = holdout[spec.label].astype(int), model_input(holdout, spec)
    found: dict[int, list[float]] = {}
    for seed in range(repeats):
        shuffled = training.sample(frac=1.0, random_state=seed)
        for n in sizes(len(shuffled)):
            subset = shuffled.head(n)
            if subset[spec.label].nunique() < 2:
                continue  # one outcome only: nothing to learn to rank yet
            pipeline = build_pipeline(spec, params)
            pipeline.fit(model_input(subset, spec), subset[spec.label].astype(int))
            found.setdefault(n, []).append(roc_auc_score(truth, pipeline.predict_proba(holdout_input)[:, 1]))
    return [CurvePoint(n, float(np.mean(a)), float(np.std(a))) for n, a in sorted(found.items())]


def curve_figure(points: list[CurvePoint], title: str, ceiling: float | None = None):
    """ROC AUC against labelled records (log scale), with the ceiling as a dashed line where known."""
    from ml.evaluation import axes

    fig, ax = axes()
    ax.errorbar(
        [p.rows for p in points],
        [p.roc_auc for p in points],
        yerr=[p.spread for p in points],
        marker="o",
        capsize=3,
        label="holdout ROC AUC",
    )
    if ceiling is not None:
        ax.axhline(ceiling, linestyle="--", color="grey", label=f"ceiling: true probability ({ceiling:.3f})")
    ax.set_xscale("log")
    ax.set(xlabel="labelled records trained on", ylabel="holdout ROC AUC", title=title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig
