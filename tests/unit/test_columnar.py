"""The Arrow fast path agrees with the per-record conformers on every row it settles.

Values are drawn from pools of what DMS extracts send: plain values, padded and Unicode text,
other ISO 8601 spellings, times in a DST gap or overlap, impossible dates, signed, separated
and exponent numbers, digits from other scripts. Where the fast path settles a row, the
per-record rule must give the same row; where it does not, the per-record rule decides.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from auterity_pipelines import column_kernels, columnar
from auterity_pipelines.conform import CONFORMERS, RecordError, raw_key
from auterity_pipelines.records import columns

TZ = ZoneInfo("America/Chicago")
TIMES = [
    "2026-11-16T15:00:00Z", "2026-11-16 15:00:00", "2026-11-16T15:00:00.123456+05:30", "2026-11-16T09:15:00",
    " 2026-11-16T15:00:00Z\u00a0", "2026-02-30T10:00:00Z", "2026-02-29T10:00:00", "2026-03-08T02:30:00",
    "2026-11-01T01:30:00", "2026-11-01T00:59:59.999999", "2026-11-16", "20261116T150000",
    "2026-11-16T15:00:00+0530", "2026-11-16T24:00:00", "2026-11-16T15:00:60Z", "", "  ", "N/A",
    "2026-13-45T99:00:00", "2026-11-16T15:00:00.1234567Z", "2026-11-16T15:00:00-00:00", "1899-12-31T23:59:59Z",
    "1900-01-01T00:00:00+05:00", "2199-12-31T23:59:59+01:00", "0001-01-01T00:00:00+01:00",
    "\u0662\u0660\u0662\u0666-11-16T15:00:00Z", "2026-11-16t15:00:00z", "2026-11-16T15:00:00+24:00",
]  # fmt: skip
DECIMALS = [
    "12.50", "0", "-3.2", "$12", "1,200.00", "1e3", "NaN", "Infinity", "007.5", "12.1234567", " 5 ", "-0",
    "99999999999", "1234.56", "12345.6", "", "\u0661\u0662", "0.000001", "-0.00", "+4", "4.", ".5",
]  # fmt: skip
WHOLES = [
    "1",
    "10000",
    "10001",
    "0",
    "-1",
    "5.0",
    "1_0",
    "007",
    " 3",
    "abc",
    "",
    "1e2",
    "99999999999",
    "2028",
    "1899",
]
TEXTS = ["plain", "  padded\t", "\u00a0nbsp\u2003", "", "ß", "x" * 5000, "emoji 😀", "\x1c\x1d", "a\nb", " "]
EMAILS = ["A@B.COM", "Ünïcode@X.de", "İ@x.com", " a@b.c ", "", "plain@example.com"]
VINS = ["1hgcm82633a004352", "ßßß", "A" * 18, " x ", "ﬁ", "", "1HGCM82633A00435 "]
CONSENTS = ["Yes", "NO", "opt-in", "maybe", "", "İN", "TRUE ", "Opted_Out", "y"]
IDS = ["", "  ", "abc", "x" * 200, "é", " id-7 ", "RO-1"]
POOLS = {
    "modified_at": TIMES, "sold_at": TIMES, "opened_at": TIMES, "closed_at": TIMES, "received_at": TIMES,
    "first_response_at": TIMES, "sale_price": DECIMALS, "total_amount": DECIMALS, "labor_hours": DECIMALS,
    "amount": DECIMALS, "line_number": WHOLES, "vehicle_year": WHOLES, "email": EMAILS, "vin": VINS,
    "vehicle_vin": VINS, "email_opt_in": CONSENTS, "sms_opt_in": CONSENTS, "source_id": IDS, "ro_number": IDS,
}  # fmt: skip
PLAIN = {
    "modified_at": "2026-11-16T15:00:00Z", "sold_at": "2026-11-16 10:00:00", "opened_at": "2026-11-15T08:00:00",
    "closed_at": "2026-11-16T12:30:00.5-06:00", "received_at": "2026-11-16T11:00:00Z", "first_response_at": "",
    "sale_price": "31999.00", "total_amount": "-12.5", "labor_hours": "1.20", "amount": "88", "line_number": "2",
    "vehicle_year": "2024", "email": "Pat@Example.com", "vin": "1hgcm82633a004352", "vehicle_vin": "",
    "email_opt_in": "Yes", "sms_opt_in": "", "source_id": "S-1", "ro_number": "RO-1",
}  # fmt: skip


def records(entity: str, n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    names = [*columns(entity), *(("email_opt_in", "sms_opt_in") if entity == "customers" else ())]
    if entity == "leads":
        names.append("first_response_at")
    out = []
    for i in range(n):
        plain = i % 4 == 0  # a quarter plain, so the fast path is seen to settle rows
        out.append({
            name: PLAIN.get(name, f"v{i}") if plain or rng.random() < 0.5 else rng.choice(POOLS.get(name, TEXTS))
            for name in names
        })  # fmt: skip
        if plain:
            out[-1]["source_id"] = f"S-{i}"
    return out


def block_of(rows: list[dict]) -> pa.Table:
    return pa.table({name: pa.array([r[name] for r in rows], pa.string()) for name in rows[0]})


def same(fast, slow) -> bool:
    if isinstance(slow, Decimal):
        return fast is not None and str(Decimal(fast)) == str(slow) and fast == str(slow)
    return fast == slow


@pytest.mark.parametrize("entity", [*columnar.RULES, "vehicles"])
def test_fast_path_settles_only_what_the_conformers_agree_with(entity):
    rows = records(entity, 3000, seed=len(entity))
    converted = columnar.convert(entity, block_of(rows), TZ, conforming=True)
    build = CONFORMERS[entity][1]
    settled = 0
    for i, record in enumerate(rows):
        if converted.keyed[i]:
            assert raw_key(record, TZ) == (
                converted.source_id[i].as_py(),
                converted.modified_at.values[i].as_py(),
            ), record
        if not converted.conformed[i]:
            continue
        settled += 1
        try:
            want = build("d1", record, TZ)
        except RecordError as exc:
            pytest.fail(f"fast path settled a row the conformer refuses ({exc}): {record}")
        for name, column in converted.columns.items():
            got = column.values[i].as_py()
            assert same(got, want[name]), (name, got, want[name], record)
    if entity == "vehicles":
        assert settled == 0  # VIN decoding stays per record
    else:
        assert settled >= len(rows) // 4  # the plain rows at least


def test_local_times_follow_python_across_both_changes_of_offset():
    # Every minute around both 2026 changes in Chicago, and the hour inside each.
    starts = [dt.datetime(2026, 3, 8, 0, 0), dt.datetime(2026, 11, 1, 0, 0)]
    stamps = [s + dt.timedelta(minutes=m, seconds=7) for s in starts for m in range(240)]
    values = pa.array([s.isoformat() for s in stamps])
    got = column_kernels.times(values, TZ)
    for stamp, value, ok in zip(stamps, got.values.to_pylist(), got.ok):
        assert ok and value == stamp.replace(tzinfo=TZ).astimezone(dt.UTC), stamp


def test_an_absent_optional_column_reads_as_empty():
    block = pa.table({name: pa.array([PLAIN.get(name, "x")]) for name in columns("customers")})
    converted = columnar.convert("customers", block, TZ, conforming=True)
    assert converted.conformed[0]
    assert converted.columns["email_opt_in"].values[0].as_py() is None
