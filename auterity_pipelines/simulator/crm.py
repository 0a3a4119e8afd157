"""The demo rooftops' CRM: takes the signed lead posts the platform sends, as a real CRM webhook would.

It answers 401 to a post whose `v1` signature does not match the rooftop's webhook secret, and
keeps the last posts it accepted for `GET /_crm/{dealership}/leads`, so a demo (and a test) can
see what reached the CRM.
"""

from __future__ import annotations

import json
from collections import deque

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from auterity_pipelines.events.signing import SignatureError, verify

KEPT = 1000


class DemoCrm:
    def __init__(self, secret: str):
        self.secret = secret
        self.received: dict[str, deque] = {}
        self.tasks: dict[str, deque] = {}

    async def post(self, request: Request) -> JSONResponse:
        dealership_id = request.path_params["dealership_id"]
        body = await request.body()
        try:
            verify(
                self.secret,
                request.headers.get("x-auterity-timestamp"),
                request.headers.get("x-auterity-signature"),
                body,
                dealership_id,
            )
            message = json.loads(body)
        except (SignatureError, ValueError) as exc:
            return JSONResponse(
                {"error": str(exc)}, status_code=401 if isinstance(exc, SignatureError) else 400
            )
        if message.get("kind") == "automation":
            # A task for staff, not a lead: kept apart, and once per Idempotency-Key as a CRM would.
            key = request.headers.get("idempotency-key")
            tasks = self.tasks.setdefault(dealership_id, deque(maxlen=KEPT))
            if key is None or all(t["key"] != key for t in tasks):
                tasks.append({"key": key, **message})
            return JSONResponse({"ok": True})
        self.received.setdefault(dealership_id, deque(maxlen=KEPT)).append(message)
        return JSONResponse({"ok": True})

    async def task_list(self, request: Request) -> JSONResponse:
        return JSONResponse({"tasks": list(self.tasks.get(request.path_params["dealership_id"], ()))})

    async def leads(self, request: Request) -> JSONResponse:
        return JSONResponse({"leads": list(self.received.get(request.path_params["dealership_id"], ()))})

    def routes(self) -> list[Route]:
        return [
            Route("/_crm/{dealership_id}/leads", self.post, methods=["POST"]),
            Route("/_crm/{dealership_id}/leads", self.leads, methods=["GET"]),
            Route("/_crm/{dealership_id}/tasks", self.task_list, methods=["GET"]),
        ]
