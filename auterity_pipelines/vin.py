"""VIN decoding from the VIN alone: ISO 3779 / 49 CFR 565 check digit, model year, maker."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

_TRANSLITERATION = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9))),
    **dict(zip("JKLMN", range(1, 6))),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10))),
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
# Position-10 codes cycle every 30 years: A=1980 … Y=2000, 1=2001 … 9=2009, then A=2010 again.
_YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"
_YEAR_OF_CODE = {code: 1980 + n for n, code in enumerate(_YEAR_CODES)}
# Makers known to code the year elsewhere (Ford Australia writes it at position 11).
_YEAR_POSITION_BY_WMI = {"6FP": 11}

MANUFACTURERS = {
    "1C3": "Chrysler",
    "1C4": "Jeep",
    "1C6": "Ram",
    "1FA": "Ford",
    "1FM": "Ford",
    "1FT": "Ford",
    "1G1": "Chevrolet",
    "1G8": "Saturn",
    "1GC": "Chevrolet",
    "1GK": "GMC",
    "1GN": "Chevrolet",
    "1GT": "GMC",
    "1HG": "Honda",
    "1J4": "Jeep",
    "1JC": "Jeep",
    "1LN": "Lincoln",
    "1M8": "Motor Coach Industries",
    "1N4": "Nissan",
    "1N6": "Nissan",
    "2C3": "Chrysler",
    "2FA": "Ford",
    "2GC": "Chevrolet",
    "2HG": "Honda",
    "2HK": "Honda",
    "2T1": "Toyota",
    "3FA": "Ford",
    "3GN": "Chevrolet",
    "3HG": "Honda",
    "3VW": "Volkswagen",
    "4S3": "Subaru",
    "4S4": "Subaru",
    "4T1": "Toyota",
    "4T3": "Toyota",
    "5FN": "Honda",
    "5J6": "Honda",
    "5N1": "Nissan",
    "5N3": "Infiniti",
    "5NP": "Hyundai",
    "5XY": "Kia/Hyundai",
    "5YF": "Toyota",
    "5YJ": "Tesla",
    "6FP": "Ford Australia",
    "JF1": "Subaru",
    "JH4": "Acura",
    "JHM": "Honda",
    "JM1": "Mazda",
    "JM3": "Mazda",
    "JN1": "Nissan",
    "JT2": "Toyota",
    "JTD": "Toyota",
    "JTK": "Toyota (Scion)",
    "KM8": "Hyundai",
    "KMH": "Hyundai",
    "KNA": "Kia",
    "KND": "Kia",
    "SAL": "Land Rover",
    "SAJ": "Jaguar",
    "WAU": "Audi",
    "WBA": "BMW",
    "WBS": "BMW M",
    "WDB": "Mercedes-Benz",
    "WDD": "Mercedes-Benz",
    "WP0": "Porsche",
    "WP1": "Porsche",
    "WVW": "Volkswagen",
    "WV1": "Volkswagen",
    "XTA": "Lada",
    "YT9": "Koenigsegg",
    "YV1": "Volvo",
    "ZFF": "Ferrari",
}


# ISO 3780 regions: the first character, and a range of second characters in the order
# A–Z (without I, O, Q) then 1–9, 0. Only the ranges of countries that build cars.
_SECOND = "ABCDEFGHJKLMNPRSTUVWXYZ1234567890"
_COUNTRIES = [
    ("1", "A", "0", "United States"),
    ("4", "A", "0", "United States"),
    ("5", "A", "0", "United States"),
    ("2", "A", "0", "Canada"),
    ("3", "A", "W", "Mexico"),
    ("6", "A", "W", "Australia"),
    ("9", "A", "E", "Brazil"),
    ("J", "A", "0", "Japan"),
    ("K", "L", "R", "South Korea"),
    ("L", "A", "0", "China"),
    ("M", "A", "E", "India"),
    ("M", "L", "R", "Thailand"),
    ("N", "L", "R", "Turkey"),
    ("S", "A", "M", "United Kingdom"),
    ("S", "N", "T", "Germany"),
    ("S", "U", "Z", "Poland"),
    ("T", "A", "H", "Switzerland"),
    ("T", "J", "P", "Czech Republic"),
    ("T", "R", "V", "Hungary"),
    ("T", "W", "1", "Portugal"),
    ("V", "A", "E", "Austria"),
    ("V", "F", "R", "France"),
    ("V", "S", "W", "Spain"),
    ("W", "A", "0", "Germany"),
    ("X", "L", "R", "Netherlands"),
    ("X", "S", "W", "Russia"),
    ("X", "3", "0", "Russia"),
    ("Y", "A", "E", "Belgium"),
    ("Y", "F", "K", "Finland"),
    ("Y", "S", "W", "Sweden"),
    ("Z", "A", "R", "Italy"),
]


def country(wmi: str | None) -> str | None:
    """The country a WMI's first two characters assign (ISO 3780), for the car-building ones."""
    if not wmi or len(wmi) < 2 or wmi[1] not in _SECOND:
        return None
    position = _SECOND.index(wmi[1])
    for first, low, high, name in _COUNTRIES:
        if wmi[0] == first and _SECOND.index(low) <= position <= _SECOND.index(high):
            return name
    return None


@dataclass(frozen=True)
class VinDecode:
    vin: str
    valid: bool
    reason: str | None
    model_year: int | None
    wmi: str | None
    manufacturer: str | None
    country: str | None

    def as_dict(self) -> dict:
        return asdict(self)


def check_digit(vin: str) -> str:
    """ISO 3779 check digit: weighted transliteration sum mod 11, 10 written as X."""
    remainder = sum(_TRANSLITERATION[c] * w for c, w in zip(vin, _WEIGHTS)) % 11
    return "X" if remainder == 10 else str(remainder)


def year_code(year: int) -> str:
    """The position-10 character for a model year."""
    return _YEAR_CODES[(year - 1980) % 30]


def year_candidates(vin: str) -> list[int]:
    """The model years the year code can mean, oldest first (empty when the code is not a year)."""
    position = _YEAR_POSITION_BY_WMI.get(vin[:3], 10)
    base = _YEAR_OF_CODE.get(vin[position - 1 : position])
    return [] if base is None else [base, base + 30]


def model_year(vin: str, stated_year: int | None = None, today: dt.date | None = None) -> int | None:
    """Resolve the 30-year cycle: the DMS's stated year if it fits, else the position-7 rule."""
    latest = (today or dt.date.today()).year + 1
    candidates = [year for year in year_candidates(vin) if year <= latest]
    if not candidates:
        return None
    if stated_year in candidates:
        return stated_year
    if len(candidates) == 1:
        return candidates[0]
    # 49 CFR 565.15: from 2010 on, position 7 of a passenger vehicle's VIN is a letter.
    return candidates[1] if vin[6].isalpha() else candidates[0]


def decode(raw: str, stated_year: int | None = None) -> VinDecode:
    """Everything the VIN alone says; `valid` means well-formed with a correct check digit."""
    vin = (raw or "").strip().upper()
    wmi = vin[:3] if len(vin) >= 3 else None
    maker = (MANUFACTURERS.get(wmi or ""), country(wmi))
    if len(vin) != 17:
        return VinDecode(vin, False, f"length {len(vin)}, not 17", None, wmi, *maker)
    illegal = sorted({c for c in vin if c not in _TRANSLITERATION or c in "IOQ"})
    if illegal:
        reason = f"contains {', '.join(illegal)}, which a VIN never uses"
        return VinDecode(vin, False, reason, None, wmi, *maker)
    year = model_year(vin, stated_year)
    expected = check_digit(vin)
    if vin[8] != expected:
        reason = f"check digit is {vin[8]}, the VIN's characters give {expected}"
        return VinDecode(vin, False, reason, year, wmi, *maker)
    return VinDecode(vin, True, None, year, wmi, *maker)
