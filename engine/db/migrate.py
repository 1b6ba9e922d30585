"""Run Alembic migrations from code (the CLI, the web app and tests use this)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from engine.db.session import make_engine
from engine.settings import REPO_ROOT, get_settings

MIGRATIONS_DIR = REPO_ROOT / "migrations"

#: Arbitrary constant naming the PostgreSQL advisory lock held while migrating.
_MIGRATION_LOCK_ID = 0x50494E45


def alembic_config(url: str | None = None) -> Config:
    """Return an Alembic config for ``migrations/``, independent of the cwd."""
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = url or get_settings().database_url
    return config


def upgrade_database(url: str | None = None, revision: str = "head") -> None:
    """Bring the database at ``url`` (default: settings) up to ``revision``.

    On PostgreSQL an advisory lock serialises processes that start together,
    so the web app and a worker never run the same migration twice.
    """
    config = alembic_config(url)
    engine = make_engine(config.attributes["database_url"])
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:id)"),
                    {"id": _MIGRATION_LOCK_ID},
                )
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()
