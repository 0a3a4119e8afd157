"""Generic nightly extracts: corpus VINs land decoded; an incomplete day is refused with its reason."""

import csv
import datetime as dt
import hashlib
import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from auterity_pipelines.cli.main import cli
from auterity_pipelines.records import columns
from auterity_pipelines.schema import quarantine, vehicles
from tests.conftest import write_fleet
from tests.helpers import sync

DAY = dt.date(2026, 11, 16)
ROOFTOP = "harbor-kia"


def write_day(root, entities: dict[str, list[list[str]]], day=DAY) -> dict:
    """An extract folder written by hand, its manifest computed independently of the reader."""
    folder = root / day.isoformat()
    folder.mkdir(parents=True)
    files = {}
    for entity, rows in entities.items():
        path = folder / f"{entity}.csv"
        with path.open("w", newline="") as handle:
            csv.writer(handle).writerows([list(columns(entity)), *rows])
        files[path.name] = {"rows": len(rows), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    manifest = {"dealership_id": ROOFTOP, "date": day.isoformat(), "files": files}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return manifest


def corpus_vins(corpus) -> list[dict]:
    with (corpus / "vin_vectors.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def vehicle_row(n: int, vin: str) -> list[str]:
    return [
        f"V{n}",
        "2026-11-16T15:00:00Z",
        vin,
        "",
        "Make",
        "Model",
        "",
        "100",
        f"S{n}",
        "in_stock",
        "25000",
    ]


def failure_message(result) -> str:
    from auterity_pipelines.cli.sync import failure_reason

    return failure_reason(result)


def test_corpus_vins_through_an_extract_decode_as_listed_and_as_the_cli_says(
    tmp_path, instance, warehouse, corpus
):
    rows = corpus_vins(corpus)
    write_day(tmp_path / "extracts", {"vehicles": [vehicle_row(n, r["vin"]) for n, r in enumerate(rows)]})
    fleet = write_fleet(tmp_path / "fleet.yaml", "http://127.0.0.1:9", extract_root=tmp_path / "extracts")
    assert sync(instance, fleet, warehouse, ROOFTOP, DAY).success
    with warehouse.engine.connect() as conn:
        loaded = {r.vin: r for r in conn.execute(select(vehicles).where(vehicles.c.dealership_id == ROOFTOP))}
    assert len(loaded) == len(rows)
    cli_says = {
        d["vin"]: d
        for d in map(json.loads, CliRunner().invoke(cli, ["vin", "decode", *loaded]).output.splitlines())
    }
    for row in rows:
        got = loaded[row["vin"]]
        assert got.vin_valid is (row["check_digit_valid"] == "True"), row["vin"]
        if row["model_year"]:
            assert got.vin_model_year in {int(y) for y in row["model_year"].split("|")}, row["vin"]
        assert (got.vin_valid, got.vin_model_year) == (
            cli_says[row["vin"]]["valid"],
            cli_says[row["vin"]]["model_year"],
        )


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (lambda folder, manifest: (folder / "vehicles.csv").unlink(), "listed in the manifest but missing"),
        (lambda folder, manifest: (folder / "manifest.json").unlink(), "no manifest.json"),
        (lambda folder, manifest: (folder / "vehicles.csv").write_text(
            (folder / "vehicles.csv").read_text().rsplit("\n", 2)[0] + "\n"), "1 data rows, the manifest says 2"),
        (lambda folder, manifest: (folder / "vehicles.csv").write_text(
            (folder / "vehicles.csv").read_text().replace("25000", "25001")), "does not match the manifest"),
    ],
    ids=["missing file", "no manifest", "short file", "bad hash"],
)  # fmt: skip
def test_an_incomplete_extract_day_is_refused_with_the_reason(tmp_path, instance, warehouse, spoil, reason):
    rows = [vehicle_row(1, "1J9RP1A36A1644345"), vehicle_row(2, "5FNYF5H59HB011946")]
    manifest = write_day(tmp_path / "extracts", {"vehicles": rows, "customers": []})
    spoil(tmp_path / "extracts" / DAY.isoformat(), manifest)
    fleet = write_fleet(tmp_path / "fleet.yaml", "http://127.0.0.1:9", extract_root=tmp_path / "extracts")
    result = sync(instance, fleet, warehouse, ROOFTOP, DAY)
    assert not result.success
    assert reason in failure_message(result)
    assert warehouse.count("raw_vehicles") == 0 and warehouse.count("raw_customers") == 0


def test_a_ragged_row_is_quarantined_with_its_line_and_the_rest_load(tmp_path, instance, warehouse):
    rows = [vehicle_row(1, "1J9RP1A36A1644345"), vehicle_row(2, "5FNYF5H59HB011946")[:7]]
    write_day(tmp_path / "extracts", {"vehicles": rows})
    fleet = write_fleet(tmp_path / "fleet.yaml", "http://127.0.0.1:9", extract_root=tmp_path / "extracts")
    assert sync(instance, fleet, warehouse, ROOFTOP, DAY).success
    assert warehouse.count("vehicles", ROOFTOP) == 1
    with warehouse.engine.connect() as conn:
        ((source_id, reason),) = conn.execute(select(quarantine.c.source_id, quarantine.c.reason)).all()
    assert (source_id, reason) == ("V2", "vehicles.csv row 3 has 7 fields, the header has 11")
