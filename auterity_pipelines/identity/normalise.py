"""What two spellings of one person have in common: normalised email, E.164 phone, name and postal keys."""

from __future__ import annotations

import re
import unicodedata

_DOTLESS_DOMAINS = {"gmail.com", "googlemail.com"}  # Gmail ignores dots in the local part
_NOT_DIGIT = re.compile(r"\D")
_NOT_LETTER = re.compile(r"[^a-z]")


def email_key(value: str | None) -> str | None:
    """Lower-cased, trimmed, without a +tag; Gmail addresses also without dots before the @."""
    if not value:
        return None
    email = value.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain:
        return None
    local = local.split("+", 1)[0]
    if domain in _DOTLESS_DOMAINS:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}" if local else None


def e164(value: str | None, country_code: str = "1") -> str | None:
    """The number in E.164 (`+13125550100`); North American numbers by default, None when unreadable."""
    if not value:
        return None
    digits = _NOT_DIGIT.sub("", value)
    if value.strip().startswith("+"):
        return f"+{digits}" if 8 <= len(digits) <= 15 else None
    if len(digits) == 10 and country_code == "1":
        return f"+1{digits}"
    if len(digits) == 11 and digits.startswith(country_code):
        return f"+{digits}"
    return None


def name_key(value: str | None) -> str | None:
    """Letters only, lower case, accents dropped: "O'Brien " and "obrien" agree."""
    if not value:
        return None
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return _NOT_LETTER.sub("", ascii_text.lower()) or None


def postal_key(value: str | None) -> str | None:
    """A US ZIP's five digits (ZIP+4 and spaces dropped); other codes upper-cased without spaces."""
    if not value:
        return None
    text = value.strip().upper().replace(" ", "")
    if re.fullmatch(r"\d{5}(-?\d{4})?", text):
        return text[:5]
    return text or None
