"""`auterity serve-events`: the webhook receiver. Verify, parse, store in the inbox, answer 202.

A request is answered only after its events are committed to `events_inbox`, so a 202 is a
promise that the event will produce its run. Refusals say why: 401 (signature or clock), 404
(unknown dealership), 413 (body too large), 415 (wrong content type), 400 (unreadable, kept in
quarantine).
"""

from __future__ import annotations

import datetime as dt
import logging

from opentelemetry.trace import SpanKind
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from auterity_pipelines import tracing
from auterity_pipelines.adf import AdfError, parse_adf
from auterity_pipelines.events.schemas import parse_event, validation_reason
from auterity_pipelines.events.signing import SignatureError, Verifier
from auterity_pipelines.fleet import Dealership, Fleet, FleetError, LiveFleet
from auterity_pipelines.settings import named_secret
from resources.events.inbox import dms_event, lead_events, quarantine, store
from resources.warehouse import Warehouse

MAX_BODY_BYTES = 1_000_000
log = logging.getLogger(__name__)


class _Refused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


class Receiver:
    def __init__(self, fleet: Fleet | LiveFleet, warehouse: Warehouse, max_body: int = MAX_BODY_BYTES):
        self.fleet = fleet if isinstance(fleet, LiveFleet) else LiveFleet.fixed(fleet)
        self.warehouse = warehouse
        self.max_body = max_body
        self.accepted = 0

    async def _authentic_body(self, request: Request, kinds: tuple[str, ...]) -> tuple[Dealership, bytes]:
        """The rooftop and the body, refused on its headers alone before any of the body is read."""
        dealership_id = request.path_params["dealership_id"]
        try:
            dealership = self.fleet.current().get(dealership_id)
        except (FleetError, KeyError):
            raise _Refused(404, f"unknown dealership {dealership_id!r}") from None
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body:
            raise _Refused(413, f"body of {declared} bytes; the limit is {self.max_body}")
        secret = named_secret(dealership.webhook_secret_env) if dealership.webhook_secret_env else None
        if not secret:
            raise _Refused(401, f"{dealership_id} has no webhook secret configured (webhook_secret_env)")
        try:
            verifier = Verifier.from_headers(
                secret,
                dealership_id,
                request.headers.get("x-auterity-timestamp"),
                request.headers.get("x-auterity-signature"),
                allow_legacy=dealership.webhook_legacy_signature,
            )
        except SignatureError as exc:
            raise _Refused(401, str(exc)) from None
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in kinds:
            raise _Refused(415, f"content type {kind or 'none'!r}; expected {' or '.join(kinds)}")
        digests, chunks, size = verifier.digests(), [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body:
                raise _Refused(413, f"body over the {self.max_body}-byte limit")
            for digest in digests.values():
                digest.update(chunk)
            chunks.append(chunk)
        try:
            verifier.check(digests)
        except SignatureError as exc:
            raise _Refused(401, str(exc)) from None
        return dealership, b"".join(chunks)

    async def _read(self, dealership: Dealership, body: bytes, parse, known: tuple[type[Exception], ...]):
        """What `parse` makes of an authentic body; a body it cannot read is quarantined and refused (400)."""
        try:
            return parse(body)
        except known as exc:
            why = describe(exc)
        except Exception as exc:  # a reader's fault must not become a 500 that the sender retries forever
            log.exception("%s: a body could not be read", dealership.id)
            why = f"could not be read ({type(exc).__name__})"
        await run_in_threadpool(quarantine, self.warehouse, dealership.id, "webhook", body, why)
        raise _Refused(400, why)

    async def _leads(self, request: Request) -> JSONResponse:
        arrived = dt.datetime.now(dt.UTC)
        try:
            dealership, body = await self._authentic_body(request, ("application/xml", "text/xml"))
            result = await self._read(
                dealership, body, lambda b: parse_adf(b, dealership.timezone, arrived), (AdfError,)
            )
        except _Refused as refused:
            return _refusal(refused)
        dealership_id = dealership.id
        events = lead_events(result.leads)
        stored = await run_in_threadpool(store, self.warehouse, dealership_id, events, "webhook")
        for number, reason in result.rejected:
            await run_in_threadpool(
                quarantine, self.warehouse, dealership_id, "webhook", body, f"ADF prospect {number}: {reason}"
            )
        if not stored:
            return _refusal(_Refused(400, "; ".join(f"prospect {n}: {r}" for n, r in result.rejected)))
        self.accepted += sum(s.created for s in stored)
        return JSONResponse(
            {
                "event_id": stored[0].event_id,
                "event_ids": [s.event_id for s in stored],
                "duplicates": [s.event_id for s in stored if not s.created],
                "rejected": [{"prospect": n, "reason": r} for n, r in result.rejected],
            },
            status_code=202,
        )

    async def _events(self, request: Request) -> JSONResponse:
        from pydantic import ValidationError

        try:
            dealership, body = await self._authentic_body(request, ("application/json",))
            event = await self._read(dealership, body, parse_event, (ValidationError,))
        except _Refused as refused:
            return _refusal(refused)
        (stored,) = await run_in_threadpool(
            store, self.warehouse, dealership.id, [dms_event(event)], "webhook"
        )
        self.accepted += stored.created
        return JSONResponse({"event_id": stored.event_id, "duplicate": not stored.created}, status_code=202)

    def _traced(self, route: str, handler):
        """The handler inside a server span: a trace's root, or the sender's child when it sent a
        `traceparent`. The inbox rows it stores carry the span on."""

        async def endpoint(request: Request) -> JSONResponse:
            with tracing.span(
                f"POST {route}",
                parent=request.headers,
                kind=SpanKind.SERVER,
                http__request__method="POST",
                http__route=route,
                auterity__dealership=request.path_params.get("dealership_id"),
            ) as span:
                response = await handler(request)
                span.set_attribute("http.response.status_code", response.status_code)
                return response

        return endpoint

    def app(self) -> Starlette:
        from resources.events.sms import SmsWebhooks

        sms = SmsWebhooks(self)
        leads, events = "/v1/dealerships/{dealership_id}/leads", "/v1/dealerships/{dealership_id}/events"
        return Starlette(
            routes=[
                Route("/sms/{dealership_id}/inbound", sms.inbound, methods=["POST"]),
                Route("/sms/{dealership_id}/status", sms.status, methods=["POST"]),
                Route(leads, self._traced(leads, self._leads), methods=["POST"]),
                Route(events, self._traced(events, self._events), methods=["POST"]),
                Route("/health", lambda request: JSONResponse({"ok": True})),
            ]
        )


def describe(exc: Exception) -> str:
    """Why a body was refused, in one line."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        return validation_reason(exc)
    return f"ADF: {exc}" if isinstance(exc, AdfError) else str(exc)


def _refusal(refused: _Refused) -> JSONResponse:
    return JSONResponse({"error": str(refused)}, status_code=refused.status)
