import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from auterity_pipelines.conform import RecordError, lead, raw_key, repair_order, repair_order_line, vehicle
from auterity_pipelines.records import MALFORMED_KEY

CHICAGO = ZoneInfo("America/Chicago")


def test_a_time_without_offset_is_the_rooftops_local_time():
    _, modified = raw_key({"source_id": "X1", "modified_at": "2026-03-08T01:30:00"}, CHICAGO)
    assert modified == dt.datetime(2026, 3, 8, 7, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"modified_at": "2026-01-01T00:00:00Z"}, "source_id is missing"),
        ({"source_id": "X1"}, "modified_at is missing"),
        (
            {"source_id": "X1", "modified_at": "2026-13-45T99:00:00"},
            "modified_at '2026-13-45T99:00:00' is not an ISO 8601 time",
        ),
        (
            {"source_id": "X1", "modified_at": "2026-01-01", MALFORMED_KEY: "row 7 has 3 fields"},
            "row 7 has 3 fields",
        ),
    ],
)
def test_a_record_that_cannot_be_placed_says_why(record, reason):
    with pytest.raises(RecordError) as error:
        raw_key(record, CHICAGO)
    assert str(error.value) == reason


def test_a_vehicle_keeps_a_bad_vin_and_marks_it():
    row = vehicle("d", {"source_id": "V1", "modified_at": "2026-01-01T00:00:00Z", "vin": "5fnyf5h50hb011946",
                        "model_year": "", "mileage": "12", "list_price": "31,999.00"}, CHICAGO)  # fmt: skip
    assert (row["vin"], row["vin_valid"], row["vin_model_year"], row["model_year"]) == (
        "5FNYF5H50HB011946",
        False,
        2017,
        2017,
    )
    assert row["list_price"] == Decimal("31999.00")


def test_a_vehicle_without_a_vin_or_with_unreadable_mileage_is_refused():
    with pytest.raises(RecordError, match="vin is missing"):
        vehicle("d", {"source_id": "V1", "modified_at": "2026-01-01T00:00:00Z", "vin": " "}, CHICAGO)
    with pytest.raises(RecordError, match="mileage 'unknown' is not a whole number"):
        vehicle(
            "d",
            {
                "source_id": "V1",
                "modified_at": "2026-01-01T00:00:00Z",
                "vin": "1J9RP1A36A1644345",
                "mileage": "unknown",
            },
            CHICAGO,
        )


def test_a_repair_order_closed_before_it_opened_is_refused():
    with pytest.raises(RecordError, match="before opened_at"):
        repair_order("d", {"source_id": "R1", "modified_at": "2026-01-02T00:00:00Z", "ro_number": "1",
                           "opened_at": "2026-01-02T00:00:00Z", "closed_at": "2026-01-01T00:00:00Z"}, CHICAGO)  # fmt: skip


def test_line_amounts_may_be_negative_but_hours_may_not():
    base = {"source_id": "R1/1", "modified_at": "2026-01-02T00:00:00Z", "ro_number": "1", "line_number": "1"}
    assert repair_order_line("d", {**base, "amount": "-25.00"}, CHICAGO)["amount"] == Decimal("-25.00")
    with pytest.raises(RecordError, match="labor_hours '-1' is out of range"):
        repair_order_line("d", {**base, "labor_hours": "-1"}, CHICAGO)


def test_a_lead_needs_a_readable_received_at():
    with pytest.raises(RecordError, match="received_at 'yesterday' is not an ISO 8601 time"):
        lead(
            "d",
            {"source_id": "L1", "modified_at": "2026-01-01T00:00:00Z", "received_at": "yesterday"},
            CHICAGO,
        )
