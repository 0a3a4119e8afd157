"""`auterity adf parse`: what the platform reads from an ADF lead document."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from auterity_pipelines.records import ENTITY_COLUMNS

CONTRACT = ("dealership_id", "lead_id", *ENTITY_COLUMNS["leads"])  # the `leads` contract columns


@click.group()
def adf():
    """ADF (Auto-lead Data Format) lead documents."""


@adf.command("parse")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dealership", "dealership_id", default=None, help="The rooftop the document was sent to.")
def parse(file: Path, dealership_id: str | None):
    """Print the document's leads as a JSON list keyed by the `leads` contract columns.

    Exits 1, naming each prospect and why, when any prospect cannot be read; 2 when the
    document itself cannot be.
    """
    from zoneinfo import ZoneInfo

    from auterity_pipelines.adf import AdfError, parse_adf
    from auterity_pipelines.conform import RecordError, lead

    try:
        result = parse_adf(file.read_bytes())
    except OSError as exc:
        raise click.ClickException(f"{file}: {exc.strerror}") from exc
    except AdfError as exc:
        click.echo(f"{file}: {exc}", err=True)
        raise SystemExit(2) from exc
    rows, rejected = [], list(result.rejected)
    for number, record in enumerate(result.leads, start=1):
        try:
            row = lead(dealership_id or "", record, ZoneInfo("UTC"))
        except RecordError as exc:
            rejected.append((number, str(exc)))
            continue
        row["dealership_id"] = dealership_id
        rows.append({k: row[k].isoformat() if isinstance(row[k], dt.datetime) else row[k] for k in CONTRACT})
    click.echo(json.dumps(rows, indent=2))
    for number, reason in rejected:
        click.echo(f"{file}: prospect {number}: {reason}", err=True)
    if rejected:
        raise SystemExit(1)
