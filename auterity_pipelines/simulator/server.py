"""The simulator's HTTP API in two real DMS styles, with faults injected on request."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from auterity_pipelines.loopback import read_form, serve_app_in_thread
from auterity_pipelines.records import REST_ENTITIES, TIME_FIELDS, content_checksum
from auterity_pipelines.simulator.credentials import DEMO_CREDENTIALS
from auterity_pipelines.simulator.crm import DemoCrm
from auterity_pipelines.simulator.data import EPOCH, RooftopDms, SimulatorSettings, truth
from auterity_pipelines.simulator.messaging import DemoChat, DemoSms, Mailbox

MAX_PAGE_SIZE = 1000


@dataclass
class Faults:
    """Deterministic faults: every Nth data request gets one (0 turns a fault off)."""

    rate_limit_every: int = 0
    server_error_every: int = 0
    slow_every: int = 0
    slow_seconds: float = 2.0
    drop_every: int = 0
    expire_token_every: int = 0
    token_ttl: int = 3600
    counter: int = field(default=0, repr=False)

    def hit(self, every: int) -> bool:
        return every > 0 and self.counter % every == 0


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def to_fortellis(record: dict) -> dict:
    out = {
        "id" if k == "source_id" else "lastModifiedDate" if k == "modified_at" else camel(k): v
        for k, v in record.items()
    }
    if "lines" in out:
        out["lines"] = [{camel(k): v for k, v in line.items()} for line in out["lines"]]
    return out


def to_epoch_ms(value: object) -> object:
    try:
        return int(dt.datetime.fromisoformat(str(value)).timestamp() * 1000)
    except ValueError:
        return value  # a malformed time is served as it is, like a real DMS would


def to_tekion(record: dict) -> dict:
    return {k: to_epoch_ms(v) if k in TIME_FIELDS and v is not None else v for k, v in record.items()}


def _iso(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class Simulator:
    """The fleet's DMSs behind one HTTP server; rooftops are created on first mention."""

    def __init__(
        self, settings: SimulatorSettings | None = None, faults: Faults | None = None, credentials=None
    ):
        self.settings = settings or SimulatorSettings()
        self.faults = faults or Faults()
        self.credentials = dict(credentials or DEMO_CREDENTIALS)
        self._signing_key = hashlib.sha256(repr(sorted(self.credentials.items())).encode()).digest()
        self._lock = threading.Lock()
        self._rooftops: dict[str, RooftopDms] = {}
        webhook = "AUTERITY_DEMO_WEBHOOK_SECRET"
        self.crm = DemoCrm(self.credentials.get(webhook, DEMO_CREDENTIALS[webhook]))
        sid, token = "AUTERITY_SMS_ACCOUNT_SID", "AUTERITY_SMS_AUTH_TOKEN"
        self.sms = DemoSms(
            {
                self.credentials.get(sid, DEMO_CREDENTIALS[sid]): self.credentials.get(
                    token, DEMO_CREDENTIALS[token]
                )
            }
        )
        self.chat = DemoChat()
        self.mailbox = Mailbox()

    def rooftop(self, key: str) -> RooftopDms:
        # Kept: a rooftop remembers which leads converted and which visits came back.
        with self._lock:
            if key not in self._rooftops:
                self._rooftops[key] = RooftopDms(key, self.settings)
            return self._rooftops[key]

    # -- tokens: stateless, signed, with an expiry --------------------------------------

    def issue_token(self, subject: str) -> tuple[str, int]:
        expiry = int(time.time()) + self.faults.token_ttl
        body = f"{subject}.{expiry}"
        sig = hmac.new(self._signing_key, body.encode(), hashlib.sha256).hexdigest()[:32]
        return base64.urlsafe_b64encode(f"{body}.{sig}".encode()).decode(), self.faults.token_ttl

    def token_ok(self, header: str | None, subject: str) -> bool:
        if not header or not header.startswith("Bearer "):
            return False
        try:
            body, sig = base64.urlsafe_b64decode(header[7:]).decode().rsplit(".", 1)
            token_subject, expiry = body.rsplit(".", 1)
        except (ValueError, UnicodeDecodeError):
            return False
        good = hmac.compare_digest(
            sig, hmac.new(self._signing_key, body.encode(), hashlib.sha256).hexdigest()[:32]
        )
        return good and token_subject == subject and int(expiry) > time.time()

    def next_fault(self) -> str | None:
        with self._lock:
            self.faults.counter += 1
            f = self.faults
            for name, every in (
                ("expired", f.expire_token_every),
                ("rate_limit", f.rate_limit_every),
                ("server_error", f.server_error_every),
                ("drop", f.drop_every),
                ("slow", f.slow_every),
            ):
                if f.hit(every):
                    return name
        return None

    # -- the two API styles ------------------------------------------------------------

    async def fortellis_token(self, request: Request) -> Response:
        form = await read_form(request)
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if request.headers.get("authorization", "").startswith("Basic "):
            client_id, _, secret = (
                base64.b64decode(request.headers["authorization"][6:]).decode().partition(":")
            )
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, 400)
        if (client_id, secret) != (
            self.credentials["AUTERITY_DEMO_FORTELLIS_CLIENT_ID"],
            self.credentials["AUTERITY_DEMO_FORTELLIS_CLIENT_SECRET"],
        ):
            return JSONResponse({"error": "invalid_client"}, 401)
        token, ttl = self.issue_token("fortellis")
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": ttl})

    async def tekion_token(self, request: Request) -> Response:
        form = await read_form(request)
        if (form.get("app_id"), form.get("secret_key")) != (
            self.credentials["AUTERITY_DEMO_TEKION_APP_ID"],
            self.credentials["AUTERITY_DEMO_TEKION_SECRET_KEY"],
        ):
            return JSONResponse({"meta": {"status": "failed", "message": "invalid app credentials"}}, 401)
        token, ttl = self.issue_token("tekion")
        return JSONResponse(
            {"meta": {"status": "success"}, "data": {"access_token": token, "expires_in": ttl}}
        )

    async def fortellis_records(self, request: Request) -> Response:
        entity = request.path_params["entity"].replace("-", "_")
        subscription, request_id = request.headers.get("subscription-id"), request.headers.get("request-id")
        if not subscription or not request_id:
            return JSONResponse(
                {"code": 400, "message": "Subscription-Id and Request-Id headers are required"}, 400
            )
        if not self.token_ok(request.headers.get("authorization"), "fortellis"):
            return JSONResponse({"code": 401, "message": "invalid or expired token"}, 401)
        try:
            start, end = _iso(request.query_params["startDate"]), _iso(request.query_params["endDate"])
            page = int(request.query_params.get("page", 1))
            size = min(int(request.query_params.get("pageSize", 100)), MAX_PAGE_SIZE)
        except (KeyError, ValueError) as exc:
            return JSONResponse({"code": 400, "message": f"bad query: {exc}"}, 400)
        if entity not in REST_ENTITIES or page < 1 or size < 1:
            return JSONResponse({"code": 404, "message": f"no such resource {entity}"}, 404)
        fault = await self._fault_response()
        if isinstance(fault, Response):
            return fault
        dms = self.rooftop(subscription)
        found = dms.window(entity, start, end)
        items = [
            to_fortellis(dms.served(entity, *position, version, modified))
            for position, version, modified in found[(page - 1) * size : page * size]
        ]
        has_next = len(found) > page * size  # a record exists beyond this page
        body = {"items": items, "paging": {"page": page, "pageSize": size, "hasNext": has_next}}
        return self._respond(body, fault, {"Request-Id": request_id})

    async def tekion_records(self, request: Request) -> Response:
        entity = request.path_params["entity"]
        dealer, app_id = request.headers.get("dealer_id"), request.headers.get("app_id")
        if not dealer or not app_id:
            return JSONResponse(
                {"meta": {"status": "failed", "message": "dealer_id and app_id required"}}, 400
            )
        if not self.token_ok(request.headers.get("authorization"), "tekion"):
            return JSONResponse({"meta": {"status": "failed", "message": "token expired"}}, 401)
        try:
            start = dt.datetime.fromtimestamp(int(request.query_params["startTime"]) / 1000, dt.UTC)
            end = dt.datetime.fromtimestamp(int(request.query_params["endTime"]) / 1000, dt.UTC)
            limit = min(int(request.query_params.get("limit", 100)), MAX_PAGE_SIZE)
            key = request.query_params.get("nextFetchKey")
            after = tuple(json.loads(base64.urlsafe_b64decode(key))) if key else None
        except (KeyError, ValueError, TypeError) as exc:
            return JSONResponse({"meta": {"status": "failed", "message": f"bad query: {exc}"}}, 400)
        if entity not in REST_ENTITIES:
            return JSONResponse({"meta": {"status": "failed", "message": f"no such resource {entity}"}}, 404)
        fault = await self._fault_response()
        if isinstance(fault, Response):
            return fault
        stream = self.rooftop(dealer).stream(entity, start, end, after=after)
        data, last, more = [], None, False
        for position, record in stream:
            if len(data) == limit:
                more = True  # a record exists beyond this page
                break
            data.append(to_tekion(record))
            last = position
        next_key = base64.urlsafe_b64encode(json.dumps(last).encode()).decode() if more else None
        return self._respond({"meta": {"status": "success", "nextFetchKey": next_key}, "data": data}, fault)

    async def _fault_response(self) -> Response | str | None:
        fault = self.next_fault()
        if fault == "expired":
            return JSONResponse({"code": 401, "message": "token expired"}, 401)
        if fault == "rate_limit":
            return JSONResponse(
                {"code": 429, "message": "too many requests"}, 429, headers={"Retry-After": "1"}
            )
        if fault == "server_error":
            status = 503 if self.faults.counter % 2 else 500
            return JSONResponse({"code": status, "message": "upstream unavailable"}, status)
        if fault == "slow":
            await asyncio.sleep(self.faults.slow_seconds)
        return fault

    def _respond(self, body: dict, fault: str | None, headers: dict | None = None) -> Response:
        payload = json.dumps(body).encode()
        if fault != "drop":
            return Response(payload, media_type="application/json", headers=headers)

        async def half_then_hang_up() -> Iterator[bytes]:
            yield payload[: len(payload) // 2]
            raise SimulatedDrop("simulated connection drop mid-page")

        return StreamingResponse(
            half_then_hang_up(),
            media_type="application/json",
            headers={**(headers or {}), "Content-Length": str(len(payload))},
        )

    async def truth(self, request: Request) -> Response:
        """Test support: count and checksum of what a correct sync of a window holds."""
        q = request.query_params
        result = truth(self.rooftop(q["key"]), q["entity"], _iso(q["start"]), _iso(q["end"]))
        count, checksum = content_checksum(result.records)
        return JSONResponse(
            {
                "records": count,
                "checksum": checksum,
                "raw_faults": sorted(result.raw_faults),
                "conform_faults": sorted(result.conform_faults),
            }
        )

    async def outcomes(self, request: Request) -> Response:
        """Test and benchmark support: the hidden probability and drawn outcome of each lead or repair order."""
        q = request.query_params
        if q["entity"] not in ("leads", "repair_orders"):
            return JSONResponse({"error": "entity is leads or repair_orders"}, status_code=400)
        dms = self.rooftop(q["key"])
        found = [
            dms.outcome(q["entity"], day, index).as_dict(record["source_id"], EPOCH)
            for (day, index), record in dms.stream(q["entity"], _iso(q["start"]), _iso(q["end"]))
        ]
        return JSONResponse({"outcomes": found})

    async def identities(self, request: Request) -> Response:
        """Test and benchmark support: who each customer record of a window really is."""
        q = request.query_params
        dms = self.rooftop(q["key"])
        found = [
            {"source_id": record["source_id"], "identity": dms.identity(record["source_id"])}
            for _, record in dms.stream("customers", _iso(q["start"]), _iso(q["end"]))
        ]
        return JSONResponse({"identities": found})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/fortellis/oauth2/token", self.fortellis_token, methods=["POST"]),
                Route("/fortellis/v1/{entity}", self.fortellis_records),
                Route("/tekion/openapi/v3.1/oauth/token", self.tekion_token, methods=["POST"]),
                Route("/tekion/openapi/v4/{entity}", self.tekion_records),
                Route("/_sim/truth", self.truth),
                Route("/_sim/outcomes", self.outcomes),
                Route("/_sim/identities", self.identities),
                Route("/_sim/health", lambda request: JSONResponse({"ok": True})),
                *self.crm.routes(),
                *self.sms.routes(),
                *self.chat.routes(),
                *self.mailbox.routes(),
            ]
        )


class _QuietDrops(logging.Filter):
    """The simulator drops connections on purpose; that is not an error worth a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], SimulatedDrop))


class SimulatedDrop(ConnectionAbortedError):
    pass


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())


def serve_in_thread(simulator: Simulator, port: int = 0):
    """Run the simulator on loopback in this process; a context manager yielding its base URL."""
    return serve_app_in_thread(simulator.app(), "DMS simulator", port)
