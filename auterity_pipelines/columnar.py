"""The conform rules of `conform.py` on Arrow columns of extract text, for the rows they settle.

A value takes the fast path only where its result is provably the one the per-record rule
gives: an ISO 8601 time in the common form, a plain decimal, a whole number, ASCII text where
case is changed. Everything else (and every row of an entity with no column rules here, such
as vehicles with their VIN decoding) is left to the per-record conformers, which normalise it
or say why it cannot load. `tests/unit/test_columnar.py` holds the two to agreement.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# What str.strip() strips: every character Python calls whitespace (all below U+3001).
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
_DATE_TIME = (
    r"^(19|20|21)\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[T ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?"
)
_ZONED = _DATE_TIME + r"(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$"
_NAIVE = _DATE_TIME + "$"
_WHOLE = r"^-?\d{1,9}$"
UTC_MICROS = pa.timestamp("us", tz="UTC")


@dataclass
class Column:
    """One converted column: its values, where the fast path settled them, and where the
    database reads the same value from the field's stripped text (None: nowhere)."""

    values: pa.Array
    ok: np.ndarray  # bool per row
    derivable: np.ndarray | None = None


def _bools(mask: pa.Array) -> np.ndarray:
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False).astype(bool)


def _cut(values: pa.Array, limit: int) -> pa.Array:
    """At most `limit` characters; cutting is skipped where no value has that many bytes."""
    longest = pc.max(pc.binary_length(values)).as_py()
    return values if longest is None or longest <= limit else pc.utf8_slice_codeunits(values, 0, limit)


def text(values: pa.Array, limit: int = 4000) -> pa.Array:
    """`conform.text` on a column: stripped, cut to `limit` characters, empty as null."""
    cut = _cut(pc.utf8_trim(values, WHITESPACE), limit)
    return pc.if_else(pc.equal(cut, ""), pa.scalar(None, pa.string()), cut)


def ascii_case(values: pa.Array, limit: int, upper: bool, longest: int | None = None) -> Column:
    """Text lower- or upper-cased; only ASCII is settled here, where Arrow and Python agree."""
    cut = text(values, limit)
    ok = pc.or_kleene(pc.is_null(cut), pc.string_is_ascii(cut))
    if longest is not None:
        ok = pc.and_kleene(ok, pc.or_kleene(pc.is_null(cut), pc.less_equal(pc.utf8_length(cut), longest)))
    return Column(pc.ascii_upper(cut) if upper else pc.ascii_lower(cut), _bools(ok))


def required(column: Column) -> Column:
    return Column(column.values, column.ok & _bools(pc.is_valid(column.values)), column.derivable)


def times(values: pa.Array, tz: ZoneInfo) -> Column:
    """ISO 8601 text to UTC, a time without an offset being the rooftop's local time."""
    raw = text(values)
    micros = np.zeros(len(raw), dtype="int64")
    settled = _bools(pc.is_null(raw))
    zoned = _bools(pc.match_substring_regex(raw, _ZONED))
    rest = ~zoned & ~settled
    naive = np.zeros(len(raw), dtype=bool)
    if rest.any():  # extracts mostly write one form: look for the other only where needed
        naive[rest] = _bools(pc.match_substring_regex(pc.filter(raw, pa.array(rest)), _NAIVE))
    for mask, parse in ((zoned, _zoned_micros), (naive, lambda v: _naive_micros(v, tz))):
        if mask.any():
            got, ok = parse(pc.filter(raw, pa.array(mask)))
            where = np.flatnonzero(mask)
            micros[where] = got
            settled[where[ok]] = True
    missing = _bools(pc.is_null(raw))
    valid = settled & ~missing
    # Written with its offset, the text reads as the same instant anywhere.
    derivable = missing | (zoned & settled)
    return Column(pa.array(micros, type=pa.int64(), mask=~valid).cast(UTC_MICROS), settled, derivable)


def _cast_each(values: pa.Array, target: pa.DataType) -> tuple[np.ndarray, np.ndarray]:
    """Cast text to times; a value Arrow refuses (the 30th of February) is left unsettled."""
    try:
        return pc.cast(values, target).cast(pa.int64()).to_numpy(zero_copy_only=False), np.ones(
            len(values), dtype=bool
        )
    except pa.ArrowInvalid:
        out, ok = np.zeros(len(values), dtype="int64"), np.zeros(len(values), dtype=bool)
        for i, value in enumerate(values):
            try:
                out[i] = pc.cast(pa.array([value.as_py()]), target).cast(pa.int64())[0].as_py()
                ok[i] = True
            except pa.ArrowInvalid:
                pass
        return out, ok


def _zoned_micros(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    return _cast_each(values, UTC_MICROS)


_MINUTE = 60_000_000
_EPOCH = dt.datetime(1970, 1, 1)


def _naive_micros(values: pa.Array, tz: ZoneInfo) -> tuple[np.ndarray, np.ndarray]:
    """Local wall times to UTC with Python's own rule (fold 0), one zone lookup per minute.

    A minute holding a change of offset is left to the per-record rule.
    """
    local, ok = _cast_each(values, pa.timestamp("us"))
    minutes, inverse = np.unique(local // _MINUTE, return_inverse=True)
    offsets = np.zeros(len(minutes), dtype="int64")
    steady = np.ones(len(minutes), dtype=bool)
    for i, minute in enumerate(minutes.tolist()):
        start = _EPOCH + dt.timedelta(minutes=minute)
        first = start.replace(tzinfo=tz).utcoffset()
        last = (start + dt.timedelta(microseconds=_MINUTE - 1)).replace(tzinfo=tz).utcoffset()
        offsets[i] = first // dt.timedelta(microseconds=1)
        steady[i] = first == last
    return local - offsets[inverse], ok & steady[inverse]


def decimals(values: pa.Array, minimum: int | None, whole_digits: int) -> Column:
    """Plain decimals (no sign where none may be, no separators, at most six places) kept as
    written: the text a Decimal of them prints, so the database reads the same number."""
    raw = text(values, 64)
    sign = "" if minimum == 0 else "-?"
    pattern = rf"^{sign}(0|[1-9]\d{{0,{whole_digits - 1}}})(\.\d{{1,6}})?$"
    ok = pc.or_kleene(pc.is_null(raw), pc.match_substring_regex(raw, pattern))
    return Column(raw, _bools(ok))


def whole(values: pa.Array, low: int, high: int, need: bool = False) -> Column:
    raw = text(values, 64)
    matches = _bools(pc.match_substring_regex(raw, _WHOLE))
    numbers = np.zeros(len(raw), dtype="int64")
    if matches.any():
        numbers[matches] = pc.cast(pc.filter(raw, pa.array(matches)), pa.int64()).to_numpy()
    in_range = matches & (numbers >= low) & (numbers <= high)
    missing = _bools(pc.is_null(raw))
    ok = in_range | (missing & (not need))
    return Column(pa.array(numbers, mask=~in_range), ok)


_YES = ["true", "yes", "y", "1", "opt-in", "opted_in", "in"]
_NO = ["false", "no", "n", "0", "opt-out", "opted_out", "out"]


def consent(values: pa.Array) -> Column:
    raw = pc.ascii_lower(text(values, 20))
    yes, no = pc.is_in(raw, pa.array(_YES)), pc.is_in(raw, pa.array(_NO))
    ok = pc.or_kleene(pc.is_null(raw), pc.and_kleene(pc.string_is_ascii(raw), pc.or_kleene(yes, no)))
    return Column(pc.if_else(pc.is_null(raw), pa.scalar(None, pa.bool_()), yes), _bools(ok))


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
            fits = pc.or_kleene(pc.is_null(values), pc.less_equal(pc.utf8_length(values), self.longest))
            ok = pc.and_kleene(ok, fits)
        return Column(values, _bools(ok))


@dataclass(frozen=True)
class Number:
    """A plain decimal (`conform.parse_decimal`), or a whole number in a range (`parse_int`)."""

    source: str
    minimum: int | None = 0
    whole_digits: int = 10
    whole: tuple[int, int] | None = None  # (low, high): a whole number
    need: bool = False
    kind = NUMBER

    def __call__(self, f: Fields, tz: ZoneInfo) -> Column:
        if self.whole:
            column = whole(f[self.source], *self.whole, need=self.need)
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


def _year_limit() -> int:
    return dt.date.today().year + 2


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
        "vehicle_year": Number("vehicle_year", whole=(1900, _year_limit())),
        "vehicle_make": PlainText("vehicle_make", 60),
        "vehicle_model": PlainText("vehicle_model", 80),
        "vehicle_vin": Cased("vehicle_vin", upper=True),
        "comments": PlainText("comments"),
        "first_response_at": Time("first_response_at"),
        "updated_at": _updated,
    },
}
KEY = PlainText("source_id", 128, need=True)  # the raw key's id: `raw_key`'s rule


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


def unchanged(values: pa.Array, limit: int) -> np.ndarray:
    """Where `text` returns the value as written (or null for an empty one)."""
    return _bools(pc.equal(_cut(pc.utf8_trim(values, WHITESPACE), limit), values))


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
        conformed &= ~_bools(early)
    return Converted(source_id.values, modified, keyed, columns, conformed, plain)
