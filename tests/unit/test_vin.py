import csv
import json
import re

import pytest
from click.testing import CliRunner

from auterity_pipelines.cli.main import cli
from auterity_pipelines.vin import check_digit, decode


def vectors(corpus):
    with (corpus / "vin_vectors.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def expected_years(row) -> set[int] | None:
    return {int(y) for y in row["model_year"].split("|")} if row["model_year"] else None


def test_every_corpus_vin_decodes_as_its_source_states(corpus):
    rows = vectors(corpus)
    assert len(rows) == 49
    for row in rows:
        result = decode(row["vin"])
        assert result.valid is (row["check_digit_valid"] == "True"), (row["vin"], result.reason, row["note"])
        years = expected_years(row)
        if years is not None:
            assert result.model_year in years, (row["vin"], result.model_year, years)
        assert result.wmi == row["wmi"]
        if row["make"]:  # "Lada (AvtoVAZ)" is a Lada, "Kia/Hyundai" covers a Hyundai
            assert row["make"].split()[0] in re.split(r"[/ ()]+", result.manufacturer or ""), row
        assert result.country is not None, row["vin"]


def test_a_year_code_that_is_no_year_gives_no_model_year(corpus):
    illegal = [r for r in vectors(corpus) if r["year_code_pos10"] in ("U", "Z", "0") and r["wmi"] != "6FP"]
    assert illegal
    for row in illegal:
        assert decode(row["vin"]).model_year is None, row["vin"]


def test_nhtsa_worked_example_check_digit():
    assert check_digit("1J9RP1A36A1644345") == "6"  # position 9


def test_invalid_vins_say_why():
    assert "length 16" in decode("1J9RP1A36A164434").reason
    assert "O" in decode("3FAHP0JA8OR281181").reason
    assert "check digit" in decode("5FNYF5H50HB011946").reason


def test_the_stated_year_resolves_the_thirty_year_cycle():
    assert decode("2GCEC19Z0S1245490", stated_year=1995).model_year == 1995
    assert decode("5N1NJ01CXST000001", stated_year=1995).model_year == 1995
    assert decode("5N1NJ01CXST000001", stated_year=2025).model_year == 2025


@pytest.mark.parametrize("count", [1, 3])
def test_cli_vin_decode_agrees_with_the_library(corpus, count):
    rows = vectors(corpus)[:count] + [r for r in vectors(corpus) if r["check_digit_valid"] == "False"][:1]
    result = CliRunner().invoke(cli, ["vin", "decode", *[r["vin"] for r in rows]])
    assert result.exit_code == 1  # one of them is invalid
    printed = [json.loads(line) for line in result.output.splitlines()]
    assert [p["vin"] for p in printed] == [r["vin"] for r in rows]
    for line, row in zip(printed, rows):
        assert line == decode(row["vin"]).as_dict()
        assert set(line) == {"vin", "valid", "reason", "model_year", "wmi", "manufacturer", "country"}


def test_cli_vin_decode_of_valid_vins_exits_zero():
    result = CliRunner().invoke(cli, ["vin", "decode", "1J9RP1A36A1644345"])
    assert result.exit_code == 0
    assert json.loads(result.output)["valid"] is True


@pytest.mark.parametrize(
    ("wmi", "country"),
    [
        ("1HG", "United States"),
        ("2HG", "Canada"),
        ("3VW", "Mexico"),
        ("JHM", "Japan"),
        ("KMH", "South Korea"),
        ("SAL", "United Kingdom"),
        ("WBA", "Germany"),
        ("VF1", "France"),
        ("ZFF", "Italy"),
        ("YV1", "Sweden"),
        ("XTA", "Russia"),
        ("6FP", "Australia"),
        ("KA1", None),  # K-A is not a car-building range
        ("1", None),
    ],
)
def test_the_wmi_names_its_country(wmi, country):
    from auterity_pipelines.vin import country as country_of

    assert country_of(wmi) == country
