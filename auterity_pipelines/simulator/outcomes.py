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
from dataclasses import dataclass

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
