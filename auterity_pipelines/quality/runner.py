"""One check of one table on one rooftop-day's conformed rows: what the warehouse adds, then the verdict."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from auterity_pipelines.quality.suites import Check, expectations, key_columns
from auterity_pipelines.quality.volume import judge_volume
from auterity_pipelines.schema import CONFORMED_TABLES, customers, repair_orders, vehicles

_CHUNK = 900  # values per IN list, under every backend's limit on bound parameters


@dataclass
class Verdict:
    passed: bool
    rows: int
    summary: str
    failing_rows: list[dict] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


def run_checks(
    engine: Engine,
    checks: list[Check],
    table: str,
    frame,
    dealership_id: str,
    day: dt.date,
    now: dt.datetime,
) -> dict[str, Verdict]:
    """The verdict of each check of one table on one rooftop-day's conformed rows."""
    from auterity_pipelines.quality.gx import validate_groups
    from auterity_pipelines.quality.store import volume_history

    verdicts: dict[str, Verdict] = {}
    row_checks: dict[str, list] = {}
    for check in checks:
        if check.name == "volume_within_trailing_range":
            history = volume_history(engine, dealership_id, table, day)
            v = judge_volume(len(frame), history)
            extra = {
                "trailing_days_loaded": len(history),
                "trailing_median": v.median,
                "measured": v.measured,
            }
            verdicts[check.name] = Verdict(
                v.passed, len(frame), v.reason, extra={k: x for k, x in extra.items() if x is not None}
            )
        elif check.name == "schema_matches_contract":
            verdicts[check.name] = _schema_verdict(table, _stored_columns(engine, table))
        elif frame.empty:
            verdicts[check.name] = Verdict(True, 0, "no rows this day")
        else:
            row_checks[check.name] = expectations(check.name, table, now)
    if row_checks:
        if "references_exist" in row_checks:
            frame = with_references(engine, table, frame, dealership_id)
        for name, outcome in validate_groups(frame, row_checks, key_columns(table)).items():
            verdicts[name] = Verdict(outcome.passed, outcome.rows, outcome.summary(), outcome.failing_rows)
    return verdicts


def _stored_columns(engine: Engine, table: str) -> tuple[str, ...]:
    """The columns the warehouse table has now (not what the code expects)."""
    from sqlalchemy import inspect

    return tuple(c["name"] for c in inspect(engine).get_columns(CONFORMED_TABLES[table].name))


@functools.cache
def _schema_verdict(table: str, columns: tuple[str, ...]) -> Verdict:
    """The schema suite on a table with these columns: a function of the columns alone, so one
    GX run per column set and process serves every sync."""
    import pandas as pd

    from auterity_pipelines.quality.gx import validate_groups

    name = "schema_matches_contract"
    (outcome,) = validate_groups(
        pd.DataFrame(columns=list(columns)), {name: expectations(name, table, dt.datetime.now(dt.UTC))}, []
    ).values()
    return Verdict(outcome.passed, outcome.rows, outcome.summary(), outcome.failing_rows)


def known(engine: Engine, column, values, *where) -> set:
    """Which of `values` the warehouse has in `column`."""
    values = list(values)
    found: set = set()
    with engine.connect() as conn:
        for start in range(0, len(values), _CHUNK):
            chunk = values[start : start + _CHUNK]
            found.update(conn.execute(select(column).where(column.in_(chunk), *where)).scalars())
    return found


def with_references(engine: Engine, table: str, frame, dealership_id: str):
    """The frame with a True/False column per reference: is the record it names in the warehouse?

    Customers and repair orders are the rooftop's own. A deal's vehicle is the rooftop's stock; a
    repair order's may be any the group has seen, or a car never stocked, known by a valid VIN.
    """
    from auterity_pipelines.vin import decode

    frame = frame.copy()
    if table in ("deals", "repair_orders"):
        ids = known(
            engine,
            customers.c.customer_id,
            frame["customer_id"].dropna().unique(),
            customers.c.dealership_id == dealership_id,
        )
        frame["customer_known"] = frame["customer_id"].isna() | frame["customer_id"].isin(ids)
        vins = frame["vin"].dropna().unique()
        if table == "deals":
            stocked = known(engine, vehicles.c.vin, vins, vehicles.c.dealership_id == dealership_id)
            frame["vin_known"] = frame["vin"].isna() | frame["vin"].isin(stocked)
        else:
            seen = known(engine, vehicles.c.vin, vins) | {v for v in vins if decode(v).valid}
            frame["vin_known"] = frame["vin"].isna() | frame["vin"].isin(seen)
    elif table == "repair_order_lines":
        numbers = known(
            engine,
            repair_orders.c.ro_number,
            frame["ro_number"].unique(),
            repair_orders.c.dealership_id == dealership_id,
        )
        frame["repair_order_known"] = frame["ro_number"].isin(numbers)
    return frame
