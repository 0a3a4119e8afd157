"""How the complaint classifier does on makes it was not trained on: leave-make-group-out.

The corpus is 76% Porsche; a random split scores the corpus more than the task. Here each make
group is held out in turn, the model is trained on every other group, and the held-out group is
scored. Macro-F1 is over the gold categories of what is scored (`complaints.scores`).

NHTSA files some complaints under EQUIPMENT or UNKNOWN OR OTHER (`other` here: 6 of 1,431 in the
corpus): they name no defect the platform categorises, and `other` is also what the classifier
answers when unsure. The figures the target is judged on are over complaints of the eight
defect categories (`defects_only`); the figures with them are printed beside.

One collector in the corpus drew by component (`drawn_by_component`): 138 Hyundai and Kia
complaints, kept only when filed under electrical-like components, where owners file stalls
and shifting faults as electrical. The rest were drawn without regard to component, as the
complaints a dealership sees are; scores over those alone are printed beside (`Held.subset`).

With a few hundred complaints outside Porsche, a pooled figure moves by a few hundredths with the
rows drawn: `resampled_macro_f1` gives the bootstrap spread of a figure, and of its lead over
the baseline on the same rows.

The held-out predictions also fit the temperature that calibrates the classifier's
probabilities (`fit_temperature`), and, fitted on the other groups, measure how well it does
on each group (`cross_fitted_confidence`).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ml.text.complaints import SEED, Labelled, Scores, answer, scores

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
UNFILED = "other"  # NHTSA's EQUIPMENT / UNKNOWN OR OTHER: no defect category
# The corpus's one collector that drew by component: Hyundai and Kia complaints filed under
# electrical-like components only (shared/corpus/nhtsa/SOURCES.txt): 83% electrical by
# construction, the rest engine (speed control). Every other row was drawn without regard to its
# component, as the complaints a dealership sees are.
COMPONENT_FILTERED = ("jayjoo21/vehicle-defect-agent",)


def make_group(make: str) -> str:
    return MAKE_GROUPS.get(make.upper(), OTHER_MAKES)


@dataclass
class Held:
    """What leave-make-group-out found: per group, pooled, and the predictions behind them."""

    groups: dict[str, Scores] = field(default_factory=dict)
    truth: list[str] = field(default_factory=list)
    predicted: list[str] = field(default_factory=list)
    group_of: list[str] = field(default_factory=list)
    distributions: list[dict[str, float]] = field(default_factory=list)  # category -> probability
    sources: list[str] = field(default_factory=list)  # each row's source_id

    @property
    def confidence(self) -> list[float]:
        """The top category's probability, row by row."""
        return [max(d.values()) for d in self.distributions]

    def kept(self, without: Sequence[str] = (), defects_only: bool = False) -> list[int]:
        """Rows not of the `without` groups; with `defects_only`, not filed as `other` either."""
        return [
            i
            for i, g in enumerate(self.group_of)
            if g not in without and not (defects_only and self.truth[i] == UNFILED)
        ]

    def pooled(self, without: Sequence[str] = (), defects_only: bool = False) -> Scores:
        kept = self.kept(without, defects_only)
        return scores([self.truth[i] for i in kept], [self.predicted[i] for i in kept])

    @classmethod
    def scored(
        cls,
        truth: Sequence[str],
        predicted: Sequence[str],
        group_of: Sequence[str],
        distributions: Sequence[dict[str, float]],
        sources: Sequence[str],
    ) -> Held:
        """Rows already answered, scored per group."""
        held = cls(truth=list(truth), predicted=list(predicted), group_of=list(group_of),
                   distributions=list(distributions), sources=list(sources))  # fmt: skip
        held.groups = {group: held.group(group) for group in dict.fromkeys(held.group_of)}
        return held

    def subset(self, keep: Sequence[int]) -> Held:
        """The rows at `keep`, scored per group as a Held of their own."""
        columns = (self.truth, self.predicted, self.group_of, self.distributions, self.sources)
        return Held.scored(*([column[i] for i in keep] if column else [] for column in columns))

    def as_answered(self) -> Held:
        """The same rows answered as the enrichment answers them (`complaints.answer`): `other`
        where the top probability is under UNSURE_BELOW, a miss wherever the complaint names a defect."""
        answers = [answer(p, c) for p, c in zip(self.predicted, self.confidence, strict=True)]
        return Held.scored(self.truth, answers, self.group_of, self.distributions, self.sources)

    def group(self, group: str, defects_only: bool = False) -> Scores:
        return self.pooled([g for g in set(self.group_of) if g != group], defects_only)

    def per_category(self, without: Sequence[str] = (), defects_only: bool = False) -> dict[str, float]:
        from sklearn.metrics import f1_score

        kept = self.kept(without, defects_only)
        truth, predicted = [self.truth[i] for i in kept], [self.predicted[i] for i in kept]
        gold = sorted(set(truth))
        return dict(zip(gold, f1_score(truth, predicted, labels=gold, average=None, zero_division=0)))


def drawn_by_component(provenance: Path) -> frozenset[str]:
    """The source ids of the corpus's rows whose collector kept only some components
    (`shared/corpus/nhtsa/complaints_provenance.csv` names each row's collector)."""
    with open(provenance, newline="", encoding="utf-8") as f:
        return frozenset(row["source_id"] for row in csv.DictReader(f) if row["repo"] in COMPONENT_FILTERED)


def leave_make_group_out(
    train: Callable[[list[Labelled]], object], rows: list[Labelled], always: list[Labelled] = ()
) -> Held:
    """Train on every make group but one (plus `always`, rows with no make), score that one; all groups."""
    truth, predicted, group_of, distributions, sources = [], [], [], [], []
    for group in sorted({make_group(r.make) for r in rows}):
        test = [r for r in rows if make_group(r.make) == group]
        model = train([r for r in rows if make_group(r.make) != group] + list(always))
        texts = [r.text for r in test]
        predicted += [str(p) for p in model.predict(texts)]
        truth += [r.category for r in test]
        group_of += [group] * len(test)
        sources += [r.source for r in test]
        if hasattr(model, "predict_proba"):
            distributions += [
                dict(zip(map(str, model.classes_), row, strict=True)) for row in model.predict_proba(texts)
            ]
    return Held.scored(truth, predicted, group_of, distributions, sources)


def _log_probabilities(distribution: dict[str, float]) -> np.ndarray:
    return np.log(np.clip(np.fromiter(distribution.values(), float), 1e-12, None))


def tempered(distribution: dict[str, float], temperature: float) -> dict[str, float]:
    """Probabilities softened (temperature > 1) or sharpened (< 1): softmax(log p / temperature)."""
    logits = _log_probabilities(distribution) / temperature
    weights = np.exp(logits - logits.max())
    return dict(zip(distribution, weights / weights.sum(), strict=True))


def fit_temperature(truth: Sequence[str], distributions: Sequence[dict[str, float]]) -> float:
    """The temperature that minimises the log loss of the true categories (rows whose category the
    model never saw are left out), searched from 0.25 to 4 in steps of 0.01."""
    from scipy.special import logsumexp

    by_classes: dict[tuple[str, ...], list[tuple[np.ndarray, int]]] = {}
    for category, distribution in zip(truth, distributions, strict=True):
        if category in distribution:
            classes = tuple(distribution)
            by_classes.setdefault(classes, []).append(
                (_log_probabilities(distribution), classes.index(category))
            )
    grid = np.round(np.arange(0.25, 4.0001, 0.01), 2)
    losses = np.zeros(len(grid))
    for rows in by_classes.values():
        logits = np.stack([r[0] for r in rows])  # rows x classes
        true = logits[np.arange(len(rows)), [r[1] for r in rows]]
        for k, temperature in enumerate(grid):
            losses[k] += (logsumexp(logits / temperature, axis=1) - true / temperature).sum()
    return float(grid[int(np.argmin(losses))])


def cross_fitted_confidence(held: Held, without: Sequence[str] = ()) -> tuple[list[float], dict[str, float]]:
    """Each row's calibrated top probability, with the temperature fitted on the other groups only
    (never on `without`); and each group's temperature. Rows of `without` keep their own."""
    confidence = list(held.confidence)
    temperatures = {}
    for group in set(held.groups) - set(without):
        others = [i for i, g in enumerate(held.group_of) if g not in (group, *without)]
        temperature = fit_temperature(
            [held.truth[i] for i in others], [held.distributions[i] for i in others]
        )
        temperatures[group] = temperature
        for i, g in enumerate(held.group_of):
            if g == group:
                confidence[i] = max(tempered(held.distributions[i], temperature).values())
    return confidence, temperatures


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


def resampled_macro_f1(
    truth: Sequence[str], *predictions: Sequence[str], draws: int = 1000, seed: int = SEED
) -> np.ndarray:
    """Macro-F1 over the gold categories of each of `predictions`, on `draws` resamples of the rows
    drawn with replacement, the same rows for every prediction: an array of draws x predictions.
    Its quantiles say how far a figure on a few hundred complaints can be trusted."""
    rng = np.random.default_rng(seed)
    truth = np.asarray(truth)
    predictions = [np.asarray(p) for p in predictions]
    found = np.empty((draws, len(predictions)))
    for draw in range(draws):
        rows = rng.integers(0, len(truth), len(truth))
        found[draw] = [scores(list(truth[rows]), list(p[rows])).macro_f1 for p in predictions]
    return found


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
