"""`auterity metrics serve`: the platform's Prometheus endpoint."""

from __future__ import annotations

import signal
import threading

import click

DEFAULT_PORT = 9464


@click.group()
def metrics():
    """Prometheus metrics, read from the warehouse, the Dagster instance and the model registry."""


@metrics.command("serve")
@click.option("--port", type=int, default=DEFAULT_PORT, show_default=True)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address to bind. Anything but loopback lets others read the metrics (see the README).",
)
def serve_metrics(port: int, host: str):
    """Serve /metrics on http://HOST:PORT until stopped."""
    from auterity_pipelines.cli.instance import prepare_dagster_home, ready_warehouse
    from auterity_pipelines.metrics.server import LOOPBACK, platform_sources, registry_for, serve
    from resources.ai.config import ConfigError, load_config
    from resources.mlflow import neuroweaver_resource

    if host not in LOOPBACK:
        click.echo(
            f"warning: metrics bound to {host}, not loopback: anyone who reaches it can read them", err=True
        )
    instance, warehouse = prepare_dagster_home(), ready_warehouse()
    try:
        relay = load_config()
    except ConfigError as exc:  # budgets unknown: the budget gauge is left out, the rest served
        click.echo(f"warning: RelayCore configuration not read ({exc}); AI budgets not reported", err=True)
        relay = None
    sources = platform_sources(warehouse, instance, neuroweaver_resource().store, relay)
    server = serve(registry_for(sources), host, port)
    click.echo(f"metrics on http://{host}:{port}/metrics", err=True)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    server.shutdown()
