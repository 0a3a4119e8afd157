"""Where a server binds: 127.0.0.1 unless told otherwise, and a warning when told otherwise."""

from __future__ import annotations

import click

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def host_option(what: str):
    return click.option(
        "--host",
        default="127.0.0.1",
        show_default=True,
        help=f"The address to bind. Anything but loopback lets others reach the {what} (see the README's *Binding*).",
    )


def warn_if_exposed(host: str, what: str, exposure: str) -> None:
    """Say so on stderr when `host` is not loopback: `exposure` is what others can then do."""
    if host not in LOOPBACK:
        click.echo(f"warning: the {what} is bound to {host}, not loopback: {exposure}", err=True)
