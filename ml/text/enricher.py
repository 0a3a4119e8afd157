"""The offline enrichment models as one callable: a task's input in, its structured answer out."""

from __future__ import annotations

from ml.text import leads
from ml.text.complaints import categorise, complaint_model
from ml.text.sentiment import sentiment
from ml.text.summarize import key_sentence, shorten

# Categories whose repairs a factory warranty covers when the vehicle is young enough.
_WARRANTY_CATEGORIES = {
    "engine",
    "transmission",
    "electrical",
    "hvac",
    "airbags_restraints",
    "brakes",
    "suspension_steering",
}
_WARRANTY_YEARS = 3
_INTENT_PHRASES = {
    "buy": "Wants to buy",
    "lease": "Wants to lease",
    "trade-in": "Wants a trade-in offer toward",
    "finance": "Asks about financing for",
    "service": "Asks about service for",
    "test-drive": "Wants a test drive of",
    "other": "Asked about",
}


def enrich_lead(record: dict) -> dict:
    vehicle = record.get("vehicle") or {}
    contact = record.get("contact") or {}
    text = record.get("comments") or ""
    found = leads.vehicle_of_interest(text, vehicle.get("year"), vehicle.get("make"), vehicle.get("model"))
    intent = leads.intent(text)
    urgency, reason = leads.urgency(text, record.get("source"))
    channel = leads.contact_channel(text, bool(contact.get("phone")), bool(contact.get("email")))
    described = " ".join(str(part) for part in (found.year, found.make, found.model) if part)
    described = f"a {described}" if described else "a vehicle"
    summary = f"{_INTENT_PHRASES[intent]} {described}"
    if urgency >= 0.6:
        summary += f" ({reason.split(';')[0]})"
    summary += f"; prefers {channel}." if channel != "any" else "."
    return {
        "intent": intent,
        "vehicle": {"year": found.year, "make": found.make, "model": found.model},
        "urgency": urgency,
        "urgency_reason": reason,
        "contact_channel": channel,
        "summary": shorten(summary, 200),
    }


def enrich_repair_order_line(record: dict) -> dict:
    complaint = record.get("complaint") or ""
    story = " ".join(str(record.get(k) or "") for k in ("complaint", "cause", "correction")).strip()
    # An unsure model says "other" rather than guess, with how sure it was.
    category, probability = categorise(complaint_model(), [story])[0] if story else ("other", None)
    age = record.get("vehicle_age_years")
    lowered = story.lower()
    warranty = (
        "recall" in lowered
        or "warranty" in lowered
        or (category in _WARRANTY_CATEGORIES and age is not None and age <= _WARRANTY_YEARS)
    )
    return {
        "category": category,
        "category_probability": None if probability is None else round(probability, 3),
        "sentiment": sentiment(complaint),
        "warranty_likely": bool(warranty),
        "summary": key_sentence(story) or "No complaint text.",
    }


TASKS = {"lead_enrichment": enrich_lead, "repair_order_enrichment": enrich_repair_order_line}


def enrich(task: str, record: dict) -> dict:
    """The answer for one record of `task`; KeyError for a task this model does not know."""
    return TASKS[task](record)
