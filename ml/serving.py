"""NeuroWeaver's OpenAI-compatible endpoint: `/v1/models` and `/v1/chat/completions` over its text models.

RelayCore routes to it like any provider. For tests and benchmarks it can answer late, fail on
purpose (429 with Retry-After, 500, a timeout, an invalid answer) and keep the request bodies it
received, to show what left the router.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from auterity_pipelines.loopback import serve_app_in_thread
from ml.text.enricher import TASKS, enrich

MODELS = {f"neuroweaver-{task.replace('_', '-')}": task for task in TASKS}
FAULT_KINDS = ("rate_limit", "server_error", "timeout", "invalid")


@dataclass
class ServingFaults:
    """Deliberate misbehaviour: a fixed script of faults first, then faults drawn by share."""

    latency_ms: float = 0.0
    shares: dict[str, float] = field(default_factory=dict)  # fault kind -> share of requests
    script: deque = field(default_factory=deque)  # fault kinds (or "ok") for the next requests, in order
    timeout_seconds: float = 30.0  # how long a "timeout" hangs
    seed: int = 0

    def __post_init__(self):
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def next(self) -> str | None:
        with self._lock:
            if self.script:
                kind = self.script.popleft()
                return None if kind == "ok" else kind
            roll = self._rng.random()
        for kind in FAULT_KINDS:
            roll -= self.shares.get(kind, 0.0)
            if roll < 0:
                return kind
        return None


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


class NeuroWeaverServer:
    def __init__(self, faults: ServingFaults | None = None, keep_requests: bool = False):
        self.faults = faults or ServingFaults()
        self.keep_requests = keep_requests
        self.requests: list[bytes] = []
        self.served = 0

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/models", self.models, methods=["GET"]),
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
            ]
        )

    async def models(self, request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"id": m, "object": "model", "created": 0, "owned_by": "neuroweaver"} for m in MODELS
                ],
            }
        )

    async def chat(self, request: Request) -> JSONResponse:
        body = await request.body()
        if self.keep_requests:
            self.requests.append(body)
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000)
        fault = self.faults.next()
        if fault == "rate_limit":
            return _error(
                429, "rate limit reached, retry shortly", "rate_limit_exceeded", {"retry-after": "0"}
            )
        if fault == "server_error":
            return _error(500, "the model server failed", "server_error")
        if fault == "timeout":
            await asyncio.sleep(self.faults.timeout_seconds)
        try:
            payload = json.loads(body)
            task = MODELS[payload["model"]]
            # The record is the first user message; later ones are a retry's correction.
            first = next(m for m in payload["messages"] if m.get("role") == "user")
            record = json.loads(first["content"])
        except KeyError:
            return _error(404, f"model {payload.get('model')!r} does not exist", "model_not_found")
        except (ValueError, TypeError, StopIteration) as exc:
            return _error(400, f"the request cannot be read: {exc}", "invalid_request_error")
        if fault == "invalid":
            content = '{"answer": "not what the schema asks"}'
        else:
            record = record if isinstance(record, dict) else {}
            content = json.dumps(await run_in_threadpool(enrich, task, record))
        prompt = sum(_tokens(str(m.get("content", ""))) + 4 for m in payload["messages"])
        self.served += 1
        return JSONResponse(
            {
                "id": f"chatcmpl-nw-{self.served}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": payload["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": _tokens(content),
                    "total_tokens": prompt + _tokens(content),
                },
            }
        )


def _error(status: int, message: str, code: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": code, "code": code}}, status_code=status, headers=headers
    )


@contextmanager
def serve_in_thread(server: NeuroWeaverServer, port: int = 0) -> Iterator[str]:
    """Run the endpoint on loopback in this process; yields its `/v1` base URL."""
    with serve_app_in_thread(server.app(), "NeuroWeaver endpoint", port) as url:
        yield f"{url}/v1"
