"""People the group shares: a customer of one rooftop is often a customer of another, written differently.

A shared customer is one of GROUP_PEOPLE people, the same for every rooftop (seeded by the
person, not the rooftop). Each rooftop's DMS writes that person its own way: e-mail case and
spaces, Gmail dots, a missing e-mail or phone, phone formats, a typo in a name, ZIP+4.
`RooftopDms.identity` reports who a customer record really is.
"""

from __future__ import annotations

import random

from auterity_pipelines.simulator import catalog as cat

GROUP_PEOPLE = 50_000

Person = tuple[str, str, str, str, str]  # first, last, email, phone, postal code


def group_person(number: int) -> Person:
    """A shared person as they really are."""
    rng = random.Random(f"group-person:{number}")
    first, last = rng.choice(cat.FIRST_NAMES), rng.choice(cat.LAST_NAMES)
    local = f"{first}.{last}{rng.randint(1, 99_999)}".lower().replace("'", "")
    email = f"{local}@{rng.choice(cat.EMAIL_DOMAINS)}"
    phone = f"{rng.randint(201, 989)}555{rng.randint(0, 9999):04d}"
    return first, last, email, phone, f"{rng.randint(10000, 99999)}"


def _typo(rng: random.Random, name: str) -> str:
    """One slip of the keyboard: two letters swapped, or one dropped."""
    if len(name) < 4:
        return name
    i = rng.randrange(1, len(name) - 2)
    if rng.random() < 0.5:
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    return name[:i] + name[i + 1 :]


def _phone(rng: random.Random, digits: str) -> str:
    area, exchange, line = digits[:3], digits[3:6], digits[6:]
    return rng.choice(
        [
            f"({area}) {exchange}-{line}",
            f"{area}-{exchange}-{line}",
            f"{area}.{exchange}.{line}",
            f"+1 {area} {exchange} {line}",
            f"1{area}{exchange}{line}",
        ]
    )


def spelled(rng: random.Random, person: Person) -> tuple[str, str, str | None, str | None, str]:
    """The person as one rooftop's DMS writes them."""
    first, last, email, phone, postal = person
    roll = rng.random()
    if roll < 0.08:
        first = _typo(rng, first)
    elif roll < 0.16:
        last = _typo(rng, last)
    elif roll < 0.21:
        first, last = first.upper(), last.upper()
    written_email: str | None = email
    roll = rng.random()
    if roll < 0.12:
        written_email = None
    elif roll < 0.27:
        written_email = f" {email.upper()} " if rng.random() < 0.5 else email.capitalize()
    elif roll < 0.32 and email.endswith("@gmail.com"):
        written_email = email.replace(".", "", 1)  # Gmail ignores the dots: the same inbox
    written_phone = None if rng.random() < 0.1 else _phone(rng, phone)
    if rng.random() < 0.2:
        postal = f"{postal}-{rng.randint(0, 9999):04d}"
    return first, last, written_email, written_phone, postal


def group_car(number: int) -> tuple[str, int, str]:
    """The car a shared person brings to any rooftop's service lane: make, model year, VIN."""
    from auterity_pipelines.simulator.generate import make_vin

    rng = random.Random(f"group-car:{number}")
    make = rng.choice(sorted(cat.MAKES))
    year = rng.randint(2012, 2025)
    return make, year, make_vin(rng, rng.choice(cat.MAKES[make][0]), year)
