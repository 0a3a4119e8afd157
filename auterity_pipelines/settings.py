"""Where the platform keeps things: one environment variable per store, embedded defaults."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DEMO_FLEET = PACKAGE_DIR / "demo_fleet.yaml"


def auterity_home() -> Path:
    """The folder of the embedded stores (`AUTERITY_HOME`, default `.auterity/`)."""
    return Path(os.environ.get("AUTERITY_HOME", ".auterity")).resolve()


def fleet_path() -> Path:
    """The fleet file (`AUTERITY_FLEET`, default the bundled demo fleet)."""
    return Path(os.environ.get("AUTERITY_FLEET", str(DEMO_FLEET))).resolve()


def embedded_warehouse_url() -> str:
    return f"sqlite:///{auterity_home() / 'warehouse.db'}"


def warehouse_url() -> str:
    """`AUTERITY_WAREHOUSE_URL` when set (PostgreSQL in production), else the SQLite file."""
    return os.environ.get("AUTERITY_WAREHOUSE_URL") or embedded_warehouse_url()


def dagster_home() -> Path:
    """`DAGSTER_HOME`, defaulting to a folder under `AUTERITY_HOME`."""
    return Path(os.environ.get("DAGSTER_HOME") or auterity_home() / "dagster").resolve()


def project_file(name: str) -> Path | None:
    """A file at the project root (dagster.yaml, workspace.yaml), from the checkout or the cwd."""
    for root in (Path.cwd(), PACKAGE_DIR.parent):
        if (root / name).is_file():
            return root / name
    return None


def demo_fleet_in_use() -> bool:
    return fleet_path() == DEMO_FLEET.resolve()


def named_secret(name: str) -> str | None:
    """The secret in environment variable `name`.

    The simulator's public demo values stand in for unset AUTERITY_DEMO_* variables only while
    the fleet is the bundled demo fleet: a copy of it in production must set every secret, or a
    value printed in the source would sign its webhooks.
    """
    from auterity_pipelines.simulator.credentials import DEMO_CREDENTIALS

    value = os.environ.get(name)
    if value:
        return value
    return DEMO_CREDENTIALS.get(name) if demo_fleet_in_use() else None


def unset_secrets(names: list[str | None]) -> list[str]:
    """The named variables that hold no secret (what a service names at start-up)."""
    return sorted({n for n in names if n and not named_secret(n)})
