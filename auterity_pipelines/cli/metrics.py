"""`auterity metrics serve`: the platform's Prometheus endpoint."""

from __future__ import annotations

import signal
import threading

import click

from auterity_pipelines.cli.binding import host_option, warn_if_exposed

DEFAULT_PORT = 9464
# Half of Prometheus's usual 30 s scrape interval: each scrape sees figures at most ~15 s old.
DEFAULT_REFRESH_SECONDS = 15.0


@click.group()
def metrics():
    """Prometheus metrics, read from the warehouse, the Dagster instance and the model registry."""


@metrics.command("serve")
@click.option("--port", type=int, default=DEFAULT_PORT, show_default=True)
@host_option("metrics")
@click.option(
    "--refresh-seconds",
    type=float,
    default=DEFAULT_REFRESH_SECONDS,
    show_default=True,
    help="Read the stores in the background this often and serve the latest reading (0: read at every scrape).",
)
def serve_metrics(port: int, host: str, refresh_seconds: float):
    """Serve /metrics on http://HOST:PORT until stopped."""
    from auterity_pipelines.cli.instance import prepare_dagster_home, ready_warehouse
    from auterity_pipelines.metrics.server import platform_sources, serve
    from resources.ai.config import ConfigError, load_config
    from resources.mlflow import neuroweaver_resource

    warn_if_exposed(host, "metrics endpoint", "anyone who reaches it can read every rooftop's figures")
    instance, warehouse = prepare_dagster_home(), ready_warehouse()
    try:
        relay = load_config()
    except ConfigError as exc:  # budgets unknown: the budget gauge is left out, the rest served
        click.echo(f"warning: RelayCore configuration not read ({exc}); AI budgets not reported", err=True)
        relay = None
    sources = platform_sources(warehouse, instance, neuroweaver_resource().store, relay)
    server = serve(sources, host, port, refresh_seconds or None)
    click.echo(f"metrics on http://{host}:{port}/metrics", err=True)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    server.shutdown()
