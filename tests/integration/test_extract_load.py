"""The one-pass extract load leaves exactly the tables the per-record path leaves.

An extract day from the simulator (with its own malformed records) is seeded with what real
extracts carry: values the fast rules leave to the per-record ones, values that must be
quarantined, and, in one file, rows of the wrong width and a blank line (the Arrow reader
refuses that file and it is read per record). Loaded once each way into fresh warehouses, the
raw, contract and quarantine tables must match value for value; on PostgreSQL as text, byte
for byte.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json

import pytest
from sqlalchemy import String, cast, select, text

from assets import extract_load
from assets.extract_load import load_extract_day
from assets.sync import RawLoader, conform_partition
from auterity_pipelines.quality.rows import PartitionRows
from auterity_pipelines.records import ENTITIES, written_columns
from auterity_pipelines.schema import CONFORMED_TABLES, RAW_TABLES, quarantine
from auterity_pipelines.simulator.data import RooftopDms, SimulatorSettings
from auterity_pipelines.simulator.extract import write_extract
from resources.dms.extract import ExtractIncomplete, ExtractReader
from resources.dms.window import Window

DAY = dt.date(2026, 11, 16)
ROOFTOP, TZ = "harbor-kia", "America/Chicago"
NOW = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)


def line(n: int, **values) -> list[str]:
    row = {
        "source_id": f"seed-{n}",
        "modified_at": "2026-11-16T10:00:00",
        "ro_number": f"RO-seed-{n}",
        "line_number": "1",
        "op_code": "OIL",
        "complaint": "noise",
        "cause": "",
        "correction": "fixed",
        "labor_hours": "1.5",
        "amount": "99.95",
        **values,
    }
    return [row[c] for c in written_columns("repair_order_lines")]


# (values, why) for lines: each is either normalised by the per-record rules or quarantined.
SEEDED = [
    {"modified_at": "2026-13-45T99:00:00"},  # cannot be placed: quarantined before raw
    {"source_id": "   "},  # no id
    {"modified_at": "0001-01-01T00:00:00+01:00"},  # year 1 east of UTC
    {"line_number": "0"},
    {"line_number": "2.0"},  # a whole number written as a float: normalised
    {"labor_hours": "-1"},
    {"labor_hours": "1,5"},  # a separator: read as 15
    {"amount": "$1,200.50"},
    {"amount": "1e3"},
    {"amount": "NaN"},
    {"ro_number": "\u00a0"},  # only a non-breaking space: missing
    {"op_code": " \u2003LOF\t"},  # Unicode padding: stripped
    {"modified_at": "2026-03-08T02:30:00"},  # inside the DST gap, local
    {"modified_at": "2026-11-01T01:30:00"},  # inside the DST overlap, local
    {"modified_at": "2026-11-16"},  # a date alone
    {"modified_at": "20261116T100000"},  # the basic ISO form
    {"complaint": "x" * 5000, "cause": "ünïcödé 😀"},
    {"line_number": "\u0663"},  # a digit from another script
]


def seeded_extract(root, malformed_rows: bool) -> None:
    dms = RooftopDms(ROOFTOP, SimulatorSettings(now=NOW, scale=2, malformed_share=0.05))
    folder = write_extract(dms, ROOFTOP, DAY, TZ, root)
    lines = folder / "repair_order_lines.csv"
    with lines.open("a", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(line(n, **values) for n, values in enumerate(SEEDED))
    if malformed_rows:
        customers = folder / "customers.csv"
        with customers.open("a", newline="", encoding="utf-8") as handle:
            handle.write(
                "short-row,2026-11-16T10:00:00Z,Pat\n\nlong-row,2026-11-16T10:00:00Z,a,b,c,d,e,f,g,h,i\n"
            )
    seeded_manifest(root)


def seeded_manifest(root) -> None:
    """The manifest recomputed for the files as they are now, independently of the reader."""
    folder = root / DAY.isoformat()
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for name in manifest["files"]:
        path = folder / name
        with path.open(newline="", encoding="utf-8") as handle:
            rows = sum(1 for _ in csv.reader(handle)) - 1
        manifest["files"][name] = {"rows": rows, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    manifest_path.write_text(json.dumps(manifest))


def per_record(warehouse, root) -> None:
    """The per-record path: raw batches, then conform from what raw holds."""
    reader, window = ExtractReader(root, ROOFTOP), Window.local_day(DAY, TZ)
    reader.check(window)
    loader = RawLoader(warehouse, ROOFTOP, TZ, window, "run")
    for entity in ENTITIES:
        loader.load(entity, reader.batches(entity, window))
    for entity in [e for e in ENTITIES if e != "appointments"]:
        conform_partition(warehouse, entity, ROOFTOP, TZ, DAY)


def one_pass(warehouse, root, checked=None):
    conforming = [e for e in ENTITIES if e != "appointments"]
    return load_extract_day(
        warehouse,
        ExtractReader(root, ROOFTOP),
        ROOFTOP,
        TZ,
        Window.local_day(DAY, TZ),
        "run",
        ENTITIES,
        conforming,
        checked,
    )


def tables(warehouse) -> dict[str, list[tuple]]:
    """Every loaded table without what differs between runs; on PostgreSQL each value as its text."""
    postgres = warehouse.engine.dialect.name == "postgresql"
    shown = []
    for table in [*RAW_TABLES.values(), *CONFORMED_TABLES.values(), quarantine]:
        columns = [c for c in table.columns if c.name not in ("synced_at", "first_seen_at", "last_seen_at")]
        shown.append((table, [cast(c, String) if postgres else c for c in columns]))
    with warehouse.engine.connect() as conn:
        return {t.name: sorted(map(tuple, conn.execute(select(*cols)).all()), key=repr) for t, cols in shown}


@pytest.fixture(autouse=True)
def every_block_through_arrow(monkeypatch):
    """The fast rules on every block, however small: this file's days are."""
    monkeypatch.setattr(extract_load, "SMALL_BLOCK", 0)


@pytest.mark.parametrize("malformed_rows", [False, True], ids=["arrow", "per-record-fallback"])
def test_one_pass_leaves_what_the_per_record_path_leaves(tmp_path, new_warehouse, malformed_rows):
    seeded_extract(tmp_path, malformed_rows)
    before, after = new_warehouse(), new_warehouse()
    per_record(before, tmp_path)
    raw_stats, contract_stats = one_pass(after, tmp_path)
    want, got = tables(before), tables(after)
    for name in want:
        assert got[name] == want[name], name
    assert len(want["quarantine"]) >= len(SEEDED) - 6  # the seeded bad rows are there
    reasons = {r[3] for r in want["quarantine"]}
    assert any("modified_at '0001-01-01T00:00:00+01:00' cannot be placed in UTC" in r for r in reasons)
    if malformed_rows:
        assert any("row" in r and "fields, the header has" in r for r in reasons)
    lines = raw_stats["repair_order_lines"]
    with (tmp_path / DAY.isoformat() / "repair_order_lines.csv").open(newline="") as handle:
        assert lines.rows + lines.quarantined == sum(1 for _ in csv.reader(handle)) - 1
    assert contract_stats["repair_order_lines"].rows == len(want["repair_order_lines"])


def _repeat_a_column(lines) -> None:
    """A header that names a column twice: the record keeps the last, as a dict does."""
    with lines.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    with lines.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(
            [[*rows[0], "op_code"], *([*r, f"D{n}"] for n, r in enumerate(rows[1:]))]
        )


def _a_field_past_a_block(lines) -> None:
    """One complaint longer than the Arrow reader's block."""
    with lines.open("a", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerow(line(900, complaint="x" * 1_500_000))


@pytest.mark.parametrize(
    "odd", [_repeat_a_column, _a_field_past_a_block], ids=["repeated-column", "huge-field"]
)
def test_an_odd_file_leaves_what_the_per_record_path_leaves(tmp_path, new_warehouse, odd):
    seeded_extract(tmp_path, malformed_rows=False)
    odd(tmp_path / DAY.isoformat() / "repair_order_lines.csv")
    seeded_manifest(tmp_path)
    before, after = new_warehouse(), new_warehouse()
    per_record(before, tmp_path)
    one_pass(after, tmp_path)
    want, got = tables(before), tables(after)
    for name in want:
        assert got[name] == want[name], name
    assert want["repair_order_lines"]  # the file loaded


def test_a_file_that_is_not_utf8_is_refused_by_name_and_commits_nothing(tmp_path, new_warehouse):
    seeded_extract(tmp_path, malformed_rows=False)
    lines = tmp_path / DAY.isoformat() / "repair_order_lines.csv"
    lines.write_bytes(
        lines.read_bytes() + ",".join(line(901, complaint="caf\xe9")).encode("latin-1") + b"\r\n"
    )
    manifest = json.loads((tmp_path / DAY.isoformat() / "manifest.json").read_text())
    manifest["files"][lines.name] = {"rows": manifest["files"][lines.name]["rows"] + 1,
                                     "sha256": hashlib.sha256(lines.read_bytes()).hexdigest()}  # fmt: skip
    (tmp_path / DAY.isoformat() / "manifest.json").write_text(json.dumps(manifest))
    warehouse = new_warehouse()
    with pytest.raises(ExtractIncomplete, match=r"repair_order_lines\.csv: not UTF-8 text"):
        one_pass(warehouse, tmp_path)
    assert_nothing_committed(warehouse)


def test_a_rerun_changes_nothing_and_a_corrected_record_leaves_quarantine(tmp_path, new_warehouse):
    seeded_extract(tmp_path, malformed_rows=False)
    warehouse = new_warehouse()
    one_pass(warehouse, tmp_path)
    first = tables(warehouse)
    one_pass(warehouse, tmp_path)
    assert tables(warehouse) == first

    # The DMS corrects the negative labour hours (seed-5) in a later version of the record.
    lines = tmp_path / DAY.isoformat() / "repair_order_lines.csv"
    text_now = lines.read_text(encoding="utf-8")
    bad = ",".join(line(5, labor_hours="-1"))
    assert bad in text_now
    lines.write_text(
        text_now.replace(bad, ",".join(line(5, modified_at="2026-11-16T11:00:00"))), encoding="utf-8"
    )
    seeded_manifest(tmp_path)
    _, contract = one_pass(warehouse, tmp_path)
    assert contract["repair_order_lines"].released == 1
    with warehouse.engine.connect() as conn:
        left = set(conn.execute(select(quarantine.c.source_id)).scalars())
        hours = conn.execute(
            select(CONFORMED_TABLES["repair_order_lines"].c.labor_hours).where(
                CONFORMED_TABLES["repair_order_lines"].c.ro_number == "RO-seed-5"
            )
        ).scalar_one()
    assert "seed-5" not in left and "seed-3" in left and float(hours) == 1.5


def test_a_file_that_disagrees_with_its_manifest_commits_nothing(tmp_path, new_warehouse):
    seeded_extract(tmp_path, malformed_rows=False)
    lines = tmp_path / DAY.isoformat() / "repair_order_lines.csv"
    with lines.open("a", newline="") as handle:
        csv.writer(handle).writerow(line(999))  # a row the manifest does not count
    warehouse = new_warehouse()
    with pytest.raises(ExtractIncomplete, match=r"repair_order_lines\.csv: \d+ data rows, the manifest says"):
        one_pass(warehouse, tmp_path)
    assert_nothing_committed(warehouse)


def test_the_checks_see_every_conformed_row_with_its_checked_columns(tmp_path, new_warehouse):
    seeded_extract(tmp_path, malformed_rows=False)
    checked = PartitionRows(ROOFTOP)
    _, contract = one_pass(new_warehouse(), tmp_path, checked)
    (frame,) = checked.rows("repair_order_lines").frames()
    assert len(frame) == contract["repair_order_lines"].rows
    assert {"dealership_id", "ro_number", "line_number", "labor_hours", "updated_at"} <= set(frame.columns)
    assert "complaint" not in frame.columns  # free text is not checked, and not held
    assert frame["labor_hours"].dtype == "float64" and str(frame["updated_at"].dtype).startswith("datetime64")


def assert_nothing_committed(warehouse) -> None:
    with warehouse.engine.connect() as conn:
        for table in [*RAW_TABLES.values(), *CONFORMED_TABLES.values(), quarantine]:
            assert conn.execute(text(f"SELECT count(*) FROM {table.name}")).scalar() == 0, table.name
