"""`auterity automations …`: the template library, the file's problems, a day's preview, what happened."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click


@click.group()
def automations():
    """AutoMatrix: dealership automations from the template library."""


@automations.command("templates")
def templates():
    """One JSON object per template: name, description, trigger, parameters."""
    from auterity_pipelines.automations.library import TEMPLATES

    for t in TEMPLATES.values():
        click.echo(
            json.dumps(
                {
                    "name": t.name,
                    "description": t.description,
                    "trigger": t.trigger_text,
                    "audience": t.audience,
                    "reads": ["/".join(k) for k in t.reads],
                    "variables": sorted(t.variables),
                    "parameters": t.parameters(),
                }
            )
        )


@automations.command("schema")
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write it here instead of stdout."
)
def schema(output: Path | None):
    """The JSON Schema of the automations file (the bundled copy is automations/automations.schema.json)."""
    from auterity_pipelines.automations.config import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if output:
        output.write_text(text)
    else:
        click.echo(text, nl=False)


def _load(file: Path | None):
    from auterity_pipelines.automations.config import load_automations
    from auterity_pipelines.fleet import FleetError, load_fleet
    from auterity_pipelines.settings import fleet_path

    try:
        fleet = load_fleet(fleet_path())
    except FleetError as exc:
        raise click.ClickException(
            f"the fleet file cannot be read, so dealerships cannot be checked: {exc}"
        ) from None
    return load_automations(file, fleet=fleet), fleet


@automations.command("validate")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
def validate(file: Path | None):
    """Exit 0 when the automations file is valid; else one line per problem, and exit 1."""
    found, _ = _load(file)
    for problem in found.problems:
        click.echo(str(problem))
    if found.problems:
        click.echo(f"{found.path}: {len(found.problems)} problem(s)", err=True)
        raise SystemExit(1)
    click.echo(f"{found.path}: {len(found.automations)} automation(s), valid", err=True)


@automations.command("preview")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dealership", "dealership_id", required=True)
@click.option(
    "--date", "day", required=True, type=click.DateTime(["%Y-%m-%d"]), help="The rooftop-local day."
)
def preview(file: Path | None, dealership_id: str, day: dt.datetime):
    """One JSON object per action the automations would take that day, sending nothing."""
    import os

    from assets.automations import UI_URL_ENV
    from auterity_pipelines.automations.library import Scope
    from auterity_pipelines.automations.render import RenderError
    from auterity_pipelines.automations.runner import Context, run_automation
    from auterity_pipelines.cli.instance import ready_warehouse
    from auterity_pipelines.fleet import FleetError
    from auterity_pipelines.partitions import partition_key
    from resources.channels import channels_resource
    from resources.channels.outbox import Outbox

    found, fleet = _load(file)
    try:
        dealership = fleet.get(dealership_id)
    except FleetError as exc:
        raise click.BadParameter(str(exc), param_hint="--dealership") from None
    for problem in found.problems:
        click.echo(f"left out: {problem}", err=True)
    warehouse = ready_warehouse()
    outbox = Outbox(channels_resource(), fleet)
    for automation in found.automations:
        if not automation.covers(dealership_id):
            continue
        scope = Scope(
            dealership_id=dealership_id,
            dealership_name=dealership.name,
            timezone=dealership.timezone,
            day=day.date(),
            now=dt.datetime.now(dt.UTC),
            engine=warehouse.engine,
            partition_key=str(partition_key(dealership_id, day.date())),
            link_base=os.environ.get(UI_URL_ENV, "http://127.0.0.1:3000"),
        )
        ctx = Context(
            automation, scope, warehouse.engine, outbox, found.rate_limits[automation.channel], "preview"
        )
        try:
            report = run_automation(ctx, preview=True)
        except (LookupError, RenderError) as exc:
            click.echo(f"{automation.name}: cannot preview: {exc}", err=True)
            continue
        for action in report.actions:
            click.echo(json.dumps(action))


@automations.command("deliveries")
@click.option("--dealership", "dealership_id", default=None)
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Decided or changed on this UTC day.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per decision instead of a table.")
def deliveries(dealership_id: str | None, day: dt.datetime | None, limit: int, as_json: bool):
    """What automations sent, deferred, suppressed or failed, and why (newest first)."""
    from auterity_pipelines.cli.instance import ready_warehouse
    from resources.channels.ledger import history

    rows = history(ready_warehouse().engine, dealership_id, day.date() if day else None, limit)
    fields = (
        "updated_at",
        "automation",
        "dealership_id",
        "subject",
        "channel",
        "recipient",
        "decision",
        "reason",
        "attempts",
        "provider_message_id",
        "send_after",
    )
    if as_json:
        for row in rows:
            click.echo(json.dumps({k: row[k] for k in fields}, default=str))
        return
    if not rows:
        click.echo("no automation has decided anything yet", err=True)
        return
    click.echo(
        f"{'updated (UTC)':<20}{'automation':<28}{'rooftop':<16}{'subject':<26}{'channel':<8}{'to':<22}decision"
    )
    for r in rows:
        when = r["updated_at"].strftime("%Y-%m-%d %H:%M:%S")
        why = f": {r['reason']}" if r["reason"] else ""
        click.echo(
            f"{when:<20}{r['automation'][:27]:<28}{r['dealership_id'][:15]:<16}{r['subject'][:25]:<26}"
            f"{r['channel']:<8}{(r['recipient'] or '-')[:21]:<22}{r['decision']}{why}"
        )
