"""Serving an ASGI app on loopback from a thread: the simulators' way to run inside tests and benches."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn


@contextmanager
def serve_app_in_thread(app, name: str, port: int = 0) -> Iterator[str]:
    """Run `app` on 127.0.0.1 in this process; yields its base URL, stops it on exit."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True, name=name)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the {name} did not start")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class TooLarge(ValueError):
    pass


async def read_form(request, max_bytes: int | None = None) -> dict[str, str]:
    """An urlencoded form body as a dict (the last value of a repeated field), without python-multipart.

    TooLarge once more than `max_bytes` has arrived, whatever Content-Length said; bytes that are
    not UTF-8 are replaced, so a mangled field fails its signature instead of the server.
    """
    from urllib.parse import parse_qs

    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            raise TooLarge(f"body over the {max_bytes}-byte limit")
        chunks.append(chunk)
    text = b"".join(chunks).decode("utf-8", "replace")
    return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}
