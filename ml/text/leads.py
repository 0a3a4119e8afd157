"""Reading a sales lead: intent, urgency, preferred channel and vehicle of interest, from its text.

Each is a small weighted lexicon over the customer's words: transparent, and right far more
often than a guess (`bench/enrichment` prints its accuracy on the simulator's labelled leads).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

INTENTS = ("buy", "lease", "trade-in", "finance", "service", "test-drive", "other")
CHANNELS = ("phone", "text", "email", "any")

# intent -> (pattern, weight); the highest total wins, ties in INTENTS order.
_INTENT_CUES: dict[str, list[tuple[str, float]]] = {
    "test-drive": [
        (r"test[- ]?drive", 3),
        (r"\bdrive it\b", 2),
        (r"see (it|the car|the truck) in person", 2),
        (r"come (in|by) (and )?(see|look)", 1.5),
    ],
    "lease": [
        (r"\bleas(e|ing|es)\b", 3),
        (r"lease (deal|special|offer)", 1),
        (r"\bresidual\b", 2),
        (r"money factor", 2),
    ],
    "finance": [
        (r"financ(e|ing)", 3),
        (r"pre-?approv", 3),
        (r"\bcredit\b", 2),
        (r"\bapr\b", 2),
        (r"\bloan\b", 2),
        (r"monthly payment", 1.5),
        (r"down payment", 1),
    ],
    "trade-in": [
        (r"trade[- ]?in", 3),
        (r"\btrad(e|ing) (in )?my\b", 3),
        (r"(value|appraise|appraisal) (of |for )?my", 2.5),
        (r"\bmy current (car|truck|vehicle)\b", 1.5),
    ],
    "service": [
        (r"\bservice\b", 2),
        (r"oil change", 3),
        (r"\brepair", 2),
        (r"\brecall\b", 2.5),
        (r"(check|warning) light", 2.5),
        (r"\bappointment\b", 1),
    ],
    "buy": [
        (r"\b(buy|buying|purchase|purchasing)\b", 2.5),
        (r"(best|lowest|out[- ]the[- ]door|otd) price", 2.5),
        (r"still available", 2),
        (r"\bin stock\b", 1.5),
        (r"\bcash\b", 1.5),
        (r"\bdiscount", 1.5),
        (r"\binterested in\b", 1),
        (r"looking for", 1),
    ],
}
_URGENCY_CUES: list[tuple[str, float, str]] = [
    (r"\b(asap|right away|immediately|urgent(ly)?)\b", 0.45, "asks for it as soon as possible"),
    (r"\btoday\b|\btonight\b", 0.4, "wants it today"),
    (r"\btomorrow\b", 0.3, "mentions tomorrow"),
    (r"this (weekend|week|saturday|sunday)", 0.3, "wants it this week"),
    (r"\bready to (buy|sign|go)\b", 0.35, "says they are ready to buy"),
    (r"\bstill interested\b|following up", 0.15, "followed up"),
    (
        r"\bnext (month|year)\b|\bfew months\b|\bno rush\b|just (browsing|looking)",
        -0.25,
        "says there is no rush",
    ),
]
_CHANNEL_CUES: list[tuple[str, str]] = [
    (r"\b(text|sms)( me)?\b", "text"),
    (r"\bcall( me)?\b|\bphone( me)?\b|give me a (ring|call)", "phone"),
    (r"\bemail( me)?\b|\be-mail\b", "email"),
]
_SOURCE_URGENCY = {"phone-up": 0.1, "walk-in": 0.15}

MAKES = (
    "Acura",
    "Audi",
    "BMW",
    "Buick",
    "Cadillac",
    "Chevrolet",
    "Chrysler",
    "Dodge",
    "Ford",
    "GMC",
    "Genesis",
    "Honda",
    "Hyundai",
    "Infiniti",
    "Jeep",
    "Kia",
    "Lexus",
    "Lincoln",
    "Mazda",
    "Mercedes-Benz",
    "Mitsubishi",
    "Nissan",
    "Porsche",
    "Ram",
    "Subaru",
    "Tesla",
    "Toyota",
    "Volkswagen",
    "Volvo",
)
_MAKE_ALIASES = {
    "chevy": "Chevrolet",
    "vw": "Volkswagen",
    "mercedes": "Mercedes-Benz",
    "benz": "Mercedes-Benz",
}
_MAKE_BY_NAME = {m.lower(): m for m in MAKES} | _MAKE_ALIASES
_MAKE_PATTERN = re.compile(
    r"\b(?:(19[89]\d|20[0-4]\d)\s+)?("
    + "|".join(re.escape(k) for k in sorted(_MAKE_BY_NAME, key=len, reverse=True))
    + r")\b(?:\s+([A-Za-z0-9][\w-]*))?",
    re.IGNORECASE,
)
_YEAR = re.compile(r"\b(19[89]\d|20[0-4]\d)\b")


@dataclass(frozen=True)
class Vehicle:
    year: int | None
    make: str | None
    model: str | None


def intent(text: str) -> str:
    lowered = (text or "").lower()
    totals = {
        name: sum(weight for pattern, weight in cues if re.search(pattern, lowered))
        for name, cues in _INTENT_CUES.items()
    }
    best = max(INTENTS[:-1], key=lambda name: (totals[name], -INTENTS.index(name)))
    return best if totals[best] > 0 else "other"


def urgency(text: str, source: str | None = None) -> tuple[float, str]:
    """0..1 with the reason: cues in the text, and how the lead came in."""
    lowered = (text or "").lower()
    score, reasons = 0.35, []
    for pattern, weight, reason in _URGENCY_CUES:
        if re.search(pattern, lowered):
            score += weight
            reasons.append(reason)
    bonus = _SOURCE_URGENCY.get((source or "").lower(), 0.0)
    if bonus:
        score += bonus
        reasons.append(f"came in as a {source}")
    if not reasons:
        reasons.append("no timing cue in the message" if lowered.strip() else "no message")
    return round(min(1.0, max(0.0, score)), 2), "; ".join(reasons)


def contact_channel(text: str, has_phone: bool, has_email: bool) -> str:
    lowered = (text or "").lower()
    for pattern, channel in _CHANNEL_CUES:
        if re.search(pattern, lowered):
            return channel
    if has_phone:
        return "phone"
    return "email" if has_email else "any"


def vehicle_of_interest(text: str, year: int | None, make: str | None, model: str | None) -> Vehicle:
    """The lead's stated vehicle, completed from the text where a field is missing."""
    found = _MAKE_PATTERN.search(text or "")
    text_year = text_make = text_model = None
    if found:
        text_year = int(found.group(1)) if found.group(1) else None
        text_make = _MAKE_BY_NAME[found.group(2).lower()]
        text_model = found.group(3)
    if text_year is None:
        years = _YEAR.findall(text or "")
        text_year = int(years[0]) if years else None
    make = _MAKE_BY_NAME.get((make or "").strip().lower(), (make or "").strip() or None) or text_make
    return Vehicle(year or text_year, make, (model or "").strip() or text_model)
