"""`/metrics` for Prometheus: one collector that asks each source at every scrape."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

log = logging.getLogger(__name__)


class PlatformCollector(Collector):
    """The platform's metrics, from the warehouse, the Dagster instance and the model registry.

    A source that cannot be read is reported by `auterity_metrics_source_up{source}` = 0 and
    logged; the others are still served, so one failing store does not blind the rest.
    """

    def __init__(self, sources: dict[str, Callable[[], list]]):
        self.sources = sources

    def collect(self) -> Iterator:
        up = GaugeMetricFamily(
            "auterity_metrics_source_up", "1 if the source answered this scrape.", labels=["source"]
        )
        took = GaugeMetricFamily("auterity_metrics_source_seconds", "How long the source took this scrape.", labels=["source"])  # fmt: skip
        for name, read in self.sources.items():
            started = time.perf_counter()
            try:
                families = read()
            except Exception as exc:  # reported as a metric: the scrape itself must answer
                log.warning("metrics: %s could not be read: %s", name, exc)
                families = None
            took.add_metric([name], time.perf_counter() - started)
            up.add_metric([name], 0.0 if families is None else 1.0)
            yield from families or []
        yield up
        yield took


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


def registry_for(sources: dict[str, Callable[[], list]]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PlatformCollector(sources))
    return registry


def serve(registry: CollectorRegistry, host: str, port: int):
    """Serve `/metrics` on host:port in a background thread; returns the server (`.shutdown()`).

    One collection first, before the port opens: the sources' first reads (imports, the model
    registry creating its tables on a new install) take seconds that no scrape should wait for."""
    from prometheus_client import start_http_server

    list(registry.collect())
    server, _ = start_http_server(port, addr=host, registry=registry)
    return server
