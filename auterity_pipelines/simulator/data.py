"""Every record a simulated rooftop's DMS holds, derived from the rooftop's key and the clock.

Records are created each day and some are updated up to three weeks later, so a delta
window sees inserts, updates and late-arriving records (a repair order posted days after it
opened). A record is addressed by (creation day, index), which makes any window a stream in
that order: pages resume from a position instead of holding the window in memory.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from auterity_pipelines import vin as vins
from auterity_pipelines.records import format_time, split_lines
from auterity_pipelines.simulator import catalog as cat
from auterity_pipelines.simulator.outcomes import Outcome, lead_probability, retention_probability

EPOCH = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
UPDATE_LAG_DAYS = 21
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
_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


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

    def current_time(self) -> dt.datetime:
        return self.now or dt.datetime.now(dt.UTC)


Position = tuple[int, int]  # (creation day, index within the day)


class RooftopDms:
    """One rooftop's DMS; `key` is what the API or extract names the rooftop by."""

    def __init__(self, key: str, settings: SimulatorSettings):
        self.key = key
        self.settings = settings
        self.seed = hashlib.sha256(key.encode()).hexdigest()[:16]
        self._leads: dict[Position, LeadProfile] = {}
        self._visits: dict[Position, VisitProfile] = {}
        self._deals_from_leads: dict[int, list[Position]] = {}
        self._return_visits: dict[int, list[Position]] = {}
        self._visits_through = -1
        self._lock = threading.RLock()

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

    def follow_ups(self, entity: str, day: int) -> list[Position]:
        """The leads that become a deal on `day`, or the visits whose customer comes back on `day`."""
        with self._lock:
            if entity == "deals":
                if day not in self._deals_from_leads:
                    self._deals_from_leads[day] = [
                        (d, i)
                        for d in range(max(0, day - 30), day)
                        for i in range(self.count("leads", d))
                        if self.lead(d, i).outcome.follow_up_day == day
                    ]
                return self._deals_from_leads[day]
            # A return visit comes at least 30 days after its visit, so once every earlier day
            # is walked the day's list is complete.
            while self._visits_through < day - 1:
                d = self._visits_through + 1
                for i in range(self.count("repair_orders", d)):
                    follow = self.visit(d, i).outcome.follow_up_day
                    if follow is not None:
                        self._return_visits.setdefault(follow, []).append((d, i))
                self._visits_through = d
            return self._return_visits.get(day, [])

    def outcome(self, entity: str, day: int, index: int) -> Outcome:
        """The hidden probability behind a lead or repair order, and what was drawn from it."""
        return (self.lead(day, index) if entity == "leads" else self.visit(day, index)).outcome

    def lead(self, day: int, index: int) -> LeadProfile:
        """Who sent a lead, about what, how fast it was answered, and whether it became a deal."""
        if (day, index) in self._leads:
            return self._leads[(day, index)]
        rng = self._rng("lead", day, index)
        created = self.versions("leads", day, index)[0]
        customer = self.customer_ref(rng, day) if rng.random() < 0.3 else None
        person = self.customer_person(customer) if customer else _person(rng)
        source = rng.choice(cat.LEAD_SOURCES)
        comment, intent = rng.choice(cat.LEAD_COMMENTS)
        if source in ("walk-in", "phone-up"):
            minutes = rng.uniform(0, 5)
        else:
            # Web leads wait; those that arrive before the store opens wait longest.
            minutes = math.exp(rng.gauss(3.0, 1.1)) * (3 if created.hour < 14 else 1)
        has_phone = rng.random() < 0.8
        p = lead_probability(source, intent, minutes, customer is not None, has_phone)
        draw = self._rng("outcome", "leads", day, index)
        converted = draw.random() < p
        profile = LeadProfile(
            created=created,
            source=source,
            comment=comment,
            person=person,
            customer=customer,
            vehicle=self.inventory_ref(rng, day),
            response_minutes=minutes,
            has_phone=has_phone,
            has_email=customer is not None or rng.random() < 0.9,
            show_vin=rng.random() < 0.4,
            outcome=Outcome(p, converted, day + draw.randint(1, 28) if converted else None),
        )
        self._leads[(day, index)] = profile
        return profile

    def visit(self, day: int, index: int) -> VisitProfile:
        """A repair order's customer, vehicle and work, and whether the customer comes back."""
        if (day, index) in self._visits:
            return self._visits[(day, index)]
        rng = self._rng("visit", day, index)
        first = self.first_count("repair_orders", day)
        if index < first or not self.settings.outcomes:
            make = rng.choice(sorted(cat.MAKES))
            year = rng.randint(2012, 2025)
            vin = make_vin(rng, rng.choice(cat.MAKES[make][0]), year)
            customer = f"C-{day:04d}-{index:05d}" if self.settings.outcomes else self.customer_ref(rng, day)
            prior = 0
        else:
            before = self.visit(*self.follow_ups("repair_orders", day)[index - first])
            customer, make, vin, year, prior = (
                before.customer,
                before.make,
                before.vin,
                before.model_year,
                before.prior_visits + 1,
            )
        lines = []
        for _ in range(rng.randint(1, 4)):
            op_code = rng.choice(sorted(cat.OPERATIONS))
            story = rng.randrange(len(cat.OPERATIONS[op_code][0]))
            lines.append((op_code, story, round(cat.OPERATIONS[op_code][3] * rng.uniform(0.7, 1.4), 1)))
        age = max(0, (EPOCH + day * DAY).year - year)
        maintenance = any(op in ("01LOF", "70TIR") for op, _, _ in lines)
        p = retention_probability(maintenance, age, prior, sum(hours for *_, hours in lines))
        draw = self._rng("outcome", "repair_orders", day, index)
        closed_day = (self.versions("repair_orders", day, index)[-1] - EPOCH).days
        returns = draw.random() < p
        profile = VisitProfile(
            customer=customer,
            make=make,
            vin=vin,
            model_year=year,
            prior_visits=prior,
            lines=tuple(lines),
            outcome=Outcome(p, returns, closed_day + draw.randint(30, 340) if returns else None),
        )
        self._visits[(day, index)] = profile
        return profile

    def customer_person(self, ref: str) -> tuple[str, str, str, str]:
        """The name, email and phone the customer record `ref` was created with."""
        _, day, index = ref.split("-")
        return _person(self._rng("r", "customers", int(day), int(index)))

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
        now = self.settings.current_time()
        lag = UPDATE_LAG_DAYS + 1 if self.settings.update_share > 0 else 1
        first = max(0, (start - EPOCH).days - lag)
        last = min((end - EPOCH).days, (now - EPOCH).days)
        if after is not None:
            first = max(first, after[0])
        for day in range(first, last + 1):
            for index in range(self.count(entity, day)):
                if after is not None and (day, index) <= after:
                    continue
                current = [t for t in self.versions(entity, day, index) if t <= now]
                if current and start <= current[-1] < end:
                    yield (day, index), self.served(entity, day, index, len(current) - 1, current[-1])

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

    def inventory_ref(self, rng: random.Random, day: int) -> tuple[str, str, str, int, str]:
        for _ in range(8):
            ref_day = max(0, day - rng.randint(0, 45))
            n = self.count("vehicles", ref_day)
            if n:
                return self.vehicle(ref_day, rng.randrange(n))
        return self.vehicle(day, 0)


def make_vin(rng: random.Random, wmi: str, year: int, bad: bool = False) -> str:
    """A VIN with a correct check digit, or (bad) a wrong one or an illegal letter."""
    vds = "".join(rng.choice(_VIN_CHARS.replace("U", "").replace("Z", "")) for _ in range(5))
    # Position 7 is a letter from model year 2010 on, as 49 CFR 565.15 reads it.
    vds = (
        vds[:3] + (rng.choice("ABCDEFGHJKLMNPRSTVWXY") if year >= 2010 else str(rng.randint(0, 9))) + vds[4:]
    )
    year_code = vins.year_code(year)
    body = f"{wmi}{vds}0{year_code}{rng.choice('ABCDEFGHKLMNPRSTUVWXYZ')}{rng.randint(0, 999999):06d}"
    vin = body[:8] + vins.check_digit(body) + body[9:]
    if bad:
        if rng.random() < 0.8:
            wrong = rng.choice([c for c in "0123456789X" if c != vin[8]])
            vin = vin[:8] + wrong + vin[9:]
        else:
            vin = vin[:11] + "O" + vin[12:]
    return vin


def _person(rng: random.Random) -> tuple[str, str, str, str]:
    first, last = rng.choice(cat.FIRST_NAMES), rng.choice(cat.LAST_NAMES)
    email = f"{first}.{last}{rng.randint(1, 99)}@{rng.choice(cat.EMAIL_DOMAINS)}".lower().replace("'", "")
    phone = f"({rng.randint(201, 989)}) 555-{rng.randint(0, 9999):04d}"
    return first, last, email, phone


def _customer(dms, rng, changed, day, index, version, modified):
    first, last, email, phone = _person(rng)
    if version:
        phone = f"({changed.randint(201, 989)}) 555-{changed.randint(0, 9999):04d}"
    return {
        "first_name": first,
        "last_name": last,
        "email": email,
        "phone": phone,
        "postal_code": f"{rng.randint(10000, 99999)}",
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


@dataclass(frozen=True)
class LeadProfile:
    created: dt.datetime
    source: str
    comment: str
    person: tuple[str, str, str, str]
    customer: str | None  # the existing customer who sent it, if any
    vehicle: tuple[str, str, str, int, str]
    response_minutes: float
    has_phone: bool
    has_email: bool
    show_vin: bool
    outcome: Outcome


@dataclass(frozen=True)
class VisitProfile:
    customer: str
    make: str
    vin: str
    model_year: int
    prior_visits: int
    lines: tuple[tuple[str, int, float], ...]  # (op code, story, labour hours)
    outcome: Outcome


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
