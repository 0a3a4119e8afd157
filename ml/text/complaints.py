"""The complaint classifier: TF-IDF and a linear SVM, trained on NHTSA narratives.

Trained on first use and kept under AUTERITY_HOME/models, keyed by the hash of its training
data and settings, so a change to either retrains it.
"""

from __future__ import annotations

import csv
import hashlib
import re
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ml.text.categories import nhtsa_category

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
NHTSA_PATH = DATA_DIR / "nhtsa_complaints.csv"
SERVICE_REQUESTS_PATH = DATA_DIR / "service_requests.csv"
MODEL_VERSION = "complaints-tfidf-svc-1"
HOLDOUT_SHARE = 0.25
SEED = 7

# NHTSA's own markers: a trailing "*TR"-style coder tag and the "TL* THE CONTACT" preamble.
_NHTSA_NOISE = re.compile(r"\*[A-Z]{2}\b|\bTL\*|\bTHE CONTACT\b")


@dataclass(frozen=True)
class Labelled:
    text: str
    category: str


@dataclass(frozen=True)
class Scores:
    accuracy: float
    macro_f1: float
    n: int

    def as_dict(self) -> dict:
        return {"accuracy": round(self.accuracy, 4), "macro_f1": round(self.macro_f1, 4), "n": self.n}


def clean(text: str) -> str:
    return _NHTSA_NOISE.sub(" ", text or "")


def load_nhtsa(path: Path = NHTSA_PATH) -> list[Labelled]:
    with open(path, newline="", encoding="utf-8") as f:
        return [Labelled(row["narrative"], nhtsa_category(row["component"])) for row in csv.DictReader(f)]


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


def train(rows: list[Labelled]):
    """A fitted scikit-learn pipeline from text to category."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion, make_pipeline
    from sklearn.svm import LinearSVC

    # Words carry the topic; character n-grams survive NHTSA's abbreviations and typos.
    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(preprocessor=_prep, sublinear_tf=True, stop_words="english")),
            (
                "chars",
                TfidfVectorizer(
                    preprocessor=_prep, analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2
                ),
            ),
        ]
    )
    model = make_pipeline(features, LinearSVC(C=0.5, class_weight="balanced"))
    model.fit([r.text for r in rows], [r.category for r in rows])
    return model


def _prep(text: str) -> str:
    return clean(text).lower()


def evaluate(model, rows: list[Labelled]) -> Scores:
    from sklearn.metrics import accuracy_score, f1_score

    truth = [r.category for r in rows]
    predicted = list(model.predict([r.text for r in rows]))
    return Scores(accuracy_score(truth, predicted), f1_score(truth, predicted, average="macro"), len(rows))


def majority_baseline(train_rows: list[Labelled], test_rows: list[Labelled]) -> Scores:
    """Always answering the most common training category."""
    from sklearn.metrics import accuracy_score, f1_score

    majority = Counter(r.category for r in train_rows).most_common(1)[0][0]
    truth = [r.category for r in test_rows]
    predicted = [majority] * len(truth)
    return Scores(accuracy_score(truth, predicted), f1_score(truth, predicted, average="macro"), len(truth))


def training_rows() -> list[Labelled]:
    return load_nhtsa() + load_service_requests()


_lock = threading.Lock()
_loaded: dict[str, object] = {}


def complaint_model(models_dir: Path | None = None):
    """The production classifier, trained on every labelled row; loaded once per process."""
    import joblib

    from auterity_pipelines.settings import auterity_home

    digest = hashlib.sha256(MODEL_VERSION.encode())
    for path in (NHTSA_PATH, SERVICE_REQUESTS_PATH):
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
            tmp = path.with_suffix(".tmp")
            joblib.dump(model, tmp)
            tmp.replace(path)
        _loaded[key] = model
        return model


def use_model(model) -> None:
    """Answer with `model` (the registry's champion) instead of the locally trained one, in this process."""
    with _lock:
        _loaded["registered"] = model
