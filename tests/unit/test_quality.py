"""Quality rules as plain functions: the volume verdict, and suites run through Great Expectations."""

import datetime as dt

import pandas as pd
import pytest

from auterity_pipelines.quality.gx import validate
from auterity_pipelines.quality.suites import CHECKS, FAILING_ROWS, Expect, expectations, key_columns
from auterity_pipelines.quality.volume import judge_volume

NOW = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("rows", "history", "passed", "measured", "words"),
    [
        (100, [100] * 14, True, True, "trailing median 100"),
        (3, [100, 90, 110, 95, 105, 100, 98], False, True, "near zero"),
        (0, [40] * 10, False, True, "near zero"),
        (900, [100] * 14, False, True, "a spike"),
        (450, [100] * 14, True, True, "trailing median"),
        (0, [100] * 6, True, False, "6 earlier days loaded, 7 needed"),
        (5, [0] * 10, True, True, "median is 0"),
    ],
)
def test_the_volume_verdict(rows, history, passed, measured, words):
    verdict = judge_volume(rows, history)
    assert (verdict.passed, verdict.measured) == (passed, measured)
    assert words in verdict.reason


def deals(**changes) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "dealership_id": ["r1", "r1", "r1"],
            "deal_id": ["D1", "D2", "D3"],
            "sale_price": [25_000.0, 31_000.0, 19_500.0],
            "sold_at": pd.to_datetime([NOW - dt.timedelta(days=d) for d in (1, 2, 3)], utc=True),
            "updated_at": pd.to_datetime([NOW] * 3, utc=True),
        }
    )
    for column, values in changes.items():
        frame[column] = values
    return frame


def test_a_clean_day_passes_every_rule():
    for check in ("keys_present_and_unique", "values_in_range"):
        outcome = validate(deals(), expectations(check, "deals", NOW), key_columns("deals"), check)
        assert outcome.passed, outcome.summary()
        assert outcome.failing_rows == []


def test_two_rows_with_one_key_fail_uniqueness_and_are_named():
    outcome = validate(
        deals(deal_id=["D1", "D2", "D2"]),
        expectations("keys_present_and_unique", "deals", NOW),
        key_columns("deals"),
        "keys",
    )
    assert not outcome.passed
    assert "expect_compound_columns_to_be_unique" in outcome.summary()
    assert {r["deal_id"] for r in outcome.failing_rows} == {"D2"}


def test_a_missing_key_fails():
    outcome = validate(
        deals(deal_id=["D1", None, "D3"]),
        expectations("keys_present_and_unique", "deals", NOW),
        ["dealership_id"],
        "k",
    )
    assert not outcome.passed and "expect_column_values_to_not_be_null(deal_id)" in outcome.summary()


def test_a_price_out_of_range_and_a_sale_in_the_future_are_the_failing_rows():
    frame = deals(
        sale_price=[25_000.0, 12.0, 19_500.0],
        sold_at=pd.to_datetime([NOW, NOW, NOW + dt.timedelta(days=2)], utc=True),
    )
    outcome = validate(frame, expectations("values_in_range", "deals", NOW), key_columns("deals"), "ranges")
    assert not outcome.passed
    assert {(r["deal_id"], r["expectation"]) for r in outcome.failing_rows} == {
        ("D2", "expect_column_values_to_be_between"),
        ("D3", "expect_column_values_to_be_between"),
    }
    assert "sale_price" in outcome.summary() and "sold_at" in outcome.summary()


def test_failing_rows_are_capped():
    n = FAILING_ROWS * 3
    frame = pd.DataFrame(
        {
            "dealership_id": ["r1"] * n,
            "deal_id": [f"D{i}" for i in range(n)],
            "sale_price": [1.0] * n,
            "sold_at": pd.to_datetime([NOW] * n, utc=True),
            "updated_at": pd.to_datetime([NOW] * n, utc=True),
        }
    )
    outcome = validate(frame, expectations("values_in_range", "deals", NOW), key_columns("deals"), "cap")
    assert len(outcome.failing_rows) == FAILING_ROWS
    assert f"{n} of {n} rows unexpected" in outcome.summary()


def test_the_valid_vin_share_is_a_share_of_rows():
    frame = pd.DataFrame(
        {"dealership_id": ["r1"] * 10, "vin": list("ABCDEFGHJK"), "vin_valid": [True] * 8 + [False] * 2}
    )
    expects = expectations("valid_vin_share", "vehicles", NOW)
    outcome = validate(frame, expects, key_columns("vehicles"), "vins")
    assert not outcome.passed and "2 of 10 rows unexpected" in outcome.summary()
    assert {r["vin"] for r in outcome.failing_rows} == {"J", "K"}
    frame.loc[8, "vin_valid"] = True  # 9 of 10: enough
    assert validate(frame, expects, key_columns("vehicles"), "vins").passed


def test_a_month_is_judged_day_by_day_in_one_run():
    from auterity_pipelines.quality.gx import validate_by

    days = [dt.date(2026, 5, 1)] * 10 + [dt.date(2026, 5, 2)] * 10
    frame = pd.DataFrame(
        {
            "dealership_id": ["r1"] * 20,
            "vin": [f"V{i}" for i in range(10)] * 2,  # the same vehicles both days: unique within a day
            "vin_valid": [True] * 10 + [True] * 8 + [False] * 2,
            "mileage": [10] * 19 + [-5],
            "day": days,
        }
    )
    groups = {
        "vins": expectations("valid_vin_share", "vehicles", NOW),
        "keys": expectations("keys_present_and_unique", "vehicles", NOW),
        "range": [Expect("ExpectColumnValuesToBeBetween", {"column": "mileage", "min_value": 0})],
    }
    outcomes = validate_by(frame, groups, key_columns("vehicles"), "day")
    first, second = outcomes[days[0]], outcomes[days[-1]]
    assert first["vins"].passed and first["keys"].passed and first["range"].passed
    assert not second["vins"].passed and "2 of 10 rows unexpected" in second["vins"].summary()
    assert second["keys"].passed  # a vehicle on both days is not a duplicate
    assert not second["range"].passed and second["range"].failing_rows[0]["vin"] == "V9"


def test_blocking_checks_guard_the_contract_and_soft_ones_warn():
    blocking = {c.name for c in CHECKS if c.blocking}
    assert blocking == {"schema_matches_contract", "keys_present_and_unique"}
    assert all(c.severity == "ERROR" for c in CHECKS if c.blocking)


def _lines(days: list[dt.date] | None = None, encoded: bool = True):
    """Repair-order lines in blocks of 20: as `PartitionRows` holds them (text dictionary-encoded),
    or as a load hands them over (`encoded=False`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = 60
    ro = [f"RO-{i // 3}" for i in range(n)]
    line = [i % 3 for i in range(n)]
    ro[55], line[55] = ro[2], line[2]  # keys seen again, far from their first rows: in a month,
    ro[58], line[58] = ro[31], line[31]  # the first is on another day, the second on the same
    hours = [1.0] * n
    hours[7] = hours[40] = -2.0  # out of range in two frames
    blocks = []
    for start in range(0, n, 20):
        part = slice(start, start + 20)
        columns = {
            "ro_number": pc.dictionary_encode(pa.array(ro[part])) if encoded else pa.array(ro[part]),
            "line_number": pa.array(line[part], pa.int32()),
            "labor_hours": pa.array(hours[part]),
            "amount": pa.array([10.0] * 20),
            "updated_at": pa.array([NOW - dt.timedelta(days=1)] * 20),
        }
        if days:
            columns["day"] = pa.array(days[part], pa.date32())
        blocks.append(pa.table(columns))
    return pa.concat_tables(blocks)


@pytest.mark.parametrize("by_day", [False, True], ids=["day", "month"])
def test_rows_checked_in_many_frames_get_the_verdicts_of_one(by_day):
    from auterity_pipelines.quality.gx import validate_by
    from auterity_pipelines.quality.rows import TableRows

    days = [dt.date(2026, 5, 1)] * 30 + [dt.date(2026, 5, 2)] * 30 if by_day else None
    groups = {
        check: expectations(check, "repair_order_lines", NOW)
        for check in ("keys_present_and_unique", "values_in_range")
    }
    rows = TableRows("repair_order_lines", "r1", _lines(days))
    keys, by = key_columns("repair_order_lines"), "day" if by_day else None
    frames = list(rows.frames(rows=7))
    assert len(frames) == 9 and sum(map(len, frames)) == 60

    def verdicts(outcomes):
        return {
            (part, name): (o.passed, o.rows, o.summary(), sorted(str(r) for r in o.failing_rows))
            for part, by_name in outcomes.items()
            for name, o in by_name.items()
        }

    whole = verdicts(validate_by(rows.frames(rows=1000), groups, keys, by))
    assert verdicts(validate_by(iter(frames), groups, keys, by)) == whole
    # The repeated keys are found although their rows were read in different blocks.
    if by_day:
        assert whole[(dt.date(2026, 5, 1), "keys_present_and_unique")][0]
        assert not whole[(dt.date(2026, 5, 2), "keys_present_and_unique")][0]
    else:
        assert not whole[(None, "keys_present_and_unique")][0]
    ranged = [v for (_, name), v in whole.items() if name == "values_in_range"]
    assert sum("1 of 30 rows" in v[2] or "2 of 60 rows" in v[2] for v in ranged) == (2 if by_day else 1)


@pytest.mark.parametrize("by_day", [False, True], ids=["day", "month"])
def test_a_large_day_is_checked_row_by_row_as_it_arrives(monkeypatch, by_day):
    import pyarrow as pa

    from auterity_pipelines.quality import rows as held
    from auterity_pipelines.quality.runner import run_checks_by_day

    days = [dt.date(2026, 5, 1), dt.date(2026, 5, 2)] if by_day else [dt.date(2026, 5, 1)]
    checks = [c for c in CHECKS if c.name in ("keys_present_and_unique", "values_in_range")]

    def verdicts(frame_rows: int):
        monkeypatch.setattr(held, "STREAM_ROWS", frame_rows)
        collected = held.PartitionRows("r1", by_day=by_day, now=NOW)
        for n, block in enumerate(_lines(encoded=False).to_batches(max_chunksize=10)):
            collected.day = days[n // 3] if by_day else None
            collected.add("repair_order_lines", pa.Table.from_batches([block]))
        rows = collected.rows("repair_order_lines")
        streamed = rows.tallies is not None
        assert streamed == (frame_rows < 60)
        assert ("labor_hours" in rows.arrow.column_names) is not streamed  # only the keys are kept
        found = run_checks_by_day(None, checks, "repair_order_lines", rows, "r1", days, NOW)
        return {
            (day, name): (v.passed, v.rows, v.summary, sorted(map(str, v.failing_rows)))
            for day, by_name in found.items()
            for name, v in by_name.items()
        }

    whole = verdicts(1000)
    assert verdicts(25) == whole
    assert not all(v[0] for v in whole.values())  # the repeats and the ranges were found


def test_rows_read_per_record_are_held_as_the_blocks_are():
    from decimal import Decimal

    from auterity_pipelines.quality.rows import PartitionRows
    from auterity_pipelines.quality.suites import contract_columns

    collected = PartitionRows("r1")
    columns = contract_columns("repair_order_lines")
    row = {"dealership_id": "r1", "ro_number": "RO-1", "line_number": 1, "op_code": "A", "complaint": "noise",
           "cause": None, "correction": None, "labor_hours": Decimal("1.50"), "amount": Decimal("10.00"),
           "updated_at": NOW}  # fmt: skip
    collected.observe("repair_order_lines", columns, [tuple(row[c] for c in columns)])
    (frame,) = collected.rows("repair_order_lines").frames()
    assert list(frame["dealership_id"]) == ["r1"] and frame["labor_hours"][0] == 1.5
    assert "complaint" not in frame.columns
