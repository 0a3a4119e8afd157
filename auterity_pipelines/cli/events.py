"""`auterity serve-events` and `auterity consume-events`: how dealership events get in."""

from __future__ import annotations

import contextlib
import os

import click


@click.command("serve-events")
@click.option("--port", type=int, default=8767, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
def serve_events(port: int, host: str):
    """Receive signed webhooks: ADF leads and DMS events, into the events inbox."""
    import uvicorn

    from auterity_pipelines.cli.instance import ready_warehouse
    from auterity_pipelines.fleet import FleetError, load_fleet
    from auterity_pipelines.settings import fleet_path
    from resources.events.receiver import Receiver

    try:
        fleet = load_fleet(fleet_path())
    except FleetError as exc:
        raise click.ClickException(str(exc)) from None
    receiver = Receiver(fleet, ready_warehouse())
    click.echo(
        f"event receiver on http://{host}:{port}/v1/dealerships/<id>/(leads|events) for {len(fleet.ids)} rooftops"
    )
    uvicorn.run(receiver.app(), host=host, port=port, log_level="warning")


@click.command("consume-events")
@click.option("--queue", default=None, help="The durable queue to read (default auterity.events).")
def consume_events(queue: str | None):
    """Move events from RabbitMQ's `dealership.events` exchange into the events inbox (AUTERITY_AMQP_URL)."""
    from auterity_pipelines.cli.instance import ready_warehouse
    from auterity_pipelines.fleet import FleetError, load_fleet
    from auterity_pipelines.settings import fleet_path
    from resources.events.amqp import DEFAULT_URL, QUEUE, consume

    try:
        fleet = load_fleet(fleet_path())
    except FleetError as exc:
        raise click.ClickException(str(exc)) from None
    url = os.environ.get("AUTERITY_AMQP_URL", DEFAULT_URL)
    click.echo(f"consuming {queue or QUEUE} into the events inbox; Ctrl-C stops", err=True)
    with contextlib.suppress(KeyboardInterrupt):
        consume(url, fleet, ready_warehouse(), queue or QUEUE)
