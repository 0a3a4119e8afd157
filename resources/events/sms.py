"""The SMS provider's webhooks on the event receiver: customers' replies (STOP and START) and
delivery status, each signed as the provider signs them (`X-Twilio-Signature`)."""

from __future__ import annotations

import logging
import os

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auterity_pipelines.automations.rules import e164
from auterity_pipelines.events.signing import SignatureError, verify_twilio
from auterity_pipelines.fleet import FleetError
from auterity_pipelines.loopback import TooLarge, read_form
from auterity_pipelines.settings import named_secret

AUTH_TOKEN_ENV = "AUTERITY_SMS_AUTH_TOKEN"
MAX_BODY_BYTES = 64_000  # a provider's form post is a few hundred bytes
# Behind a proxy the provider signs the public URL, not the one the receiver sees.
PUBLIC_URL_ENV = "AUTERITY_EVENTS_PUBLIC_URL"
# The provider's own opt-out and opt-in keywords: a reply of exactly one of them.
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
START_WORDS = frozenset({"START", "YES", "UNSTOP", "OPTIN"})
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
log = logging.getLogger(__name__)


def keyword(body: str) -> str | None:
    """`stop`, `start` or None for a reply's text."""
    word = body.strip().strip(".!").upper()
    return "stop" if word in STOP_WORDS else "start" if word in START_WORDS else None


class SmsWebhooks:
    def __init__(self, receiver):
        self.receiver = receiver

    async def _form(self, request: Request) -> tuple[str, dict[str, str]] | Response:
        dealership_id = request.path_params["dealership_id"]
        try:
            self.receiver.fleet.current().get(dealership_id)
        except (FleetError, KeyError):
            return JSONResponse({"error": f"unknown dealership {dealership_id!r}"}, status_code=404)
        token = named_secret(AUTH_TOKEN_ENV)
        if not token:
            return JSONResponse({"error": f"{AUTH_TOKEN_ENV} is not set"}, status_code=401)
        try:
            form = await read_form(request, MAX_BODY_BYTES)
        except TooLarge as exc:
            return JSONResponse({"error": str(exc)}, status_code=413)
        public = os.environ.get(PUBLIC_URL_ENV)
        url = f"{public.rstrip('/')}{request.url.path}" if public else str(request.url)
        try:
            verify_twilio(token, url, form, request.headers.get("x-twilio-signature"))
        except SignatureError as exc:
            return JSONResponse({"error": str(exc)}, status_code=401)
        return dealership_id, form

    async def inbound(self, request: Request) -> Response:
        from resources.channels.ledger import set_opt_out

        read = await self._form(request)
        if isinstance(read, Response):
            return read
        dealership_id, form = read
        word, phone = keyword(form.get("Body", "")), e164(form.get("From"))
        if word and phone:
            await run_in_threadpool(
                set_opt_out,
                self.receiver.warehouse.engine,
                dealership_id,
                "sms",
                phone,
                word == "stop",
                "sms_reply",
            )
            log.info("%s: SMS %s from ***%s", dealership_id, word.upper(), phone[-4:])
        return Response(EMPTY_TWIML, media_type="text/xml")

    async def status(self, request: Request) -> Response:
        from resources.channels.ledger import record_status

        read = await self._form(request)
        if isinstance(read, Response):
            return read
        _, form = read
        if form.get("MessageSid") and form.get("MessageStatus"):
            await run_in_threadpool(
                record_status,
                self.receiver.warehouse.engine,
                form["MessageSid"],
                form["MessageStatus"][:20],
                form.get("ErrorCode"),
            )
        return Response(status_code=204)
