"""What each contract table must satisfy, as data: Great Expectations expectation names and arguments.

Nothing here imports Great Expectations; `quality.gx` turns these into expectations.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from auterity_pipelines.schema import CONFORMED_TABLES

ERROR, WARN = "ERROR", "WARN"
FUTURE_TOLERANCE = dt.timedelta(hours=1)  # DMS clocks drift; an hour ahead is not "in the future"
MIN_REFERENCE_SHARE = 0.95  # references may point at records a later sync brings
MIN_VALID_VIN_SHARE = 0.9
FAILING_ROWS = 20  # failing rows kept in a result's metadata

# Computed before validation (`runner.with_references`): True where the record a row names by
# the second column is known.
REFERENCE_COLUMNS = {
    "deals": {"customer_known": "customer_id", "vin_known": "vin"},
    "repair_orders": {"customer_known": "customer_id", "vin_known": "vin"},
    "repair_order_lines": {"repair_order_known": "ro_number"},
}


@dataclass(frozen=True)
class Expect:
    """One expectation: a Great Expectations class name and its arguments."""

    kind: str
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    name: str
    severity: str
    blocking: bool
    description: str
    tables: tuple[str, ...]  # the contract tables it applies to


CHECKS = [
    Check(
        "schema_matches_contract",
        ERROR,
        True,
        "The warehouse table has exactly the contract's columns.",
        tuple(CONFORMED_TABLES),
    ),
    Check(
        "keys_present_and_unique",
        ERROR,
        True,
        "Every conformed row has its contract key, and no two rows of the day share one.",
        tuple(CONFORMED_TABLES),
    ),
    Check(
        "values_in_range",
        WARN,
        False,
        "Prices, mileage, hours and years in plausible ranges; no date in the future.",
        tuple(CONFORMED_TABLES),
    ),
    Check(
        "references_exist",
        WARN,
        False,
        f"At least {MIN_REFERENCE_SHARE:.0%} of the customers, vehicles and repair orders rows refer to are known.",
        tuple(REFERENCE_COLUMNS),
    ),
    Check(
        "valid_vin_share",
        WARN,
        False,
        f"At least {MIN_VALID_VIN_SHARE:.0%} of the day's vehicles have a valid VIN.",
        ("vehicles",),
    ),
    Check(
        "volume_within_trailing_range",
        ERROR,
        False,
        "The day's rows are neither near zero nor a spike against the trailing 14-day median.",
        tuple(CONFORMED_TABLES),
    ),
]


def key_columns(table: str) -> list[str]:
    return [c.name for c in CONFORMED_TABLES[table].primary_key.columns]


def contract_columns(table: str) -> list[str]:
    return [c.name for c in CONFORMED_TABLES[table].columns]


# Checks whose every rule is judged row by row: their counts add up over any split of a day's
# rows, so they run on each `rows.STREAM_ROWS` rows as a load conforms them, and the columns
# only they read are not kept to the end of the day.
STREAMED = ("values_in_range", "valid_vin_share")


def streamed_groups(table: str, now: dt.datetime) -> dict[str, list[Expect]]:
    """The streamed checks of a table, with their expectations."""
    return {
        c.name: expectations(c.name, table, now) for c in CHECKS if c.name in STREAMED and table in c.tables
    }


def kept_columns(table: str) -> frozenset[str]:
    """The columns the whole-day rules read (keys, and what references name)."""
    return frozenset({*key_columns(table), *REFERENCE_COLUMNS.get(table, {}).values()} - {"dealership_id"})


def checked_columns(table: str) -> frozenset[str]:
    """The contract columns the row checks read: keys, ranges, VIN validity and what
    references name. Nothing else of a day's rows is held for the checks."""
    now = dt.datetime.now(dt.UTC)
    named = {
        column
        for check in ("keys_present_and_unique", "values_in_range", "valid_vin_share")
        if any(c.name == check and table in c.tables for c in CHECKS)
        for e in expectations(check, table, now)
        for column in [e.kwargs.get("column"), *e.kwargs.get("column_list", ())]
        if column
    }
    # The dealership is the partition's own: a frame adds it once, as a category.
    return frozenset(named | set(REFERENCE_COLUMNS.get(table, {}).values())) - {"dealership_id"}


def _between(column: str, low: float | None, high: float | None) -> Expect:
    return Expect("ExpectColumnValuesToBeBetween", {"column": column, "min_value": low, "max_value": high})


def _not_future(column: str, now: dt.datetime) -> Expect:
    return Expect("ExpectColumnValuesToBeBetween", {"column": column, "max_value": now + FUTURE_TOLERANCE})


def range_expectations(table: str, now: dt.datetime) -> list[Expect]:
    latest_year = now.year + 2
    ranges = {
        "customers": [],
        "vehicles": [
            _between("mileage", 0, 999_999),
            _between("list_price", 500, 500_000),
            _between("model_year", 1950, latest_year),
        ],
        "deals": [_between("sale_price", 100, 500_000), _not_future("sold_at", now)],
        "repair_orders": [
            _between("total_amount", -10_000, 100_000),
            _not_future("opened_at", now),
            _not_future("closed_at", now),
        ],
        "repair_order_lines": [_between("labor_hours", 0, 100), _between("amount", -10_000, 50_000)],
        "leads": [
            _between("vehicle_year", 1950, latest_year),
            _not_future("received_at", now),
            _not_future("first_response_at", now),
        ],
    }
    return [*ranges[table], _not_future("updated_at", now)]


def expectations(check: str, table: str, now: dt.datetime) -> list[Expect]:
    """The expectations of one check on one table's conformed rows (the schema check reads the table)."""
    if check == "schema_matches_contract":
        return [
            Expect(
                "ExpectTableColumnsToMatchSet", {"column_set": contract_columns(table), "exact_match": True}
            )
        ]
    if check == "keys_present_and_unique":
        keys = key_columns(table)
        return [
            *(Expect("ExpectColumnValuesToNotBeNull", {"column": k}) for k in keys),
            Expect("ExpectCompoundColumnsToBeUnique", {"column_list": keys}),
        ]
    if check == "values_in_range":
        return range_expectations(table, now)
    if check == "references_exist":
        return [
            Expect(
                "ExpectColumnValuesToBeInSet",
                {"column": column, "value_set": [True], "mostly": MIN_REFERENCE_SHARE},
            )
            for column in REFERENCE_COLUMNS[table]
        ]
    if check == "valid_vin_share":
        # A share of rows, not a mean: a row-level expectation is judged day by day in a month.
        return [
            Expect(
                "ExpectColumnValuesToBeInSet",
                {"column": "vin_valid", "value_set": [True], "mostly": MIN_VALID_VIN_SHARE},
            )
        ]
    raise ValueError(f"{check} is not a Great Expectations check")
