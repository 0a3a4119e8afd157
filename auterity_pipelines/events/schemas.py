"""The JSON events a DMS or CRM posts, one schema per type; a lead arrives as ADF instead."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
)

from auterity_pipelines.records import EARLIEST_TIME as EARLIEST
from auterity_pipelines.records import LATEST_TIME as LATEST

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Vin = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=11, max_length=17)]
LEAD_RECEIVED = "lead.received"
LEAD_RESPONDED = "lead.responded"


def _sane(moment: dt.datetime) -> dt.datetime:
    # Year 1 with a positive offset is before datetime's range once moved to UTC: the sensor
    # that turns it into a day would fail on it, so it never gets in.
    try:
        utc = moment.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError(f"{moment.isoformat()} is outside {EARLIEST.year}–{LATEST.year - 1}") from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError(f"{moment.isoformat()} is outside {EARLIEST.year}–{LATEST.year - 1}")
    return moment


Time = Annotated[AwareDatetime, AfterValidator(_sane)]


class _Data(BaseModel):
    model_config = ConfigDict(extra="allow")  # senders add fields; they are kept, not refused


class RepairOrderClosed(_Data):
    ro_number: Id
    closed_at: Time
    customer_id: Id | None = None
    vin: Vin | None = None
    total_amount: Decimal | None = Field(default=None, ge=0)


class DealFunded(_Data):
    deal_id: Id
    funded_at: Time
    customer_id: Id | None = None
    vin: Vin | None = None
    sale_price: Decimal | None = Field(default=None, ge=0)


class VehicleReceived(_Data):
    vin: Vin
    received_at: Time
    stock_number: Id | None = None
    make: str | None = None
    model: str | None = None
    model_year: int | None = Field(default=None, ge=1900, le=2100)


class AppointmentCreated(_Data):
    appointment_id: Id
    scheduled_at: Time
    customer_id: Id | None = None
    vin: Vin | None = None
    service_type: str | None = None


class LeadResponded(_Data):
    lead_id: Id
    responded_at: Time
    by: str | None = Field(default=None, max_length=200)  # who answered, as the CRM names them


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Id  # the sender's event id: a redelivery carries the same one
    occurred_at: Time


class RoClosedEvent(_Envelope):
    type: Literal["ro.closed"]
    data: RepairOrderClosed


class DealFundedEvent(_Envelope):
    type: Literal["deal.funded"]
    data: DealFunded


class VehicleReceivedEvent(_Envelope):
    type: Literal["vehicle.received"]
    data: VehicleReceived


class AppointmentCreatedEvent(_Envelope):
    type: Literal["appointment.created"]
    data: AppointmentCreated


class LeadRespondedEvent(_Envelope):
    type: Literal["lead.responded"]
    data: LeadResponded


DmsEvent = Annotated[
    RoClosedEvent | DealFundedEvent | VehicleReceivedEvent | AppointmentCreatedEvent | LeadRespondedEvent,
    Field(discriminator="type"),
]
EVENT_TYPES = ("ro.closed", "deal.funded", "vehicle.received", "appointment.created", LEAD_RESPONDED)
_ADAPTER = TypeAdapter(DmsEvent)


def parse_event(body: bytes | str | dict):
    """The event, or pydantic's ValidationError naming each field at fault."""
    if isinstance(body, dict):
        return _ADAPTER.validate_python(body)
    return _ADAPTER.validate_json(body)


def occurred_on(event) -> dt.datetime:
    return event.occurred_at.astimezone(dt.UTC)


def validation_reason(exc, root: str = "body") -> str:
    """A pydantic ValidationError as one line naming each field at fault (the first five)."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or root}: {e['msg']}" for e in exc.errors()[:5])
