"""PII redaction: names, emails, phone numbers, street addresses and VINs become typed placeholders.

Text leaves for an external provider only in this form. Names are the record's own (a lead's
first and last name) plus names a customer writes after "my name is" / "this is" / "ask for";
the other kinds are found by pattern.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(
    r"(?<![\w-])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w-])|(?<!\d)\d{10}(?!\d)"
)
# Any 17-character VIN-shaped token, I, O and Q included: a mistyped VIN still names a car.
_VIN = re.compile(r"\b[A-Z0-9]{17}\b", re.IGNORECASE)
_STREET = re.compile(
    r"\b\d{1,6}\s+(?:[NSEW]\.?\s+)?(?:[A-Z0-9][\w'.-]*\s+){1,4}"
    r"(?:st|street|ave|avenue|rd|road|blvd|boulevard|dr|drive|ln|lane|ct|court|way|pl|place|pkwy|parkway|hwy|highway|cir|circle|ter|terrace)\b\.?"
    r"(?:,?\s+(?:apt|apartment|suite|ste|unit|#)\s*[\w-]+)?",
    re.IGNORECASE,
)
_INTRODUCED = re.compile(
    r"\b(?i:my name is|this is|i am|i'm|ask for|contact)\s+([A-Z][a-z'-]+(?:\s+[A-Z][a-z'-]+)?)"
)
_NOT_NAMES = frozenset({"Interested", "Looking", "Ready", "Still", "The", "A", "An", "Not", "Just", "Very"})
KINDS = ("EMAIL", "PHONE", "VIN", "ADDRESS", "NAME")


@dataclass
class Redacted:
    text: str
    found: Counter = field(default_factory=Counter)  # placeholders by kind


class Redactor:
    """One record's redaction: the same value gets the same placeholder in every field."""

    def __init__(self, names: list[str | None] | tuple[str | None, ...] = ()):
        self.names = sorted({n.strip() for n in names if n and len(n.strip()) > 1}, key=len, reverse=True)
        self.placeholders: dict[tuple[str, str], str] = {}
        self.found: Counter = Counter()

    def _placeholder(self, kind: str, value: str) -> str:
        key = (kind, value.lower())
        if key not in self.placeholders:
            self.found[kind] += 1
            self.placeholders[key] = f"[{kind}_{self.found[kind]}]"
        return self.placeholders[key]

    def __call__(self, text: str | None) -> str | None:
        if not text:
            return text
        text = _EMAIL.sub(lambda m: self._placeholder("EMAIL", m.group()), text)
        text = _VIN.sub(lambda m: self._vin(m.group()), text)
        text = _PHONE.sub(lambda m: self._placeholder("PHONE", re.sub(r"\D", "", m.group())[-10:]), text)
        text = _STREET.sub(lambda m: self._placeholder("ADDRESS", m.group()), text)
        names = list(self.names) + [n for n in _INTRODUCED.findall(text) if n.split()[0] not in _NOT_NAMES]
        for name in sorted(set(names), key=len, reverse=True):
            for part in [name, *name.split()] if " " in name else [name]:
                if len(part) > 1:
                    text = re.sub(
                        rf"(?<![\w\[]){re.escape(part)}(?![\w\]])",
                        lambda m: self._placeholder("NAME", m.group()),
                        text,
                        flags=re.IGNORECASE,
                    )
        return text

    def _vin(self, value: str) -> str:
        # Seventeen characters with a digit and a letter: a VIN, not a long word or number.
        if re.search(r"\d", value) and re.search(r"[A-Za-z]", value):
            return self._placeholder("VIN", value)
        return value
