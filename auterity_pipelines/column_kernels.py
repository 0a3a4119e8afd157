"""The conform rules' building blocks on Arrow columns: each returns the values and where it
settled them, exactly as `conform.py` would for one value (`columnar.py` puts them together)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from auterity_pipelines.conform import CONSENT_NO, CONSENT_YES

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


def bools(mask: pa.Array) -> np.ndarray:
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False).astype(bool)


def _cut(values: pa.Array, limit: int) -> pa.Array:
    """At most `limit` characters; cutting is skipped where no value has that many bytes."""
    longest = pc.max(pc.binary_length(values)).as_py()
    return values if longest is None or longest <= limit else pc.utf8_slice_codeunits(values, 0, limit)


def text(values: pa.Array, limit: int = 4000) -> pa.Array:
    """`conform.text` on a column: stripped, cut to `limit` characters, empty as null."""
    cut = _cut(pc.utf8_trim(values, WHITESPACE), limit)
    return pc.if_else(pc.equal(cut, ""), pa.scalar(None, pa.string()), cut)


def fits(values: pa.Array, longest: int) -> pa.Array:
    """Where a value (or its absence) fits a column of `longest` characters."""
    return pc.or_kleene(pc.is_null(values), pc.less_equal(pc.utf8_length(values), longest))


def ascii_case(values: pa.Array, limit: int, upper: bool, longest: int | None = None) -> Column:
    """Text lower- or upper-cased; only ASCII is settled here, where Arrow and Python agree."""
    cut = text(values, limit)
    ok = pc.or_kleene(pc.is_null(cut), pc.string_is_ascii(cut))
    if longest is not None:
        ok = pc.and_kleene(ok, fits(cut, longest))
    return Column(pc.ascii_upper(cut) if upper else pc.ascii_lower(cut), bools(ok))


def required(column: Column) -> Column:
    return Column(column.values, column.ok & bools(pc.is_valid(column.values)), column.derivable)


def times(values: pa.Array, tz: ZoneInfo) -> Column:
    """ISO 8601 text to UTC, a time without an offset being the rooftop's local time."""
    raw = text(values)
    micros = np.zeros(len(raw), dtype="int64")
    missing = bools(pc.is_null(raw))
    settled = missing.copy()
    zoned = bools(pc.match_substring_regex(raw, _ZONED))
    rest = ~zoned & ~settled
    naive = np.zeros(len(raw), dtype=bool)
    if rest.any():  # extracts mostly write one form: look for the other only where needed
        naive[rest] = bools(pc.match_substring_regex(pc.filter(raw, pa.array(rest)), _NAIVE))
    for mask, parse in ((zoned, _zoned_micros), (naive, lambda v: _naive_micros(v, tz))):
        if mask.any():
            got, ok = parse(pc.filter(raw, pa.array(mask)))
            where = np.flatnonzero(mask)
            micros[where] = got
            settled[where[ok]] = True
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
    return Column(raw, bools(ok))


def whole(values: pa.Array, low: int, high: int, need: bool = False) -> Column:
    raw = text(values, 64)
    matches = bools(pc.match_substring_regex(raw, _WHOLE))
    numbers = np.zeros(len(raw), dtype="int64")
    if matches.any():
        numbers[matches] = pc.cast(pc.filter(raw, pa.array(matches)), pa.int64()).to_numpy()
    in_range = matches & (numbers >= low) & (numbers <= high)
    missing = bools(pc.is_null(raw))
    ok = in_range | (missing & (not need))
    return Column(pa.array(numbers, mask=~in_range), ok)


def consent(values: pa.Array) -> Column:
    raw = pc.ascii_lower(text(values, 20))
    yes = pc.is_in(raw, pa.array(sorted(CONSENT_YES)))
    no = pc.is_in(raw, pa.array(sorted(CONSENT_NO)))
    ok = pc.or_kleene(pc.is_null(raw), pc.and_kleene(pc.string_is_ascii(raw), pc.or_kleene(yes, no)))
    return Column(pc.if_else(pc.is_null(raw), pa.scalar(None, pa.bool_()), yes), bools(ok))


def unchanged(values: pa.Array, limit: int) -> np.ndarray:
    """Where `text` returns the value as written (or null for an empty one)."""
    return bools(pc.equal(_cut(pc.utf8_trim(values, WHITESPACE), limit), values))
