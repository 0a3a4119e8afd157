"""What the complaint classifier reads besides the complaints: the names it must not learn, and
the words that name each category.

The corpus is 76% Porsche, so a model learns "Taycan" and "PCM" as if they meant a category.
Vehicle names and years are replaced by placeholders before anything is learnt. The names are a
list written here (ml/data/vehicle_names.csv: makes sold in North America and their models),
not the corpus's own: a name the corpus files under a make ("Child Seat", "Trans Am", "Town
Car") can be a word complaints are made of, and a complaint about a make the corpus lacks is
masked as well as one about a make it holds.

NHTSA's component labels, the corpus's own vocabulary of parts, become short training texts of
their category; and a lexicon written here (ml/data/category_lexicon.csv) says in owners' and
mechanics' words what each category is about, so no category depends on one maker's way of
filing.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
LEXICON_PATH = DATA_DIR / "category_lexicon.csv"
NAMES_PATH = DATA_DIR / "vehicle_names.csv"
WRITTEN_FILES = (LEXICON_PATH, NAMES_PATH)  # what training reads besides the labelled rows

_NUMBERS = re.compile(r"\b(?:19|20)\d\d\b|\d+")


def vehicle_names(path: Path = NAMES_PATH) -> list[str]:
    """Every make, alias and model of the written list, longest first."""
    names = set()
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            names |= set(row["make"].split("|")) | set(row["models"].split())
    return sorted(names - {""}, key=len, reverse=True)


@lru_cache(maxsize=1)
def _vehicle_names() -> re.Pattern:
    words = ("[\\s-]+".join(re.escape(word) for word in name.split()) for name in vehicle_names())
    return re.compile(r"\b(?:" + "|".join(words) + r")\b")


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
