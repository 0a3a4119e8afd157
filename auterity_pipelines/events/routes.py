"""The routing table: what each event type starts, which rooftop-day it belongs to, and who says it is done.

Adding an event type is a row here (and its schema); the sensor only reads the table. An event
whose route has no job is data for others to read (a CRM's `lead.responded` for
`lead_response_watch`): it is stored done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from auterity_pipelines.events.schemas import LEAD_RECEIVED, LEAD_RESPONDED
from auterity_pipelines.fleet import Dealership

EVENT_TAG = "auterity/event"  # the run tag naming the event a run was started for


@dataclass(frozen=True)
class Route:
    job: str | None  # the job whose run takes the event; None: storing it is all it needs
    day: Literal["arrival", "occurrence"]  # the rooftop-day partition: when it reached us, or happened
    done_by: str  # who marks it done (documentation for operators, and checked by a test)
    batched: bool = False  # events of one rooftop-day that arrive together share one run
    tags: Callable[[Dealership, str], dict[str, str]] | None = None

    @property
    def initial_status(self) -> str:
        return "received" if self.job else "done"


def _intake(dealership: Dealership, partition: str) -> dict[str, str]:
    from auterity_pipelines.jobs import intake_tags

    return intake_tags(dealership.id, partition)


def _sync(dealership: Dealership, partition: str) -> dict[str, str]:
    from auterity_pipelines.jobs import sync_tags

    return sync_tags(dealership)


_DMS = Route("dms_sync_job", "occurrence", "the sync run, once its contract tables are loaded", tags=_sync)
ROUTES: dict[str, Route] = {
    LEAD_RECEIVED: Route(
        "lead_intake_job", "arrival", "the intake run, once the lead is loaded", batched=True, tags=_intake
    ),
    "ro.closed": _DMS,
    "deal.funded": _DMS,
    "vehicle.received": _DMS,
    "appointment.created": _DMS,
    LEAD_RESPONDED: Route(None, "arrival", "nobody: it is stored done"),
}


class Unroutable(KeyError):
    pass


def route_for(event_type: str) -> Route:
    try:
        return ROUTES[event_type]
    except KeyError:
        raise Unroutable(f"no route for event type {event_type!r}") from None
