"""The conform rules of `conform.py` on Arrow columns of extract text, for the rows they settle.

A value takes the fast path only where its result is provably the one the per-record rule
gives: an ISO 8601 time in the common form, a plain decimal, a whole number, ASCII text where
case is changed. Everything else (and every row of an entity with no column rules here, such
as vehicles with their VIN decoding) is left to the per-record conformers, which normalise it
or say why it cannot load. `tests/unit/test_columnar.py` holds the two to agreement.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Boolean, DateTime, Integer

from auterity_pipelines.column_kernels import (
    UTC_MICROS,
    Column,
    ascii_case,
    bools,
    consent,
    decimals,
    fits,
    required,
    text,
    times,
    unchanged,
    whole,
)
from auterity_pipelines.conform import CONFORMERS, latest_model_year
from auterity_pipelines.schema import CONFORMED_TABLES


class Fields:
    """An extract block's columns by name; an absent column reads as nulls, as `dict.get` does."""

    def __init__(self, block: pa.Table):
        self.block = block
        self.names = set(block.column_names)

    def __getitem__(self, name: str) -> pa.Array:
        if name in self.names:
            return self.block.column(name).combine_chunks()
        return pa.nulls(self.block.num_rows, pa.string())


# Each rule names the field it reads and what kind of value it makes. `TEXT`, `NUMBER` and
# `TIME` values are what the database itself reads from the field's stripped text wherever the
# rule's `derivable` rows say so (plain text: always), which the loader uses to stage less.
TEXT, NUMBER, TIME, OTHER = "text", "number", "time", "other"


@dataclass(frozen=True)
class PlainText:
    """`text(record[source], limit)`; `need`: required; `longest`: must fit a key column."""

    source: str
    limit: int = 4000
    need: bool = False
    longest: int | None = None
    kind = TEXT

    def __call__(self, f: Fields, tz: ZoneInfo) -> Column:
        values = text(f[self.source], self.limit)
        ok = pc.is_valid(values) if self.need else pa.array(np.ones(len(values), dtype=bool))
        if self.longest is not None:
            ok = pc.and_kleene(ok, fits(values, self.longest))
        return Column(values, bools(ok))


@dataclass(frozen=True)
class Number:
    """A plain decimal (`conform.parse_decimal`), or a whole number in a range (`parse_int`)."""

    source: str
    minimum: int | None = 0
    whole_digits: int = 10
    whole: tuple[int, int | None] | None = None  # (low, high): a whole number; high None: a model year
    need: bool = False
    kind = NUMBER

    def __call__(self, f: Fields, tz: ZoneInfo) -> Column:
        if self.whole:
            low, high = self.whole
            high = latest_model_year() if high is None else high  # today's, as conform.py asks it
            column = whole(f[self.source], low, high, need=self.need)
        else:
            column = decimals(f[self.source], self.minimum, self.whole_digits)
        column.derivable = column.ok
        return column


@dataclass(frozen=True)
class Time:
    """`conform.parse_time`: derivable where the text carries its own offset."""

    source: str
    need: bool = False
    kind = TIME

    def __call__(self, f: Fields, tz: ZoneInfo) -> Column:
        return required(times(f[self.source], tz)) if self.need else times(f[self.source], tz)


@dataclass(frozen=True)
class Modified:
    """`updated_at`: when the DMS last changed the record, as its raw key reads it."""

    source = "modified_at"
    kind = TIME


@dataclass(frozen=True)
class Cased:
    """An e-mail address lower-cased, or a VIN upper-cased (at most 17 characters)."""

    source: str
    upper: bool = False
    kind = OTHER

    def __call__(self, f: Fields, tz: ZoneInfo) -> Column:
        if self.upper:
            return ascii_case(f[self.source], 64, upper=True, longest=17)
        return ascii_case(f[self.source], 320, upper=False)


@dataclass(frozen=True)
class Consent:
    source: str
    kind = OTHER

    def __call__(self, f: Fields, tz: ZoneInfo) -> Column:
        return consent(f[self.source])


Rule = PlainText | Number | Time | Modified | Cased | Consent
_own_id = PlainText("source_id", longest=128)
_updated = Modified()


def _money(source: str, minimum: int | None = 0, whole_digits: int = 10) -> Number:
    return Number(source, minimum, whole_digits)


# Contract column -> rule, per entity, as conform.py builds its rows.
RULES: dict[str, dict[str, Rule]] = {
    "customers": {
        "customer_id": _own_id,
        "first_name": PlainText("first_name", 100),
        "last_name": PlainText("last_name", 100),
        "email": Cased("email"),
        "phone": PlainText("phone", 40),
        "postal_code": PlainText("postal_code", 20),
        "updated_at": _updated,
        "email_opt_in": Consent("email_opt_in"),
        "sms_opt_in": Consent("sms_opt_in"),
    },
    "deals": {
        "deal_id": _own_id,
        "customer_id": PlainText("customer_source_id", 128),
        "vin": Cased("vin", upper=True),
        "deal_type": PlainText("deal_type", 40),
        "sale_price": _money("sale_price"),
        "sold_at": Time("sold_at", need=True),
        "lead_id": PlainText("lead_source_id", 128),
        "updated_at": _updated,
    },
    "repair_orders": {
        "ro_number": PlainText("ro_number", 128, need=True),
        "opened_at": Time("opened_at", need=True),
        "closed_at": Time("closed_at"),
        "customer_id": PlainText("customer_source_id", 128),
        "vin": Cased("vin", upper=True),
        "total_amount": _money("total_amount", minimum=None),
        "source_id": _own_id,
        "updated_at": _updated,
    },
    "repair_order_lines": {
        "ro_number": PlainText("ro_number", 128, need=True),
        "line_number": Number("line_number", whole=(1, 10_000), need=True),
        "op_code": PlainText("op_code", 20),
        "complaint": PlainText("complaint"),
        "cause": PlainText("cause"),
        "correction": PlainText("correction"),
        "labor_hours": _money("labor_hours", whole_digits=4),
        "amount": _money("amount", minimum=None),
        "updated_at": _updated,
    },
    "leads": {
        "lead_id": _own_id,
        "source": PlainText("source", 80),
        "received_at": Time("received_at", need=True),
        "first_name": PlainText("first_name", 100),
        "last_name": PlainText("last_name", 100),
        "email": Cased("email"),
        "phone": PlainText("phone", 40),
        "vehicle_year": Number("vehicle_year", whole=(1900, None)),
        "vehicle_make": PlainText("vehicle_make", 60),
        "vehicle_model": PlainText("vehicle_model", 80),
        "vehicle_vin": Cased("vehicle_vin", upper=True),
        "comments": PlainText("comments"),
        "first_response_at": Time("first_response_at"),
        "updated_at": _updated,
    },
}
KEY = PlainText("source_id", 128, need=True)  # the raw key's id: `raw_key`'s rule


def arrow_type(column) -> pa.DataType:
    """How a contract column is carried between the conformers and the database."""
    if isinstance(column.type, DateTime):
        return UTC_MICROS
    if isinstance(column.type, Boolean):
        return pa.bool_()
    if isinstance(column.type, Integer):
        return pa.int64()
    return pa.string()  # text, and decimals as the text that names them exactly


def contract_schema(entity: str) -> pa.Schema:
    """The contract columns a conformer fills (the dealership is the partition's)."""
    table = CONFORMED_TABLES[CONFORMERS[entity][0]]
    return pa.schema([(c.name, arrow_type(c)) for c in table.columns if c.name != "dealership_id"])


def as_arrow(value: object) -> object:
    """A conformer's value as `contract_schema` carries it."""
    return str(value) if isinstance(value, Decimal) else value


@dataclass
class Converted:
    """A block through the fast path: raw keys, contract columns, and which rows it settled."""

    source_id: pa.Array
    modified_at: Column
    keyed: np.ndarray  # raw_key settled: the row has an id and a modification time
    columns: dict[str, Column]  # contract column -> values (empty when not conforming)
    conformed: np.ndarray  # the contract row is settled too
    plain: np.ndarray  # no field the database derives from needs stripping or cutting


def limits(entity: str, conforming: bool) -> dict[str, int]:
    """The fields the database reads values from (`plain`), each with the shortest cut a rule makes."""
    rules = [KEY, Modified(), *(RULES.get(entity, {}).values() if conforming else ())]
    shortest: dict[str, int] = {}
    for rule in rules:
        if rule.kind != OTHER:
            shortest[rule.source] = min(shortest.get(rule.source, 4000), getattr(rule, "limit", 4000))
    return shortest


def convert(
    entity: str, block: pa.Table, tz: ZoneInfo, conforming: bool, skip: frozenset[str] = frozenset()
) -> Converted:
    """The fast path over one block; a row it does not settle goes to the per-record rules.

    Columns in `skip` that are plain text (always settled, derived by the database) are not
    computed.
    """
    fields = Fields(block)
    source_id = KEY(fields, tz)
    modified = Time("modified_at", need=True)(fields, tz)
    keyed = source_id.ok & modified.ok
    plain = np.ones(len(keyed), dtype=bool)
    for source, limit in limits(entity, conforming).items():
        if source in fields.names:
            plain &= unchanged(fields[source], limit)
    rules = RULES.get(entity) if conforming else None
    if not rules:
        return Converted(source_id.values, modified, keyed, {}, np.zeros(len(keyed), dtype=bool), plain)
    conformed = keyed.copy()
    columns = {}
    for name, rule in rules.items():
        if name in skip and isinstance(rule, PlainText) and not rule.need and rule.longest is None:
            continue
        column = modified if isinstance(rule, Modified) else rule(fields, tz)
        columns[name] = column
        conformed &= column.ok
    if entity == "repair_orders":  # a repair order cannot close before it opens
        early = pc.less(columns["closed_at"].values, columns["opened_at"].values)
        conformed &= ~bools(early)
    return Converted(source_id.values, modified, keyed, columns, conformed, plain)
