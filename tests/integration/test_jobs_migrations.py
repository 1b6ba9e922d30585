"""Migrations build exactly the schema the models describe, on both databases."""

import secrets

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from engine.db import Base, make_engine, upgrade_database
from tests.conftest import BASE_DATABASE_URL, IS_POSTGRES, url_with_schema

pytestmark = pytest.mark.integration


def _schema_differences(url):
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True}
            )
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def _table_names(url):
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.fixture
def empty_postgres_schema():
    if not IS_POSTGRES:
        pytest.skip("PINEFORGE_TEST_DATABASE_URL is not PostgreSQL")
    schema = f"migrate_{secrets.token_hex(4)}"
    admin = make_engine(BASE_DATABASE_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield url_with_schema(BASE_DATABASE_URL, schema)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_upgrade_on_empty_postgres_matches_the_models(empty_postgres_schema):
    upgrade_database(empty_postgres_schema)

    assert _schema_differences(empty_postgres_schema) == []
    assert set(Base.metadata.tables) <= _table_names(empty_postgres_schema)


def test_upgrade_on_new_sqlite_file_matches_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh' / 'pineforge.db'}"

    upgrade_database(url)

    assert _schema_differences(url) == []
    assert set(Base.metadata.tables) <= _table_names(url)


def test_upgrade_twice_is_a_no_op(tmp_path):
    url = f"sqlite:///{tmp_path / 'pineforge.db'}"

    upgrade_database(url)
    upgrade_database(url)

    assert _schema_differences(url) == []


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    with engine.connect() as connection:
        foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
        journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
    engine.dispose()

    assert (foreign_keys, journal) == (1, "wal")
