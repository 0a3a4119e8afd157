"""How the complaint classifier does on makes it was not trained on: leave-make-group-out.

The corpus is 76% Porsche; a random split scores the corpus more than the task. Here each make
group is held out in turn, the model is trained on every other group, and the held-out group is
scored. Macro-F1 is over the gold categories of what is scored (`complaints.scores`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ml.text.complaints import Labelled, Scores, scores

# Makes grouped by maker, so a held-out group shares no platform with what trained.
MAKE_GROUPS = {
    "PORSCHE": "porsche",
    "HYUNDAI": "hyundai_kia", "KIA": "hyundai_kia", "GENESIS": "hyundai_kia",
    "FORD": "ford", "LINCOLN": "ford", "MERCURY": "ford",
    "CHEVROLET": "gm", "PONTIAC": "gm", "GMC": "gm", "OLDSMOBILE": "gm", "SATURN": "gm", "GEO": "gm",
    "CADILLAC": "gm", "BUICK": "gm",
    "DODGE": "chrysler", "JEEP": "chrysler", "PLYMOUTH": "chrysler", "EAGLE": "chrysler",
    "CHRYSLER": "chrysler", "RAM": "chrysler",
}  # fmt: skip
OTHER_MAKES = "other_makes"


def make_group(make: str) -> str:
    return MAKE_GROUPS.get(make.upper(), OTHER_MAKES)


@dataclass
class Held:
    """What leave-make-group-out found: per group, pooled, and the predictions behind them."""

    groups: dict[str, Scores] = field(default_factory=dict)
    truth: list[str] = field(default_factory=list)
    predicted: list[str] = field(default_factory=list)
    group_of: list[str] = field(default_factory=list)
    confidence: list[float] = field(default_factory=list)  # the top category's probability

    def pooled(self, without: Sequence[str] = ()) -> Scores:
        kept = [i for i, g in enumerate(self.group_of) if g not in without]
        return scores([self.truth[i] for i in kept], [self.predicted[i] for i in kept])

    def per_category(self, without: Sequence[str] = ()) -> dict[str, float]:
        from sklearn.metrics import f1_score

        kept = [i for i, g in enumerate(self.group_of) if g not in without]
        truth, predicted = [self.truth[i] for i in kept], [self.predicted[i] for i in kept]
        gold = sorted(set(truth))
        return dict(zip(gold, f1_score(truth, predicted, labels=gold, average=None, zero_division=0)))


def leave_make_group_out(
    train: Callable[[list[Labelled]], object], rows: list[Labelled], always: list[Labelled] = ()
) -> Held:
    """Train on every make group but one (plus `always`, rows with no make), score that one; all groups."""
    held = Held()
    for group in sorted({make_group(r.make) for r in rows}):
        test = [r for r in rows if make_group(r.make) == group]
        model = train([r for r in rows if make_group(r.make) != group] + list(always))
        texts = [r.text for r in test]
        predicted = [str(p) for p in model.predict(texts)]
        held.groups[group] = scores([r.category for r in test], predicted)
        held.truth += [r.category for r in test]
        held.predicted += predicted
        held.group_of += [group] * len(test)
        if hasattr(model, "predict_proba"):
            held.confidence += list(np.max(model.predict_proba(texts), axis=1))
    return held


def baseline(rows: list[Labelled]):
    """The class-balanced TF-IDF + logistic-regression baseline the classifier must beat."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(
        TfidfVectorizer(sublinear_tf=True), LogisticRegression(class_weight="balanced", max_iter=2000)
    )
    model.fit([r.text for r in rows], [r.category for r in rows])
    return model


def calibration_error(truth: Sequence[str], predicted: Sequence[str], confidence: Sequence[float]) -> float:
    """Expected calibration error of the top category's probability: how far, by decile of
    confidence, the model's stated certainty is from how often it is right."""
    from ml.evaluation import expected_calibration_error

    right = np.array([t == p for t, p in zip(truth, predicted, strict=True)], dtype=float)
    return expected_calibration_error(right, np.asarray(confidence, dtype=float))


def confusion_figure(truth: Sequence[str], predicted: Sequence[str], title: str):
    """The confusion matrix as a picture: gold categories down, predicted across."""
    from sklearn.metrics import ConfusionMatrixDisplay

    from ml.evaluation import axes

    labels = sorted(set(truth) | set(predicted))
    fig, ax = axes()
    fig.set_size_inches(8, 7)
    ConfusionMatrixDisplay.from_predictions(
        truth, predicted, labels=labels, ax=ax, xticks_rotation=60, colorbar=False
    )
    ax.set_title(title)
    fig.tight_layout()
    return fig
