"""Loopback providers automations send through: a Twilio-compatible SMS API, Slack-compatible chat
webhooks and an SMTP mailbox, each keeping what it received and injecting faults on request.

- SMS: `POST /twilio/2010-04-01/Accounts/{sid}/Messages.json` (Basic auth, form `To`, `From`,
  `Body`, `StatusCallback`) answers 201 with the message; `GET` on the same path lists them
  (`To`, `DateSent>`, `PageSize`, `Page`). A status callback follows each message, signed with
  `X-Twilio-Signature`. `POST /_sms/reply {from, to, body, url}` plays a customer's reply: it
  is posted to `url` as the provider posts inbound messages.
- Chat: `POST /_chat/<path>` with `{"text": …}` answers `ok`; `GET` lists what arrived.
- Faults: `POST /_sms/faults` or `/_chat/faults` with `{"faults": ["429", "500", "timeout",
  "accept_then_hang"], "retry_after": 1, "hang_seconds": 15}`; each request takes the next one.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import datetime as dt
import email.utils
import secrets
import threading

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from auterity_pipelines.events.signing import twilio_signature
from auterity_pipelines.loopback import read_form

KEPT = 10_000
PAGE_SIZE = 50


class FaultQueue:
    def __init__(self):
        self.queue: collections.deque[str] = collections.deque()
        self.retry_after = 1
        self.hang_seconds = 15.0

    async def set(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.queue.extend(str(f) for f in body.get("faults", []))
        self.retry_after = int(body.get("retry_after", self.retry_after))
        self.hang_seconds = float(body.get("hang_seconds", self.hang_seconds))
        return JSONResponse({"queued": list(self.queue)})

    def take(self) -> str | None:
        return self.queue.popleft() if self.queue else None

    async def answer(self, fault: str | None) -> Response | None:
        """The response a fault gives before the request is handled, or None to go on."""
        if fault == "429":
            return JSONResponse(
                {"code": 20429, "message": "Too Many Requests", "status": 429},
                status_code=429,
                headers={"Retry-After": str(self.retry_after)},
            )
        if fault in ("500", "503"):
            return JSONResponse({"code": 20500, "message": "Internal Server Error"}, status_code=int(fault))
        if fault == "timeout":
            await asyncio.sleep(self.hang_seconds)
            return JSONResponse({"message": "too late"}, status_code=504)
        return None


class DemoSms:
    def __init__(self, accounts: dict[str, str]):
        self.accounts = accounts  # sid → auth token
        self.messages: collections.deque[dict] = collections.deque(maxlen=KEPT)
        self.faults = FaultQueue()
        self.callbacks: list[dict] = []
        self._lock = threading.Lock()

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            sid, _, token = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return sid == request.path_params["sid"] and secrets.compare_digest(
            self.accounts.get(sid, "\0"), token
        )

    async def create(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({"code": 20003, "message": "Authenticate", "status": 401}, status_code=401)
        fault = self.faults.take()
        refused = await self.faults.answer(fault)
        if refused is not None:
            return refused
        form = await read_form(request)
        for field in ("To", "From", "Body"):
            if not form.get(field):
                return JSONResponse(
                    {"code": 21604, "message": f"A '{field}' is required.", "status": 400}, status_code=400
                )
        now = email.utils.format_datetime(dt.datetime.now(dt.UTC), usegmt=True)
        message = {
            "sid": "SM" + secrets.token_hex(16),
            "account_sid": request.path_params["sid"],
            "to": form["To"],
            "from": form["From"],
            "body": form["Body"],
            "status": "queued",
            "direction": "outbound-api",
            "num_segments": str(-(-len(form["Body"]) // 153) if len(form["Body"]) > 160 else 1),
            "date_created": now,
            "date_sent": now,
        }
        with self._lock:
            self.messages.append(message)
        if form.get("StatusCallback"):
            asyncio.get_running_loop().create_task(
                self._status(request.path_params["sid"], form["StatusCallback"], message)
            )
        if fault == "accept_then_hang":  # the provider has it; the answer never comes in time
            await asyncio.sleep(self.faults.hang_seconds)
        return JSONResponse(message, status_code=201)

    async def _status(self, sid: str, url: str, message: dict) -> None:
        form = {
            "MessageSid": message["sid"],
            "MessageStatus": "delivered",
            "To": message["to"],
            "AccountSid": sid,
        }
        headers = {"X-Twilio-Signature": twilio_signature(self.accounts[sid], url, form)}
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                response = await client.post(url, data=form, headers=headers)
            self.callbacks.append({"url": url, "status": response.status_code, **form})
        except httpx.HTTPError as exc:
            self.callbacks.append({"url": url, "error": str(exc), **form})

    async def list(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({"code": 20003, "message": "Authenticate", "status": 401}, status_code=401)
        q = request.query_params
        size = min(int(q.get("PageSize", PAGE_SIZE)), 1000)
        page = int(q.get("Page", 0))
        since = q.get("DateSent>") or q.get("DateSent>=")
        with self._lock:
            found = [
                m
                for m in reversed(self.messages)  # newest first, as the provider lists them
                if m["account_sid"] == request.path_params["sid"]
                and (not q.get("To") or m["to"] == q["To"])
                and (
                    not since or email.utils.parsedate_to_datetime(m["date_sent"]).date().isoformat() >= since
                )
            ]
        chunk = found[page * size : (page + 1) * size]
        following = None
        if len(found) > (page + 1) * size:
            params = httpx.QueryParams({**dict(q), "Page": page + 1, "PageSize": size})
            following = f"{request.url.path}?{params}"
        return JSONResponse({"messages": chunk, "page": page, "page_size": size, "next_page_uri": following})

    async def reply(self, request: Request) -> Response:
        """A customer's text back (STOP, START…), posted to the platform as the provider would."""
        body = await request.json()
        sid = next(iter(self.accounts))
        form = {
            "MessageSid": "SM" + secrets.token_hex(16),
            "AccountSid": sid,
            "From": body["from"],
            "To": body["to"],
            "Body": body["body"],
        }
        headers = {"X-Twilio-Signature": twilio_signature(self.accounts[sid], body["url"], form)}
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(body["url"], data=form, headers=headers)
        return JSONResponse({"status": response.status_code, "answer": response.text[:500]})

    async def all(self, request: Request) -> JSONResponse:
        with self._lock:
            return JSONResponse({"messages": list(self.messages), "callbacks": self.callbacks[-100:]})

    def routes(self) -> list[Route]:
        path = "/twilio/2010-04-01/Accounts/{sid}/Messages.json"
        return [
            Route(path, self.create, methods=["POST"]),
            Route(path, self.list, methods=["GET"]),
            Route("/_sms/faults", self.faults.set, methods=["POST"]),
            Route("/_sms/reply", self.reply, methods=["POST"]),
            Route("/_sms/messages", self.all, methods=["GET"]),
        ]


class DemoChat:
    def __init__(self):
        self.posts: collections.deque[dict] = collections.deque(maxlen=KEPT)
        self.faults = FaultQueue()

    async def post(self, request: Request) -> Response:
        refused = await self.faults.answer(self.faults.take())
        if refused is not None:
            return refused
        try:
            payload = await request.json()
        except ValueError:
            return PlainTextResponse("invalid_payload", status_code=400)
        if not isinstance(payload, dict) or not payload.get("text"):
            return PlainTextResponse("no_text", status_code=400)
        self.posts.append({"path": request.path_params["path"], "text": payload["text"]})
        return PlainTextResponse("ok")

    async def list(self, request: Request) -> JSONResponse:
        return JSONResponse({"posts": [p for p in self.posts if p["path"] == request.path_params["path"]]})

    def routes(self) -> list[Route]:
        return [
            Route("/_chat/faults", self.faults.set, methods=["POST"]),
            Route("/_chat/{path:path}", self.post, methods=["POST"]),
            Route("/_chat/{path:path}", self.list, methods=["GET"]),
        ]


class Mailbox:
    """An SMTP server (aiosmtpd) that keeps what it receives; `GET /_mail` lists it."""

    def __init__(self):
        self.messages: collections.deque[dict] = collections.deque(maxlen=KEPT)
        self.controller = None

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's handler hook
        from email import message_from_bytes, policy

        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "subject": parsed["Subject"],
                "message_id": str(parsed["Message-ID"]).strip(),
                "body": parsed.get_body(("plain",)).get_content().strip()
                if parsed.get_body(("plain",))
                else "",
            }
        )
        return "250 Message accepted for delivery"

    def start(self, port: int, host: str = "127.0.0.1") -> int:
        import socket

        from aiosmtpd.controller import Controller

        if port == 0:  # the controller checks it is up by connecting to its port, so it needs a real one
            with socket.socket() as probe:
                probe.bind((host, 0))
                port = probe.getsockname()[1]
        self.controller = Controller(self, hostname=host, port=port)
        self.controller.start()
        return port

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()

    async def list(self, request: Request) -> JSONResponse:
        return JSONResponse({"messages": list(self.messages)})

    def routes(self) -> list[Route]:
        return [Route("/_mail", self.list, methods=["GET"])]
