"""The REST clients' own promises: a slow page times out and is retried; a failed page is
fetched again on its own, never the pages before it."""

import datetime as dt

import pytest

from auterity_pipelines.simulator.data import RooftopDms, SimulatorSettings
from auterity_pipelines.simulator.server import Faults
from resources.dms.fortellis import FortellisClient
from resources.dms.http import DmsError, RetrySettings
from resources.dms.tekion import TekionClient
from resources.dms.window import Window
from tests.conftest import NOW, start_simulator

WINDOW = Window(
    dt.date(2026, 11, 10), dt.datetime(2026, 11, 10, tzinfo=dt.UTC), dt.datetime(2026, 11, 12, tzinfo=dt.UTC)
)
FAST = RetrySettings(attempts=8, base_delay=0.01, max_delay=0.05, timeout=0.5)


def clients(url: str, page_size: int, retry: RetrySettings):
    return [
        FortellisClient(url, "demo-client", "demo-client-secret", "r1", page_size=page_size, retry=retry),
        TekionClient(url, "demo-app", "demo-app-secret", "r1", page_size=page_size, retry=retry),
    ]


def expected_ids() -> list[str]:
    dms = RooftopDms("r1", SimulatorSettings(now=NOW))
    return sorted(r["source_id"] for _, r in dms.stream("appointments", WINDOW.start, WINDOW.end))


def fetch(client) -> list[str]:
    return sorted(r["source_id"] for batch in client.batches("appointments", WINDOW) for r in batch)


def test_a_page_slower_than_the_timeout_is_retried():
    with start_simulator(faults=Faults(slow_every=3, slow_seconds=2.0)) as url:
        for client in clients(url, 10, FAST):
            assert fetch(client) == expected_ids(), type(client).__name__
            assert client.retries["ReadTimeout"] > 0, client.retries


def test_dropped_pages_are_fetched_again_alone():
    want = expected_ids()
    pages = -(-len(want) // 7)
    with start_simulator(faults=Faults(drop_every=2)) as url:
        for client in clients(url, 7, FAST):
            assert fetch(client) == want, type(client).__name__
            # Every page and the token arrived exactly once: no page was fetched twice after a drop.
            assert client.requests == pages + 1, type(client).__name__


def test_a_dms_that_stays_down_fails_with_a_clear_error():
    with start_simulator(faults=Faults(server_error_every=1)) as url:
        client = clients(url, 50, RetrySettings(attempts=3, base_delay=0.01, max_delay=0.02))[0]
        with pytest.raises(
            DmsError, match=r"Fortellis appointments page 1: gave up after 3 attempts; last error HTTP 50[03]"
        ):
            fetch(client)
