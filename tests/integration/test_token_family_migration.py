"""0005_token_family: personal access tokens gain a family column, and lose it
again on the way down, with the rows kept."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text

from engine.db import alembic_config, make_engine, upgrade_database

pytestmark = pytest.mark.integration


def _columns(engine) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns("access_tokens")}


def _downgrade(url: str, revision: str) -> None:
    config = alembic_config(url)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
    finally:
        engine.dispose()


def test_token_family_migrates_up_and_down_keeping_tokens(tmp_path):
    url = f"sqlite:///{tmp_path / 'family.db'}"
    upgrade_database(url, "0004_community")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, email, plan, role, created_at) VALUES "
                "('00000000000000000000000000000001', 'a@example.com', 'free', "
                "'user', CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO access_tokens (id, user_id, name, token_hash, prefix, "
                "created_at) VALUES ('00000000000000000000000000000002', "
                "'00000000000000000000000000000001', 'cli', :digest, 'pf_abcde', "
                "CURRENT_TIMESTAMP)"
            ),
            {"digest": "0" * 64},
        )

    upgrade_database(url)
    assert "family_id" in _columns(engine)
    with engine.connect() as connection:
        family = connection.scalar(text("SELECT family_id FROM access_tokens"))
    assert family is None

    _downgrade(url, "0004_community")
    assert "family_id" not in _columns(engine)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM access_tokens")) == 1
    engine.dispose()
