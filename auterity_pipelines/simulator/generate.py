"""The simulator's calendar, and the names and VINs it makes up."""

from __future__ import annotations

import datetime as dt
import random

from auterity_pipelines import vin as vins
from auterity_pipelines.simulator import catalog as cat

EPOCH = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)  # day 0 of every simulated rooftop
DAY = dt.timedelta(days=1)
_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


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


def person(rng: random.Random) -> tuple[str, str, str, str]:
    first, last = rng.choice(cat.FIRST_NAMES), rng.choice(cat.LAST_NAMES)
    email = f"{first}.{last}{rng.randint(1, 99_999)}@{rng.choice(cat.EMAIL_DOMAINS)}".lower().replace("'", "")
    phone = f"({rng.randint(201, 989)}) 555-{rng.randint(0, 9999):04d}"
    return first, last, email, phone
