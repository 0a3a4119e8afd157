"""The conform rules of `conform.py` on Arrow columns of extract text, for the rows they settle.

A value takes the fast path only where its result is provably the one the per-record rule
gives: an ISO 8601 time in the common form, a plain decimal, a whole number, ASCII text where
case is changed. Everything else (and every row of an entity with no column rules here, such
as vehicles with their VIN decoding) is left to the per-record conformers, which normalise it
or say why it cannot load. `tests/unit/test_columnar.py` holds the two to agreement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
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
    """One converted column: its values, and where the fast path settled the value."""

    values: pa.Array
    ok: np.ndarray  # bool per row


def _bools(mask: pa.Array) -> np.ndarray:
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False).astype(bool)


def text(values: pa.Array, limit: int = 4000) -> pa.Array:
    """`conform.text` on a column: stripped, cut to `limit` characters, empty as null."""
    cut = pc.utf8_slice_codeunits(pc.utf8_trim(values, WHITESPACE), 0, limit)
    return pc.if_else(pc.equal(cut, ""), pa.scalar(None, pa.string()), cut)


def plain_text(values: pa.Array, limit: int = 4000) -> Column:
    return Column(text(values, limit), np.ones(len(values), dtype=bool))


def ascii_case(values: pa.Array, limit: int, upper: bool, longest: int | None = None) -> Column:
    """Text lower- or upper-cased; only ASCII is settled here, where Arrow and Python agree."""
    cut = text(values, limit)
    ok = pc.or_kleene(pc.is_null(cut), pc.string_is_ascii(cut))
    if longest is not None:
        ok = pc.and_kleene(ok, pc.or_kleene(pc.is_null(cut), pc.less_equal(pc.utf8_length(cut), longest)))
    return Column(pc.ascii_upper(cut) if upper else pc.ascii_lower(cut), _bools(ok))


def required(column: Column) -> Column:
    return Column(column.values, column.ok & _bools(pc.is_valid(column.values)))


def times(values: pa.Array, tz: ZoneInfo) -> Column:
    """ISO 8601 text to UTC, a time without an offset being the rooftop's local time."""
    raw = text(values)
    micros = np.zeros(len(raw), dtype="int64")
    settled = _bools(pc.is_null(raw))
    zoned = _bools(pc.match_substring_regex(raw, _ZONED))
    naive = _bools(pc.match_substring_regex(raw, _NAIVE))
    for mask, parse in ((zoned, _zoned_micros), (naive, lambda v: _naive_micros(v, tz))):
        if mask.any():
            got, ok = parse(pc.filter(raw, pa.array(mask)))
            where = np.flatnonzero(mask)
            micros[where] = got
            settled[where[ok]] = True
    valid = settled & ~_bools(pc.is_null(raw))
    return Column(pa.array(micros, type=pa.int64(), mask=~valid).cast(UTC_MICROS), settled)


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


Rule = Callable[["Fields", ZoneInfo], Column]


class Fields:
    """An extract block's columns by name; an absent column reads as nulls, as `dict.get` does."""

    def __init__(self, block: pa.Table):
        self.block = block
        self.names = set(block.column_names)

    def __getitem__(self, name: str) -> pa.Array:
        if name in self.names:
            return self.block.column(name).combine_chunks()
        return pa.nulls(self.block.num_rows, pa.string())


def _id(f: Fields, tz: ZoneInfo) -> Column:
    """A record's own id as a contract key: `text(source_id)`, which must fit the key column."""
    cut = text(f["source_id"])
    fits = pc.or_kleene(pc.is_null(cut), pc.less_equal(pc.utf8_length(cut), 128))
    return Column(cut, _bools(fits))


def _t(name: str, limit: int = 4000) -> Rule:
    return lambda f, tz: plain_text(f[name], limit)


def _time(name: str, need: bool = False) -> Rule:
    return lambda f, tz: required(times(f[name], tz)) if need else times(f[name], tz)


def _money(name: str, minimum: int | None = 0, whole_digits: int = 10) -> Rule:
    return lambda f, tz: decimals(f[name], minimum, whole_digits)


_updated: Rule = _time("modified_at")
_email: Rule = lambda f, tz: ascii_case(f["email"], 320, upper=False)  # noqa: E731


def _vin(name: str) -> Rule:
    return lambda f, tz: ascii_case(f[name], 64, upper=True, longest=17)


def _year_limit() -> int:
    return dt.date.today().year + 2


# Contract column -> rule, per entity, in the order conform.py builds its rows.
RULES: dict[str, dict[str, Rule]] = {
    "customers": {
        "customer_id": _id,
        "first_name": _t("first_name", 100),
        "last_name": _t("last_name", 100),
        "email": _email,
        "phone": _t("phone", 40),
        "postal_code": _t("postal_code", 20),
        "updated_at": _updated,
        "email_opt_in": lambda f, tz: consent(f["email_opt_in"]),
        "sms_opt_in": lambda f, tz: consent(f["sms_opt_in"]),
    },
    "deals": {
        "deal_id": _id,
        "customer_id": _t("customer_source_id", 128),
        "vin": _vin("vin"),
        "deal_type": _t("deal_type", 40),
        "sale_price": _money("sale_price"),
        "sold_at": _time("sold_at", need=True),
        "lead_id": _t("lead_source_id", 128),
        "updated_at": _updated,
    },
    "repair_orders": {
        "ro_number": lambda f, tz: required(plain_text(f["ro_number"], 128)),
        "opened_at": _time("opened_at", need=True),
        "closed_at": _time("closed_at"),
        "customer_id": _t("customer_source_id", 128),
        "vin": _vin("vin"),
        "total_amount": _money("total_amount", minimum=None),
        "source_id": _id,
        "updated_at": _updated,
    },
    "repair_order_lines": {
        "ro_number": lambda f, tz: required(plain_text(f["ro_number"], 128)),
        "line_number": lambda f, tz: whole(f["line_number"], 1, 10_000, need=True),
        "op_code": _t("op_code", 20),
        "complaint": _t("complaint"),
        "cause": _t("cause"),
        "correction": _t("correction"),
        "labor_hours": _money("labor_hours", whole_digits=4),
        "amount": _money("amount", minimum=None),
        "updated_at": _updated,
    },
    "leads": {
        "lead_id": _id,
        "source": _t("source", 80),
        "received_at": _time("received_at", need=True),
        "first_name": _t("first_name", 100),
        "last_name": _t("last_name", 100),
        "email": _email,
        "phone": _t("phone", 40),
        "vehicle_year": lambda f, tz: whole(f["vehicle_year"], 1900, _year_limit()),
        "vehicle_make": _t("vehicle_make", 60),
        "vehicle_model": _t("vehicle_model", 80),
        "vehicle_vin": _vin("vehicle_vin"),
        "comments": _t("comments"),
        "first_response_at": _time("first_response_at"),
        "updated_at": _updated,
    },
}


@dataclass
class Converted:
    """A block through the fast path: raw keys, contract columns, and which rows it settled."""

    source_id: pa.Array
    modified_at: pa.Array
    keyed: np.ndarray  # raw_key settled: the row has an id and a modification time
    columns: dict[str, pa.Array]  # contract column -> values (empty when not conforming)
    conformed: np.ndarray  # the contract row is settled too


def convert(entity: str, block: pa.Table, tz: ZoneInfo, conforming: bool) -> Converted:
    """The fast path over one block; a row it does not settle goes to the per-record rules."""
    fields = Fields(block)
    source_id = required(plain_text(fields["source_id"], 128))
    modified = required(times(fields["modified_at"], tz))
    keyed = source_id.ok & modified.ok
    rules = RULES.get(entity) if conforming else None
    if not rules:
        return Converted(source_id.values, modified.values, keyed, {}, np.zeros(len(keyed), dtype=bool))
    conformed = keyed.copy()
    columns = {}
    for name, rule in rules.items():
        column = rule(fields, tz)
        columns[name] = column.values
        conformed &= column.ok
    if entity == "repair_orders":  # a repair order cannot close before it opens
        early = pc.less(columns["closed_at"], columns["opened_at"])
        conformed &= ~_bools(early)
    return Converted(source_id.values, modified.values, keyed, columns, conformed)
