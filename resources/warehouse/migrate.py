"""Versioned schema changes (Alembic): one command applies them, start-up checks them."""

from __future__ import annotations

import contextlib

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from auterity_pipelines.settings import PACKAGE_DIR


class SchemaOutOfDate(RuntimeError):
    """The warehouse is not at the schema this code expects; the message says how to fix it."""


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(PACKAGE_DIR / "migrations"))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Apply migrations up to `revision`; returns (before, after)."""
    # The receiver, the bridge and `auterity dev` may all start at once and each upgrade the
    # embedded warehouse: one at a time, each deciding what to apply only once it holds the lock.
    with _one_upgrader(engine):
        before = current_revision(engine)
        config = _config()
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(7263001)"))
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    return before, current_revision(engine)


def _one_upgrader(engine: Engine):
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        from filelock import FileLock

        return FileLock(f"{database}.migrate.lock", timeout=300)
    return contextlib.nullcontext()


def revise(engine: Engine, message: str) -> None:
    """Write a new migration from the difference between the warehouse and schema.py (developers)."""
    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.revision(config, message=message, autogenerate=True)


def check(engine: Engine) -> None:
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise SchemaOutOfDate(
            f"the warehouse schema is at revision {current or 'none'}, this code needs {head}: "
            "run `auterity warehouse upgrade`"
        )
