"""What the complaint classifier reads besides the complaints: the names it must not learn, and
the words that name each category.

The corpus is 76% Porsche, so a model learns "Taycan" and "PCM" as if they meant a category.
Vehicle names (makes from a list written here, and the makes and models the corpus names) and
years are replaced by placeholders before anything is learnt. NHTSA's component labels, the
corpus's own vocabulary of parts, become short training texts of their category; and a
lexicon written here (ml/data/category_lexicon.csv) says in a mechanic's words what each
category is about, so no category depends on one maker's way of filing.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
LEXICON_PATH = DATA_DIR / "category_lexicon.csv"

# Makes sold in North America, written here: complaints about makes the corpus barely holds
# still have their names masked.
MAKES = [
    "acura",
    "alfa",
    "romeo",
    "aston",
    "martin",
    "audi",
    "bentley",
    "bmw",
    "buick",
    "cadillac",
    "chevrolet",
    "chevy",
    "chrysler",
    "dodge",
    "eagle",
    "ferrari",
    "fiat",
    "fisker",
    "ford",
    "genesis",
    "geo",
    "gmc",
    "honda",
    "hummer",
    "hyundai",
    "infiniti",
    "isuzu",
    "jaguar",
    "jeep",
    "kia",
    "lamborghini",
    "land",
    "rover",
    "lexus",
    "lincoln",
    "lotus",
    "lucid",
    "maserati",
    "mazda",
    "mclaren",
    "mercedes",
    "benz",
    "mercury",
    "mini",
    "mitsubishi",
    "nissan",
    "oldsmobile",
    "plymouth",
    "polestar",
    "pontiac",
    "porsche",
    "ram",
    "rivian",
    "rolls",
    "royce",
    "saab",
    "saturn",
    "scion",
    "smart",
    "subaru",
    "suzuki",
    "tesla",
    "toyota",
    "volkswagen",
    "vw",
    "volvo",
]
_NUMBERS = re.compile(r"\b(?:19|20)\d\d\b|\d+")


@lru_cache(maxsize=1)
def _vehicle_names() -> re.Pattern:
    from ml.text.complaints import NHTSA_PATH

    names = set(MAKES)
    with open(NHTSA_PATH, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            names.add(row["make"].lower())
            names |= {w for w in re.split(r"[\s/-]+", row["model"].lower()) if len(w) > 2 and not w.isdigit()}
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    # A model named like a common word ("Five Hundred") keeps the word.
    ordered = sorted(names - {"", "unknown"} - ENGLISH_STOP_WORDS, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(n) for n in ordered) + r")\b")


def mask(text: str) -> str:
    """Lower-cased, with vehicle names as `vehiclename` and years and numbers as `0`."""
    return _NUMBERS.sub(" 0 ", _vehicle_names().sub(" vehiclename ", text.lower()))


def component_texts(components) -> list[tuple[str, str]]:
    """Each distinct NHTSA component path as a text of its category (`SERVICE BRAKES,
    HYDRAULIC:PEDALS AND LINKAGES` -> "service brakes hydraulic pedals and linkages")."""
    from ml.text.categories import nhtsa_category

    found: dict[str, str] = {}
    for label in components:
        for part in re.split(r",(?=\S)", label):
            category = nhtsa_category(part)
            if category != "other":
                found[re.sub(r"[:,/]", " ", part).lower()] = category
    return sorted(found.items())


def load_lexicon(path: Path = LEXICON_PATH) -> list[tuple[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return [(row["text"], row["category"]) for row in csv.DictReader(f)]
