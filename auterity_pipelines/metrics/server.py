"""`/metrics` for Prometheus: one collector that asks each source at every scrape."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

log = logging.getLogger(__name__)


class PlatformCollector(Collector):
    """The platform's metrics, from the warehouse, the Dagster instance and the model registry.

    A source that cannot be read is reported by `auterity_metrics_source_up{source}` = 0 and
    logged; the others are still served, so one failing store does not blind the rest.

    With `refresh_seconds`, the sources are read by a background thread every that many seconds
    and a scrape serves the latest reading: a scrape's time no longer grows with the ledgers
    (reading them takes over a second at 300 rooftops), and the figures are at most
    `refresh_seconds` plus one reading old (`auterity_metrics_snapshot_age_seconds`). Without it,
    every scrape reads the sources.
    """

    def __init__(self, sources: dict[str, Callable[[], list]], refresh_seconds: float | None = None):
        self.sources = sources
        self.refresh_seconds = refresh_seconds
        self._snapshot: tuple[float, list] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def read(self) -> list:
        """Every source's families now, with `source_up` and `source_seconds`."""
        up = GaugeMetricFamily(
            "auterity_metrics_source_up", "1 if the source answered this scrape.", labels=["source"]
        )
        took = GaugeMetricFamily("auterity_metrics_source_seconds", "How long the source took this scrape.", labels=["source"])  # fmt: skip
        found = []
        for name, read in self.sources.items():
            started = time.perf_counter()
            try:
                families = read()
            except Exception as exc:  # reported as a metric: the scrape itself must answer
                log.warning("metrics: %s could not be read: %s", name, exc)
                families = None
            took.add_metric([name], time.perf_counter() - started)
            up.add_metric([name], 0.0 if families is None else 1.0)
            found.extend(families or [])
        return [*found, up, took]

    def start(self) -> None:
        """Take the first reading now, then keep reading in the background (with `refresh_seconds`)."""
        if self.refresh_seconds is None:
            return
        self._snapshot = (time.time(), self.read())
        self._thread = threading.Thread(target=self._refresh, name="metrics-refresh", daemon=True)
        self._thread.start()

    def _refresh(self) -> None:
        while not self._stop.wait(self.refresh_seconds):
            self._snapshot = (time.time(), self.read())

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def collect(self) -> Iterator:
        if self._snapshot is None:
            yield from self.read()
            return
        taken, families = self._snapshot
        yield from families
        yield GaugeMetricFamily(
            "auterity_metrics_snapshot_age_seconds",
            "How old the figures served are (read in the background every --refresh-seconds).",
            value=time.time() - taken,
        )


def platform_sources(warehouse, instance, store, relay_config) -> dict[str, Callable[[], list]]:
    from auterity_pipelines.metrics import instance as runs
    from auterity_pipelines.metrics import models
    from auterity_pipelines.metrics import warehouse as stores

    def budget(dealership: str, task: str) -> float | None:
        return relay_config.quota(dealership, task).monthly_budget_usd if relay_config else None

    return {
        "warehouse": lambda: stores.collect(warehouse.engine, budget),
        "dagster": lambda: runs.collect(instance),
        "models": lambda: models.collect(store),
    }


class Serving:
    """A running `/metrics`: its HTTP server and, when refreshing, the thread that reads."""

    def __init__(self, server, collector: PlatformCollector):
        self.server, self.collector = server, collector

    def shutdown(self) -> None:
        self.server.shutdown()
        self.collector.stop()


def serve(
    sources: dict[str, Callable[[], list]], host: str, port: int, refresh_seconds: float | None = None
) -> Serving:
    """Serve `/metrics` on host:port in a background thread (`.shutdown()` stops it).

    The sources are read once before the port opens: their first reads (imports, the model
    registry creating its tables on a new install) take seconds that no scrape should wait for."""
    from prometheus_client import start_http_server

    collector = PlatformCollector(sources, refresh_seconds)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    if refresh_seconds is None:
        collector.read()
    else:
        collector.start()
    try:
        server, _ = start_http_server(port, addr=host, registry=registry)
    except BaseException:  # the port is taken: the reading thread must not outlive the failure
        collector.stop()
        raise
    return Serving(server, collector)
