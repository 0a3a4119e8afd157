"""What each task reads of a contract row, and how an answer becomes an enrichment row. Pure."""

from __future__ import annotations

import hashlib
import json

from auterity_pipelines import vin as vins


def input_hash(record: dict) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()


def lead_input(lead: dict) -> tuple[str, dict, tuple[str, ...]]:
    """(record key, task input, names to redact) of a `leads` row."""
    record = {
        "source": lead.get("source"),
        "comments": lead.get("comments") or "",
        "vehicle": {
            "year": lead.get("vehicle_year"),
            "make": lead.get("vehicle_make"),
            "model": lead.get("vehicle_model"),
            "vin": lead.get("vehicle_vin"),
        },
        "contact": {"email": bool(lead.get("email")), "phone": bool(lead.get("phone"))},
    }
    return lead["lead_id"], record, (lead.get("first_name"), lead.get("last_name"))


def line_input(line: dict, order: dict | None) -> tuple[str, dict, tuple[str, ...]]:
    """(record key, task input, names to redact) of a `repair_order_lines` row, with its order's vehicle
    age and its customer's name (`first_name`, `last_name` of the order's customer, where known)."""
    age = None
    if order and order.get("vin") and order.get("opened_at"):
        year = vins.decode(order["vin"]).model_year
        age = max(0, order["opened_at"].year - year) if year else None
    record = {
        "op_code": line.get("op_code"),
        "complaint": line.get("complaint") or "",
        "cause": line.get("cause") or "",
        "correction": line.get("correction") or "",
        "labor_hours": float(line["labor_hours"]) if line.get("labor_hours") is not None else None,
        "vehicle_age_years": age,
    }
    names = (order.get("first_name"), order.get("last_name")) if order else ()
    return f"{line['ro_number']}#{line['line_number']}", record, names


def lead_columns(answer: dict | None) -> dict:
    answer = answer or {}
    vehicle = answer.get("vehicle") or {}
    return {
        "intent": answer.get("intent"),
        "vehicle_year": vehicle.get("year"),
        "vehicle_make": vehicle.get("make"),
        "vehicle_model": vehicle.get("model"),
        "urgency": answer.get("urgency"),
        "urgency_reason": answer.get("urgency_reason"),
        "contact_channel": answer.get("contact_channel"),
        "summary": answer.get("summary"),
    }


def line_columns(answer: dict | None) -> dict:
    answer = answer or {}
    return {k: answer.get(k) for k in ("category", "sentiment", "warranty_likely", "summary")}
