"""Every record a simulated rooftop's DMS holds, derived from the rooftop's key and the clock.

Records are created each day and some are updated up to three weeks later, so a delta
window sees inserts, updates and late-arriving records (a repair order posted days after it
opened). A record is addressed by (creation day, index), which makes any window a stream in
that order: pages resume from a position instead of holding the window in memory.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from auterity_pipelines.records import format_time, split_lines
from auterity_pipelines.simulator import catalog as cat
from auterity_pipelines.simulator.generate import DAY, EPOCH, make_vin, person
from auterity_pipelines.simulator.identities import GROUP_PEOPLE, group_person, spelled
from auterity_pipelines.simulator.outcomes import HiddenOutcomes, Position

UPDATE_LAG_DAYS = 21
WINDOW_KEPT_SECONDS, WINDOWS_KEPT = 60.0, 32  # a paged window's record positions, kept a minute
DAILY_VOLUME = {
    "customers": 10,
    "vehicles": 6,
    "deals": 2,  # walk-in deals; deals from leads come on top (see outcomes.py)
    "repair_orders": 10,  # first visits; return visits come on top
    "appointments": 16,
    "leads": 14,
}
_PREFIX = {
    "customers": "C",
    "vehicles": "V",
    "deals": "D",
    "repair_orders": "R",
    "appointments": "A",
    "leads": "L",
}


@dataclass(frozen=True)
class SimulatorSettings:
    now: dt.datetime | None = None  # None: the wall clock
    scale: float = 1.0
    update_share: float = 0.4
    bad_vin_share: float = 0.03
    malformed_share: float = 0.0
    # Leads turn into deals and repair orders into return visits; off, each day is independent
    # of the past, which a one-day benchmark at a large scale needs.
    outcomes: bool = True
    # Customers who are people another rooftop of the group also knows (identities.py).
    shared_customer_share: float = 0.2

    def current_time(self) -> dt.datetime:
        return self.now or dt.datetime.now(dt.UTC)


class RooftopDms(HiddenOutcomes):
    """One rooftop's DMS; `key` is what the API or extract names the rooftop by."""

    def __init__(self, key: str, settings: SimulatorSettings):
        self.key = key
        self.settings = settings
        self.seed = hashlib.sha256(key.encode()).hexdigest()[:16]
        self.init_outcomes()
        self._windows: dict[tuple, tuple[float, list]] = {}
        self._windows_lock = threading.Lock()

    def _rng(self, *parts: object) -> random.Random:
        # String seeds are hashed with SHA-512: the same on every run and machine.
        return random.Random(f"{self.seed}:{':'.join(map(str, parts))}")

    def count(self, entity: str, day: int) -> int:
        n = self.first_count(entity, day)
        if self.settings.outcomes and entity in ("deals", "repair_orders"):
            n += len(self.follow_ups(entity, day))
        return n

    def first_count(self, entity: str, day: int) -> int:
        """Records of the day that owe nothing to an earlier one: walk-in deals, first visits."""
        rng = self._rng("n", entity, day)
        mean = DAILY_VOLUME[entity] * self.settings.scale
        if (EPOCH + day * DAY).weekday() == 6:
            mean *= 0.4
        n = max(0, round(rng.gauss(mean, mean * 0.2)))
        if entity == "repair_orders" and self.settings.outcomes:
            # A first visit is a new customer's, so that every return visit is a drawn outcome.
            n = min(n, self.count("customers", day))
        return n

    def versions(self, entity: str, day: int, index: int) -> list[dt.datetime]:
        """When the record was created and each time it was changed, oldest first."""
        rng = self._rng("t", entity, day, index)
        created = EPOCH + day * DAY + dt.timedelta(seconds=rng.randint(6 * 3600, 23 * 3600))
        times = [created]
        if rng.random() < self.settings.update_share:
            for _ in range(1 + (rng.random() < 0.3)):
                times.append(
                    times[-1]
                    + dt.timedelta(days=rng.randint(1, UPDATE_LAG_DAYS // 2), minutes=rng.randint(1, 600))
                )
        return times

    def stream(
        self, entity: str, start: dt.datetime, end: dt.datetime, after: Position | None = None
    ) -> Iterator[tuple[Position, dict]]:
        """The current version of every record last changed in [start, end), in position order."""
        found = self.window(entity, start, end)
        first = bisect.bisect_right(found, after, key=lambda f: f[0]) if after is not None else 0
        for position, version, modified in found[first:]:
            yield position, self.served(entity, *position, version, modified)

    def window(
        self, entity: str, start: dt.datetime, end: dt.datetime
    ) -> list[tuple[Position, int, dt.datetime]]:
        """Where the records of a window are, with their current version: found once and kept a
        minute, so that paging through a window costs what one pass does (as a real DMS's
        query would), not a pass per page."""
        now = self.settings.current_time()
        key = (entity, start, end)
        with self._windows_lock:
            kept = self._windows.get(key)
            if kept is not None and time.monotonic() - kept[0] < WINDOW_KEPT_SECONDS:
                return kept[1]
        lag = UPDATE_LAG_DAYS + 1 if self.settings.update_share > 0 else 1
        first = max(0, (start - EPOCH).days - lag)
        last = min((end - EPOCH).days, (now - EPOCH).days)
        found = []
        for day in range(first, last + 1):
            for index in range(self.count(entity, day)):
                current = [t for t in self.versions(entity, day, index) if t <= now]
                if current and start <= current[-1] < end:
                    found.append(((day, index), len(current) - 1, current[-1]))
        with self._windows_lock:
            self._windows[key] = (time.monotonic(), found)
            while len(self._windows) > WINDOWS_KEPT:
                self._windows.pop(next(iter(self._windows)))
        return found

    def served(self, entity: str, day: int, index: int, version: int, modified: dt.datetime) -> dict:
        """The record as the DMS serves it, malformed where the fault option says so."""
        record = self.record(entity, day, index, version, modified)
        fault = self.malformation(entity, day, index, version)
        if fault == "raw":
            record["modified_at"] = "2026-13-45T99:00:00"
        elif fault == "conform":
            field, garbage = _CONFORM_FAULTS[entity]
            record[field] = garbage
        return record

    def malformation(self, entity: str, day: int, index: int, version: int) -> str | None:
        """'raw' (the record cannot be placed), 'conform' (a value cannot be read) or None."""
        if self.settings.malformed_share <= 0:
            return None
        rng = self._rng("fault", entity, day, index, version)
        if rng.random() >= self.settings.malformed_share:
            return None
        return "conform" if entity in _CONFORM_FAULTS and rng.random() < 0.5 else "raw"

    def record(self, entity: str, day: int, index: int, version: int, modified: dt.datetime) -> dict:
        rng = self._rng("r", entity, day, index)
        changed = self._rng("v", entity, day, index, version)
        fields = _BUILDERS[entity](self, rng, changed, day, index, version, modified)
        return {
            "source_id": f"{_PREFIX[entity]}-{day:04d}-{index:05d}",
            "modified_at": format_time(modified),
            **fields,
        }

    # -- references and VINs -------------------------------------------------------------

    def customer_ref(self, rng: random.Random, day: int) -> str:
        for _ in range(8):
            ref_day = max(0, day - rng.randint(0, 120))
            n = self.count("customers", ref_day)
            if n:
                return f"C-{ref_day:04d}-{rng.randrange(n):05d}"
        return f"C-{day:04d}-00000"

    def vehicle(self, day: int, index: int) -> tuple[str, str, str, int, str]:
        """The inventory vehicle at a position: make, model, trim, year, VIN."""
        rng = self._rng("veh", day, index)
        make = rng.choice(sorted(cat.MAKES))
        wmis, models, _ = cat.MAKES[make]
        model = rng.choice(sorted(models))
        # Inventory spans the coming model year and the eleven before it, whatever the date.
        year = (EPOCH + day * DAY).year + 1 - rng.randint(0, 11)
        vin = make_vin(rng, rng.choice(wmis), year, bad=rng.random() < self.settings.bad_vin_share)
        return make, model, rng.choice(models[model]), year, vin

    def customer_fields(self, day: int, index: int) -> tuple:
        """first, last, email, phone, postal code as first written, and who the customer really is."""
        rng = self._rng("r", "customers", day, index)
        if rng.random() < self.settings.shared_customer_share:
            number = rng.randrange(GROUP_PEOPLE)
            return (*spelled(rng, group_person(number)), f"person-{number}")
        first, last, email, phone = person(rng)
        return (
            first,
            last,
            email,
            phone,
            f"{rng.randint(10000, 99999)}",
            f"{self.key}/C-{day:04d}-{index:05d}",
        )

    def identity(self, customer_source_id: str) -> str:
        """Who a customer record is: a shared person of the group, or someone only this rooftop knows."""
        _, day, index = customer_source_id.split("-")
        return self.customer_fields(int(day), int(index))[-1]

    def inventory_ref(self, rng: random.Random, day: int) -> tuple[str, str, str, int, str]:
        for _ in range(8):
            ref_day = max(0, day - rng.randint(0, 45))
            n = self.count("vehicles", ref_day)
            if n:
                return self.vehicle(ref_day, rng.randrange(n))
        return self.vehicle(day, 0)


def _customer(dms, rng, changed, day, index, version, modified):
    first, last, email, phone, postal, _ = dms.customer_fields(day, index)
    if version:
        phone = f"({changed.randint(201, 989)}) 555-{changed.randint(0, 9999):04d}"
    return {
        "first_name": first,
        "last_name": last,
        "email": email,
        "phone": phone,
        "postal_code": postal,
        **contact_preferences(dms._rng("consent", day, index)),
    }


def contact_preferences(rng: random.Random) -> dict:
    """What the customer told the store: most accept e-mail, fewer SMS, some were never asked."""
    return {
        "email_opt_in": rng.choices([True, False, None], [0.7, 0.15, 0.15])[0],
        "sms_opt_in": rng.choices([True, False, None], [0.45, 0.25, 0.3])[0],
    }


def _vehicle(dms, rng, changed, day, index, version, modified):
    make, model, trim, year, vin = dms.vehicle(day, index)
    low, high = cat.MAKES[make][2]
    used = year < (EPOCH + day * DAY).year
    return {
        "vin": vin,
        "model_year": "" if rng.random() < 0.2 else year,
        "make": make,
        "model": model,
        "trim": trim,
        "mileage": rng.randint(8000, 120000) if used else rng.randint(3, 60),
        "stock_number": f"S{day:04d}{index:05d}",
        "status": "in_stock" if version == 0 else changed.choice(cat.VEHICLE_STATUSES),
        "list_price": round(rng.uniform(low, high) * 0.97**version, 2),
    }


def _deal(dms, rng, changed, day, index, version, modified):
    *_, vin = dms.inventory_ref(rng, day)
    customer, lead_id = dms.customer_ref(rng, day), None
    # Deals are often posted a day or two after the sale: late-arriving records.
    sold = dms.versions("deals", day, index)[0] - dt.timedelta(hours=rng.randint(0, 48))
    walk_ins = dms.first_count("deals", day)
    if index >= walk_ins:
        lead_day, lead_index = dms.follow_ups("deals", day)[index - walk_ins]
        lead = dms.lead(lead_day, lead_index)
        customer, vin, lead_id = (
            lead.customer or customer,
            lead.vehicle[4],
            f"L-{lead_day:04d}-{lead_index:05d}",
        )
        sold = max(sold, lead.created + dt.timedelta(hours=1))
    return {
        "customer_source_id": customer,
        "vin": vin,
        "deal_type": rng.choice(cat.DEAL_TYPES),
        "sale_price": round(rng.uniform(18000, 70000) + 250 * version, 2),
        "sold_at": format_time(sold),
        "lead_source_id": lead_id,
    }


def _repair_order(dms, rng, changed, day, index, version, modified):
    opened = EPOCH + day * DAY - dt.timedelta(hours=rng.randint(0, 72))
    visit = dms.visit(day, index)
    closes = len(dms.versions("repair_orders", day, index)) - 1 == version
    lines = []
    for number, (op_code, story, labor) in enumerate(visit.lines, start=1):
        # complaint, cause and correction tell one story
        complaints, causes, corrections, _, parts = cat.OPERATIONS[op_code]
        lines.append(
            {
                "line_number": number,
                "op_code": op_code,
                "complaint": complaints[story],
                "cause": causes[min(story, len(causes) - 1)],
                "correction": corrections[min(story, len(corrections) - 1)],
                "labor_hours": labor,
                "amount": round(labor * 149.0 + parts * rng.uniform(0.8, 1.3) * (1 + 0.05 * version), 2),
            }
        )
    return {
        "ro_number": f"{day:04d}{index:05d}",
        "customer_source_id": visit.customer,
        "vin": visit.vin,
        "opened_at": format_time(opened),
        "closed_at": format_time(modified) if closes else None,
        "total_amount": round(sum(line["amount"] for line in lines), 2),
        "lines": lines,
    }


def _appointment(dms, rng, changed, day, index, version, modified):
    make = rng.choice(sorted(cat.MAKES))
    return {
        "customer_source_id": dms.customer_ref(rng, day),
        "vin": make_vin(rng, rng.choice(cat.MAKES[make][0]), rng.randint(2012, 2025)),
        "scheduled_at": format_time(
            EPOCH + day * DAY + dt.timedelta(days=rng.randint(1, 14), hours=rng.randint(13, 22))
        ),
        "service_type": rng.choice(cat.SERVICE_TYPES),
        "status": "scheduled" if version == 0 else changed.choice(cat.APPOINTMENT_STATUSES[1:]),
    }


def _lead(dms, rng, changed, day, index, version, modified):
    lead = dms.lead(day, index)
    first, last, email, phone = lead.person
    make, model, _, year, vin = lead.vehicle
    comments = lead.comment
    if version:
        comments = (comments + " Following up: still interested.").strip()
    return {
        "source": lead.source,
        "received_at": format_time(lead.created),
        "first_name": first,
        "last_name": last,
        "email": email if lead.has_email else None,
        "phone": phone if lead.has_phone else None,
        "vehicle_year": year,
        "vehicle_make": make,
        "vehicle_model": model,
        "vehicle_vin": vin if lead.show_vin else None,
        "comments": comments,
        "first_response_at": format_time(lead.created + dt.timedelta(minutes=lead.response_minutes)),
    }


_BUILDERS = {
    "customers": _customer,
    "vehicles": _vehicle,
    "deals": _deal,
    "repair_orders": _repair_order,
    "appointments": _appointment,
    "leads": _lead,
}
# A value that cannot be read, per entity whose conformed table reads it.
_CONFORM_FAULTS = {
    "vehicles": ("mileage", "unknown"),
    "deals": ("sale_price", "TBD"),
    "repair_orders": ("opened_at", "N/A"),
    "leads": ("received_at", "yesterday"),
}


@dataclass
class Truth:
    """What a correct sync of a window holds: loadable records, and the malformed ones by kind."""

    records: list[dict]
    raw_faults: set[str]
    conform_faults: set[str]


def truth(dms: RooftopDms, entity: str, start: dt.datetime, end: dt.datetime) -> Truth:
    source = "repair_orders" if entity == "repair_order_lines" else entity
    result = Truth([], set(), set())
    now = dms.settings.current_time()
    for (day, index), record in dms.stream(source, start, end):
        version = sum(t <= now for t in dms.versions(source, day, index)) - 1
        fault = dms.malformation(source, day, index, version)
        rows = split_lines(record) if entity == "repair_order_lines" else [record]
        if fault == "raw":
            result.raw_faults.update(row["source_id"] for row in rows)
            continue
        if fault == "conform" and entity == source:
            result.conform_faults.add(record["source_id"])
        result.records.extend(rows)
    return result
