"""The HTTP core every REST DMS client shares: tokens, timeouts, retries that honour Retry-After."""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from auterity_pipelines.records import REST_ENTITIES
from resources.dms.window import Window

log = logging.getLogger(__name__)
RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}


class DmsConfigError(RuntimeError):
    """The DMS cannot be reached as configured (an unset secret): retrying changes nothing until a person acts."""


class DmsError(RuntimeError):
    """A DMS request that failed for good; the message says which and why (never a secret)."""


@dataclass(frozen=True)
class RetrySettings:
    attempts: int = 8
    base_delay: float = 0.25
    max_delay: float = 30.0
    timeout: float = 30.0

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


class RestDmsClient(ABC):
    """Pages through one rooftop's delta windows; each page is retried on its own, so a
    failure resumes at the page that failed, not at the start of the window."""

    nests_lines = True  # repair-order lines arrive inside their repair order
    entities = REST_ENTITIES

    def __init__(self, base_url: str, page_size: int = 500, retry: RetrySettings | None = None):
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self.retry = retry or RetrySettings()
        self.http = httpx.Client(timeout=self.retry.timeout)
        self._token: str | None = None
        self._token_expires = 0.0
        self.requests = 0
        self.retries: Counter[str] = Counter()  # by cause: "ReadTimeout", "HTTP 429", …
        self.http_seconds = 0.0  # waiting for responses
        self.json_seconds = 0.0  # decoding them

    def close(self) -> None:
        self.http.close()

    def check(self, window: Window) -> None:
        """Nothing to verify ahead of a REST window: every page is checked as it arrives."""

    @abstractmethod
    def _fetch_token(self) -> tuple[str, float]:
        """A new access token and its lifetime in seconds."""

    def batches(self, entity: str, window: Window) -> Iterator[list[dict]]:
        """Records changed in the window, a page at a time, in the extract's shape; the next page
        is asked for while the caller loads this one, so the DMS's time and ours overlap."""
        return prefetched(self.pages(entity, window))

    @abstractmethod
    def pages(self, entity: str, window: Window) -> Iterator[list[dict]]:
        """The window's pages, one request after another."""

    def _bearer(self, force: bool = False) -> str:
        # Refresh ahead of expiry so that a long window never sends a token that dies in flight.
        if force or self._token is None or time.monotonic() >= self._token_expires:
            token, lifetime = self._fetch_token()
            self._token = token
            self._token_expires = time.monotonic() + lifetime - min(60.0, lifetime / 5)
        return f"Bearer {self._token}"

    def _request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        auth: bool = True,
        headers: dict | None = None,
        params: dict | None = None,
        data: dict | None = None,
    ) -> dict:
        last = "no attempt made"
        force_token = False
        for attempt in range(self.retry.attempts):
            sent = dict(headers or {})
            if auth:
                sent["Authorization"] = self._bearer(force=force_token)
            force_token = False
            started = time.perf_counter()
            try:
                response = self.http.request(
                    method, self.base_url + path, headers=sent, params=params, data=data
                )
                decoding = time.perf_counter()
                self.http_seconds += decoding - started
                body = response.json() if response.status_code < 300 else None
                self.json_seconds += time.perf_counter() - decoding
            except (httpx.TransportError, ValueError) as exc:
                # Dropped connections, timeouts and truncated bodies are retried like a 503.
                cause, last = type(exc).__name__, f"{type(exc).__name__}: {exc}"
                delay = self.retry.backoff(attempt)
            else:
                self.requests += 1
                if body is not None:
                    return body
                cause = last = f"HTTP {response.status_code}"
                if response.status_code == 401 and auth:
                    self.retries[cause] += 1
                    force_token = True
                    continue
                if response.status_code not in RETRYABLE_STATUS:
                    raise DmsError(f"{what}: {last}: {response.text[:200]}")
                delay = max(self.retry.backoff(attempt), _retry_after(response))
            if attempt + 1 < self.retry.attempts:
                self.retries[cause] += 1
                log.warning("%s failed (%s); retry %d in %.1fs", what, last, attempt + 1, delay)
                time.sleep(delay)
        raise DmsError(f"{what}: gave up after {self.retry.attempts} attempts; last error {last}")


_END = object()


def prefetched(pages: Iterator[list[dict]], ahead: int = 1) -> Iterator[list[dict]]:
    """`pages` read in a thread of their own, at most `ahead` pages before the caller; an error
    there is raised here, and a caller that stops early stops the thread at its next page."""
    handoff: queue.Queue = queue.Queue(maxsize=ahead)
    stopped = threading.Event()

    def put(item) -> bool:
        while not stopped.is_set():
            try:
                handoff.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for page in pages:
                if not put(page):
                    return
            put(_END)
        except BaseException as exc:  # handed to the caller, whose error it is
            put(exc)
        finally:
            pages.close()

    threading.Thread(target=read, name="dms-pages", daemon=True).start()
    try:
        while (item := handoff.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stopped.set()


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(float(response.headers.get("retry-after", 0)), 300.0)
    except ValueError:
        return 0.0
