"""The complaint classifier: TF-IDF on words and characters and sentence vectors, then a logistic
regression, trained on NHTSA narratives with vehicle names masked.

Trained on first use and kept under AUTERITY_HOME/models, keyed by the hash of its training
data and settings, so a change to either retrains it.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ml.text.categories import nhtsa_category

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
NHTSA_PATH = DATA_DIR / "nhtsa_complaints.csv"
SERVICE_REQUESTS_PATH = DATA_DIR / "service_requests.csv"
MODEL_VERSION = "complaints-tfidf-minilm-lr-4"
C = 10.0  # logistic regression's inverse regularisation (bench/text_models.py)
MAKE_CAP = 60  # a make's rows weigh at most as much as this many
UNSURE_BELOW = 0.40  # under this calibrated top probability the answer is "other" (bench/text_models.py)
# Divides the fitted logits so that probabilities mean what they say on makes the corpus barely
# holds: fitted on leave-make-group-out predictions without Porsche (bench/text_models.py).
TEMPERATURE = 0.84
HOLDOUT_SHARE = 0.25
SEED = 7

# NHTSA's own markers: a trailing "*TR"-style coder tag and the "TL* THE CONTACT" preamble.
_NHTSA_NOISE = re.compile(r"\*[A-Z]{2}\b|\bTL\*|\bTHE CONTACT\b")


@dataclass(frozen=True)
class Labelled:
    text: str
    category: str
    make: str = ""  # the vehicle's make, where the source names it (NHTSA does)
    component: str = ""  # NHTSA's component label, where the row has one
    source: str = ""  # the corpus's source_id, where the row is NHTSA's


@dataclass(frozen=True)
class Scores:
    """Accuracy and macro-F1 over the gold categories only: a category the model predicts but
    the rows never carry is listed in `predicted_only`, and moves no average."""

    accuracy: float
    macro_f1: float
    n: int
    predicted_only: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "n": self.n,
            "predicted_only": list(self.predicted_only),
        }


def scores(truth: list[str], predicted: list[str]) -> Scores:
    from sklearn.metrics import accuracy_score, f1_score

    gold = sorted(set(truth))
    return Scores(
        accuracy_score(truth, predicted),
        f1_score(truth, predicted, labels=gold, average="macro", zero_division=0),
        len(truth),
        tuple(sorted(set(predicted) - set(gold))),
    )


def clean(text: str) -> str:
    return _NHTSA_NOISE.sub(" ", text or "")


def load_nhtsa(path: Path = NHTSA_PATH) -> list[Labelled]:
    with open(path, newline="", encoding="utf-8") as f:
        return [
            Labelled(
                row["narrative"],
                nhtsa_category(row["component"]),
                row["make"],
                row["component"],
                row["source_id"],
            )
            for row in csv.DictReader(f)
        ]


def load_service_requests(path: Path = SERVICE_REQUESTS_PATH) -> list[Labelled]:
    with open(path, newline="", encoding="utf-8") as f:
        return [Labelled(row["text"], row["category"]) for row in csv.DictReader(f)]


def holdout_split(rows: list[Labelled]) -> tuple[list[Labelled], list[Labelled]]:
    """A stratified, seeded split: the same held-out complaints on every machine."""
    from sklearn.model_selection import train_test_split

    counts = Counter(r.category for r in rows)
    # A category with one example cannot be stratified; it trains.
    single = [r for r in rows if counts[r.category] < 2]
    rest = [r for r in rows if counts[r.category] >= 2]
    train, test = train_test_split(
        rest, test_size=HOLDOUT_SHARE, random_state=SEED, stratify=[r.category for r in rest]
    )
    return single + train, test


def train(rows: list[Labelled], sentence_vectors: bool = True):
    """A fitted scikit-learn pipeline from text to category, with calibrated probabilities.

    Besides `rows`: their NHTSA component labels as texts, and the written lexicon
    (`vocabulary`). Each make's rows weigh at most as much as MAKE_CAP rows, so the corpus's
    Porsche majority does not decide what a brake complaint sounds like. Without
    `sentence_vectors`, words and characters only: what bench/text_models compares against.
    """
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    texts, labels, weights = _training_set(rows)
    # Words and word pairs carry the topic; character n-grams survive NHTSA's abbreviations and
    # typos; sentence vectors carry what a complaint means in words the corpus never used. Each
    # block is of unit length, so none outweighs the others.
    blocks = [
        ("words", TfidfVectorizer(preprocessor=_prep, sublinear_tf=True, stop_words="english", ngram_range=(1, 2))),
        ("chars", TfidfVectorizer(preprocessor=_prep, analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2)),
    ]  # fmt: skip
    if sentence_vectors:
        blocks.append(("sentences", FunctionTransformer(_sentence_vectors)))
    features = FeatureUnion(blocks)
    model = make_pipeline(features, LogisticRegression(C=C, class_weight="balanced", max_iter=5000))
    model.fit(texts, labels, logisticregression__sample_weight=np.asarray(weights))
    # Temperature scaling inside the model: softmax((xw + b) / T), the same ranking, and a plain
    # scikit-learn estimator that skops loads without trusting anything new.
    regression = model.named_steps["logisticregression"]
    regression.coef_ /= TEMPERATURE
    regression.intercept_ /= TEMPERATURE
    return model


def _training_set(rows: list[Labelled]) -> tuple[list[str], list[str], list[float]]:
    """Texts, labels and weights: `rows`, then their component labels and the lexicon."""
    from ml.text import vocabulary

    extra = vocabulary.component_texts(r.component for r in rows if r.component) + vocabulary.load_lexicon()
    texts = [r.text for r in rows] + [text for text, _ in extra]
    labels = [r.category for r in rows] + [category for _, category in extra]
    per_make = Counter(r.make for r in rows if r.make)
    weights = [min(1.0, MAKE_CAP / per_make[r.make]) if r.make else 1.0 for r in rows] + [1.0] * len(extra)
    return texts, labels, weights


def training_texts() -> list[str]:
    """Every text the classifier trains on, as its encoder reads them: the shipped sentence vectors'."""
    return [_prep(text) for text in _training_set(training_rows())[0]]


def trained_by() -> tuple[Path, ...]:
    """The code and written files that decide what a model learns from its rows: a change to any
    is a new model."""
    from ml.text import categories, sentences, vocabulary

    modules = (Path(__file__), Path(categories.__file__), Path(vocabulary.__file__), Path(sentences.__file__))
    return (*modules, *vocabulary.WRITTEN_FILES, sentences.VOCAB_PATH)


def _sentence_vectors(texts):
    from ml.text import sentences

    return sentences.encode([_prep(text) for text in texts])


def _prep(text: str) -> str:
    from ml.text.vocabulary import mask

    return mask(clean(text))


def answer(category: str, probability: float) -> str:
    """What the enrichment says: the category, or `other` where its probability is under UNSURE_BELOW."""
    return category if probability >= UNSURE_BELOW else "other"


def categorise(model, texts: list[str]) -> list[tuple[str, float]]:
    """Each text's category and the model's probability for it; `other` (with the top
    category's probability) where that probability is under UNSURE_BELOW."""
    probabilities = model.predict_proba(texts)
    found = []
    for row in probabilities:
        best = int(row.argmax())
        found.append((answer(str(model.classes_[best]), row[best]), float(row[best])))
    return found


@dataclass(frozen=True)
class Unsure:
    """How often the classifier says `other` for want of certainty, and how right it is otherwise."""

    share: float
    accuracy_when_sure: float


def unsure(model, rows: list[Labelled]) -> Unsure:
    found = categorise(model, [r.text for r in rows])
    sure = [r.category == category for r, (category, p) in zip(rows, found, strict=True) if p >= UNSURE_BELOW]
    return Unsure(1 - len(sure) / max(1, len(rows)), sum(sure) / max(1, len(sure)))


def evaluate(model, rows: list[Labelled]) -> Scores:
    return scores([r.category for r in rows], [str(p) for p in model.predict([r.text for r in rows])])


def majority_baseline(train_rows: list[Labelled], test_rows: list[Labelled]) -> Scores:
    """Always answering the most common training category."""
    majority = Counter(r.category for r in train_rows).most_common(1)[0][0]
    return scores([r.category for r in test_rows], [majority] * len(test_rows))


def training_rows() -> list[Labelled]:
    return load_nhtsa() + load_service_requests()


_lock = threading.Lock()
_loaded: dict[str, object] = {}


def complaint_model(models_dir: Path | None = None):
    """The production classifier, trained on every labelled row; loaded once per process."""
    import joblib

    from auterity_pipelines.settings import auterity_home

    digest = hashlib.sha256(MODEL_VERSION.encode())
    for path in (NHTSA_PATH, SERVICE_REQUESTS_PATH, *trained_by()):
        digest.update(path.read_bytes())
    key = digest.hexdigest()[:16]
    with _lock:
        if "registered" in _loaded:
            return _loaded["registered"]
        if key in _loaded:
            return _loaded[key]
        path = (models_dir or auterity_home() / "models") / f"complaints-{key}.joblib"
        if path.is_file():
            model = joblib.load(path)
        else:
            model = train(training_rows())
            path.parent.mkdir(parents=True, exist_ok=True)
            # Processes starting together (webserver, daemon, run workers) may each train it: each
            # writes a file of its own and the last rename wins, a whole model either way.
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            joblib.dump(model, tmp)
            tmp.replace(path)
        _loaded[key] = model
        return model


def use_model(model) -> None:
    """Answer with `model` (the registry's champion) instead of the locally trained one, in this process."""
    with _lock:
        _loaded["registered"] = model
