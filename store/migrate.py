"""Schema migrations with Alembic, and the start-up check that the schema is current."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from store.db import is_sqlite

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class SchemaOutdated(RuntimeError):
    """The database is not at the revision this code needs."""


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _set_up_fresh_sqlite(engine: Engine) -> None:
    """Under the write lock from the start: a web server and its worker starting at once on a new file both got
    here, and one failed with "database is locked" (a deferred transaction cannot wait to upgrade its lock).
    Now the second waits, then finds the schema there."""
    config = _alembic_config()
    with engine.execution_options(sqlite_immediate=True).begin() as connection:
        if MigrationContext.configure(connection).get_current_revision() is None:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")


def ensure_schema(engine: Engine, *, create_fresh_sqlite: bool = True) -> None:
    """Refuse to run on an outdated schema; set up a brand-new SQLite file by itself."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    if current is None and create_fresh_sqlite and is_sqlite(engine) and not inspect(engine).get_table_names():
        _set_up_fresh_sqlite(engine)
        return
    where = engine.url.render_as_string(hide_password=True)
    if current is None:
        raise SchemaOutdated(f"The database {where} has no Leadbot schema. Run `leadbot migrate` first.")
    raise SchemaOutdated(
        f"The database {where} is at schema revision {current}, this Leadbot needs {head}. "
        "Run `leadbot migrate` to upgrade it."
    )
