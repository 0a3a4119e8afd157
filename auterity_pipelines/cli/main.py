"""`auterity`: one entry point for what operators do outside the Dagster UI."""

from __future__ import annotations

import json

import click

from auterity_pipelines.cli.adf import adf
from auterity_pipelines.cli.automations import automations
from auterity_pipelines.cli.dev import dev
from auterity_pipelines.cli.events import consume_events, serve_events
from auterity_pipelines.cli.leads import leads
from auterity_pipelines.cli.metrics import metrics
from auterity_pipelines.cli.neuroweaver import neuroweaver
from auterity_pipelines.cli.simulator import dms_simulator
from auterity_pipelines.cli.sync import sync


@click.group()
def cli():
    """Auterity Pipelines: the dealership group's data platform."""


@cli.group()
def vin():
    """Vehicle identification numbers."""


@vin.command("decode")
@click.argument("vins", nargs=-1, required=True)
def vin_decode(vins):
    """Print one JSON object per VIN; exit status 1 when any VIN is not valid."""
    from auterity_pipelines.vin import decode

    results = [decode(v) for v in vins]
    for result in results:
        click.echo(json.dumps(result.as_dict()))
    if not all(r.valid for r in results):
        raise SystemExit(1)


@cli.group()
def warehouse():
    """The warehouse schema (Alembic migrations)."""


@warehouse.command("upgrade")
def warehouse_upgrade():
    """Apply every pending migration to the warehouse."""
    from resources.warehouse import warehouse_now

    before, after = warehouse_now().upgrade()
    click.echo(f"warehouse schema: {before or 'empty'} -> {after}")


@warehouse.command("revise")
@click.argument("message")
def warehouse_revise(message):
    """Write a new migration from what schema.py adds to an up-to-date warehouse (developers)."""
    from resources.warehouse import migrate, warehouse_now

    engine = warehouse_now().engine
    try:
        migrate.check(engine)
    except migrate.SchemaOutOfDate as exc:
        raise click.ClickException(f"{exc}, then revise") from None
    migrate.revise(engine, message)


@warehouse.command("status")
def warehouse_status():
    """Say whether the warehouse is at the schema this code needs (exit 1 if not)."""
    from resources.warehouse import migrate, warehouse_now

    engine = warehouse_now().engine
    current, head = migrate.current_revision(engine), migrate.head_revision()
    click.echo(
        f"warehouse {engine.url.render_as_string(hide_password=True)}: at {current or 'empty'}, code needs {head}"
    )
    if current != head:
        raise SystemExit(1)


cli.add_command(sync)
cli.add_command(dms_simulator)
cli.add_command(dev)
cli.add_command(neuroweaver)
cli.add_command(adf)
cli.add_command(serve_events)
cli.add_command(consume_events)
cli.add_command(leads)
cli.add_command(automations)
cli.add_command(metrics)

if __name__ == "__main__":
    cli()
