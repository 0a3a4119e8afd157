"""One check of one table on one rooftop-day's conformed rows: what the warehouse adds, then the verdict."""

from __future__ import annotations

import datetime as dt
import functools
import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Column, Engine, MetaData, Table, Text, exists, select, text

from auterity_pipelines.quality.suites import REFERENCE_COLUMNS, STREAMED, Check, expectations, key_columns
from auterity_pipelines.quality.volume import judge_volume
from auterity_pipelines.schema import CONFORMED_TABLES, customers, repair_orders, vehicles

if TYPE_CHECKING:
    from auterity_pipelines.quality.rows import TableRows


@dataclass
class Verdict:
    passed: bool
    rows: int
    summary: str
    failing_rows: list[dict] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


DAY = "day"  # the column that says which day of a history month a row belongs to


def run_checks(
    engine: Engine,
    checks: list[Check],
    table: str,
    rows: TableRows,
    dealership_id: str,
    day: dt.date,
    now: dt.datetime,
) -> dict[str, Verdict]:
    """The verdict of each check of one table on one rooftop-day's conformed rows."""
    return run_checks_by_day(engine, checks, table, rows, dealership_id, [day], now)[day]


def run_checks_by_day(
    engine: Engine,
    checks: list[Check],
    table: str,
    rows: TableRows,
    dealership_id: str,
    days: list[dt.date],
    now: dt.datetime,
) -> dict[dt.date, dict[str, Verdict]]:
    """Each check's verdict for each day, from Great Expectations runs over all the days' rows
    together (which have a `day` column when there is more than one day): one per frame, plus
    those the row-by-row checks had while the rows were loaded (`rows.tallies`)."""
    from auterity_pipelines.quality.gx import count, judge
    from auterity_pipelines.quality.store import volume_histories

    by = DAY if len(days) > 1 else None
    sizes = rows.counts(by) if by else {days[0]: len(rows)}
    counts = {day: sizes.get(day, 0) for day in days}
    verdicts: dict[dt.date, dict[str, Verdict]] = {day: {} for day in days}
    row_checks: dict[str, list] = {}
    histories = (
        volume_histories(engine, dealership_id, table, days)
        if any(c.name == "volume_within_trailing_range" for c in checks)
        else {}
    )
    for check in checks:
        for day in days:
            if check.name == "volume_within_trailing_range":
                history = histories[day]
                v = judge_volume(counts[day], history)
                extra = {
                    "trailing_days_loaded": len(history),
                    "trailing_median": v.median,
                    "measured": v.measured,
                }
                verdicts[day][check.name] = Verdict(
                    v.passed, counts[day], v.reason, extra={k: x for k, x in extra.items() if x is not None}
                )
            elif check.name == "schema_matches_contract":
                verdicts[day][check.name] = _schema_verdict(table, _stored_columns(engine, table))
            elif counts[day] == 0:
                verdicts[day][check.name] = Verdict(True, 0, "no rows this day")
            else:
                row_checks[check.name] = expectations(check.name, table, now)
    if row_checks:
        if "references_exist" in row_checks:
            with_references(engine, table, rows, dealership_id)
        # A large day's row-by-row checks ran as it was loaded: their counts come with the rows.
        tallies = {k: t for k, t in (rows.tallies or {}).items() if k[1] in row_checks}
        groups = {n: e for n, e in row_checks.items() if rows.tallies is None or n not in STREAMED}
        if groups:
            count(rows.frames(), groups, key_columns(table), by, tallies)
        parts = sizes if by else {None: len(rows)}
        for part, outcomes in judge(tallies, parts, row_checks).items():
            for name, outcome in outcomes.items():
                verdicts[part if by else days[0]][name] = Verdict(
                    outcome.passed, outcome.rows, outcome.summary(), outcome.failing_rows
                )
    return verdicts


def _stored_columns(engine: Engine, table: str) -> tuple[str, ...]:
    """The columns the warehouse table has now (not what the code expects)."""
    from sqlalchemy import inspect

    return tuple(c["name"] for c in inspect(engine).get_columns(CONFORMED_TABLES[table].name))


@functools.cache
def _schema_verdict(table: str, columns: tuple[str, ...]) -> Verdict:
    """The schema suite on a table with these columns: a function of the columns alone, so one
    GX run per column set and process serves every sync. The columns GX would pass (exactly the
    contract's) pass without a run; any other set goes through GX, which names the difference."""
    import pandas as pd

    from auterity_pipelines.quality.gx import validate_groups
    from auterity_pipelines.quality.suites import contract_columns

    if set(columns) == set(contract_columns(table)):
        return Verdict(True, 0, f"the table has exactly the contract's {len(columns)} columns")
    name = "schema_matches_contract"
    (outcome,) = validate_groups(
        pd.DataFrame(columns=list(columns)), {name: expectations(name, table, dt.datetime.now(dt.UTC))}, []
    ).values()
    return Verdict(outcome.passed, outcome.rows, outcome.summary(), outcome.failing_rows)


def unknown(engine: Engine, column, values, *where) -> set:
    """Which of `values` (an Arrow array) the warehouse lacks in `column`: one anti-join
    against the distinct values, staged in a temporary table (not thousands of IN lists)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    if isinstance(values, pa.ChunkedArray) and pa.types.is_dictionary(values.type):
        # Each block's distinct values are its dictionary (`PartitionRows.add`); blocks share few,
        # and a value staged twice is found missing once.
        values = pa.chunked_array([c.dictionary for c in values.chunks], values.type.value_type)
    else:
        values = pc.unique(values)
    values = pc.drop_null(values).cast(pa.string())
    if len(values) == 0:
        return set()
    staged = Table("check_values", MetaData(), Column("v", Text), prefixes=["TEMPORARY"])
    query = select(staged.c.v).where(~exists().where(column == staged.c.v, *where))
    with engine.begin() as conn:
        staged.create(conn, checkfirst=True)
        conn.execute(staged.delete())
        raw = conn.connection.driver_connection
        if engine.dialect.name == "postgresql":
            buffer = io.BytesIO()  # as CSV from Arrow: no Python string per value
            pa_csv.write_csv(pa.table({"v": values}), buffer, pa_csv.WriteOptions(include_header=False))
            with raw.cursor() as cur, cur.copy("COPY check_values (v) FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(buffer.getbuffer())
            conn.execute(text("ANALYZE check_values"))
        else:
            raw.executemany("INSERT INTO check_values (v) VALUES (?)", ((v,) for v in values.to_pylist()))
        missing = set(conn.execute(query).scalars())
        staged.drop(conn)
    return missing


def with_references(engine: Engine, table: str, rows: TableRows, dealership_id: str) -> None:
    """Give the rows a True/False column per reference: is the record it names in the warehouse?

    Customers and repair orders are the rooftop's own. A deal's vehicle is the rooftop's stock; a
    repair order's may be any the group has seen, or a car never stocked, known by a valid VIN.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from auterity_pipelines.vin import decode

    where = {
        "customer_id": (customers.c.customer_id, customers.c.dealership_id == dealership_id),
        "vin": (vehicles.c.vin, *([vehicles.c.dealership_id == dealership_id] if table == "deals" else [])),
        "ro_number": (repair_orders.c.ro_number, repair_orders.c.dealership_id == dealership_id),
    }
    for known, name in REFERENCE_COLUMNS.get(table, {}).items():
        values = rows.column(name)
        missing = unknown(engine, *where[name][:1], values, *where[name][1:])
        if name == "vin" and table == "repair_orders":
            missing = {v for v in missing if not decode(v).valid}
        lacking = _among(values, pa.array(sorted(missing), pa.string()))
        rows.set(known, pc.or_kleene(pc.is_null(values), pc.invert(lacking)))


def _among(values, found):
    """True where a value is one of `found`: a dictionary block is looked up entry by entry,
    not decoded row by row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = [
        pc.take(pc.is_in(c.dictionary, value_set=found), c.indices)
        if pa.types.is_dictionary(c.type)
        else pc.is_in(c, value_set=found)
        for c in values.chunks
    ]
    return pa.chunked_array(chunks, pa.bool_())
