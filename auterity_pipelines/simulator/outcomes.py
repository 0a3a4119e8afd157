"""The hidden truth behind a simulated rooftop: which leads become deals and which customers come back.

Each lead converts within 30 days with a probability drawn from what a sales desk can see (the
source, what the comment asks for, how fast someone answered, whether the person is already a
customer, whether a phone number came with it). Each closed repair order is followed by another
visit of the same customer within 12 months with a probability drawn from the visit (maintenance
or repair, the vehicle's age, how many visits came before, the labour it took). The simulator
draws the outcomes from these probabilities, writes the deals and return visits they imply, and
reports the probabilities, so a trained model can be compared with the best any model could do.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from dataclasses import dataclass

from auterity_pipelines.simulator import catalog as cat
from auterity_pipelines.simulator.generate import DAY, EPOCH, make_vin, person
from auterity_pipelines.simulator.identities import group_car

Position = tuple[int, int]  # (creation day, index within the day)

LEAD_HORIZON_DAYS = 30
RETENTION_HORIZON_DAYS = 365

_SOURCE_EFFECT = {
    "walk-in": 1.3,
    "phone-up": 0.8,
    "dealer website": 0.3,
    "autotrader": 0.0,
    "cars.com": 0.0,
    "truecar": -0.3,
    "facebook": -0.9,
}
_INTENT_EFFECT = {
    "buy": 0.9,
    "test-drive": 0.8,
    "trade-in": 0.4,
    "lease": 0.3,
    "finance": 0.1,
    "other": -0.3,
    "service": -1.6,
}


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def lead_probability(
    source: str, intent: str, response_minutes: float, returning_customer: bool, has_phone: bool
) -> float:
    """The chance that a lead becomes a deal within LEAD_HORIZON_DAYS."""
    logit = (
        -1.9
        + _SOURCE_EFFECT.get(source, 0.0)
        + _INTENT_EFFECT.get(intent, 0.0)
        - 0.45 * math.log1p(response_minutes / 10.0)
        + (0.8 if returning_customer else 0.0)
        + (0.3 if has_phone else 0.0)
    )
    return sigmoid(logit)


def retention_probability(
    maintenance: bool, vehicle_age_years: int, prior_visits: int, labor_hours: float
) -> float:
    """The chance that the customer of a closed repair order comes back within RETENTION_HORIZON_DAYS."""
    age_effect = 0.5 if vehicle_age_years <= 3 else (-0.8 if vehicle_age_years > 10 else 0.0)
    logit = (
        -0.3 + (0.9 if maintenance else 0.0) + age_effect + 0.5 * min(prior_visits, 3) - 0.12 * labor_hours
    )
    return sigmoid(logit)


@dataclass(frozen=True)
class Outcome:
    """A record's hidden probability, what was drawn from it, and when the consequence happens."""

    probability: float
    happened: bool
    follow_up_day: int | None  # the simulator day of the deal or return visit, if it happened

    def as_dict(self, source_id: str, epoch: dt.datetime) -> dict:
        return {
            "source_id": source_id,
            "probability": round(self.probability, 6),
            "outcome": int(self.happened),
            "follow_up_on": (epoch + dt.timedelta(days=self.follow_up_day)).date().isoformat()
            if self.follow_up_day is not None
            else None,
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


class HiddenOutcomes:
    """What a rooftop's DMS does not say: who converts, who comes back, and when (mixed into RooftopDms)."""

    settings: object

    def init_outcomes(self) -> None:
        self._leads: dict[Position, LeadProfile] = {}
        self._visits: dict[Position, VisitProfile] = {}
        self._deals_from_leads: dict[int, list[Position]] = {}
        self._return_visits: dict[int, list[Position]] = {}
        self._visits_through = -1
        self._lock = threading.RLock()

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
        who = self.customer_person(customer) if customer else person(rng)
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
            person=who,
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
            who = self.identity(customer)
            if who.startswith("person-"):  # a person the group shares brings the same car everywhere
                make, year, vin = group_car(int(who.split("-")[1]))
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

    def customer_person(self, ref: str) -> tuple[str, str, str | None, str | None]:
        """The name, email and phone the customer record `ref` was created with."""
        _, day, index = ref.split("-")
        return self.customer_fields(int(day), int(index))[:4]
