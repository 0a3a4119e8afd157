"""`auterity serve-events` and `auterity consume-events`: how dealership events get in."""

from __future__ import annotations

import contextlib
import os

import click

from auterity_pipelines.cli.binding import host_option, warn_if_exposed


def live_fleet(check_secrets: bool = False):
    """The fleet file, watched for changes; with `check_secrets`, refused while a webhook secret it names is unset."""
    from auterity_pipelines.fleet import FleetError, LiveFleet
    from auterity_pipelines.settings import fleet_path, unset_secrets

    try:
        fleet = LiveFleet(fleet_path())
    except FleetError as exc:
        raise click.ClickException(str(exc)) from None
    unset = (
        unset_secrets([d.webhook_secret_env for d in fleet.current().dealerships]) if check_secrets else []
    )
    if unset:
        raise click.ClickException(
            f"webhook secret variable(s) not set: {', '.join(unset)} (named by webhook_secret_env in "
            f"{fleet_path()}; the demo values stand in only for the bundled demo fleet)"
        )
    return fleet


@click.command("serve-events")
@click.option("--port", type=int, default=8767, show_default=True)
@host_option("receiver")
def serve_events(port: int, host: str):
    """Receive signed webhooks: ADF leads and DMS events, into the events inbox."""
    import uvicorn

    from auterity_pipelines.cli.instance import ready_warehouse
    from resources.events.receiver import Receiver

    warn_if_exposed(host, "event receiver", "anyone who reaches it can try webhook signatures against it")
    fleet = live_fleet(check_secrets=True)
    receiver = Receiver(fleet, ready_warehouse())
    click.echo(
        f"event receiver on http://{host}:{port}/v1/dealerships/<id>/(leads|events) for "
        f"{len(fleet.current().ids)} rooftops; the fleet file is read again when it changes"
    )
    uvicorn.run(receiver.app(), host=host, port=port, log_level="warning")


@click.command("consume-events")
@click.option("--queue", default=None, help="The durable queue to read (default auterity.events).")
def consume_events(queue: str | None):
    """Move events from RabbitMQ's `dealership.events` exchange into the events inbox (AUTERITY_AMQP_URL)."""
    from auterity_pipelines.cli.instance import ready_warehouse
    from resources.events.amqp import DEFAULT_URL, QUEUE, consume

    fleet = live_fleet()
    url = os.environ.get("AUTERITY_AMQP_URL", DEFAULT_URL)
    click.echo(f"consuming {queue or QUEUE} into the events inbox; Ctrl-C stops", err=True)
    with contextlib.suppress(KeyboardInterrupt):
        consume(url, fleet, ready_warehouse(), queue or QUEUE)
