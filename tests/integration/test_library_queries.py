"""List endpoints run a fixed number of SQL statements, however many rows they show.

Rows are written straight through the engine (rendering once), then each list
is read with few and with many rows; the statement counts must be equal.
"""

from __future__ import annotations

import pytest

from engine.db import Job, JobStatus
from engine.library.strategies import (
    append_version,
    create_strategy,
    manual_version,
)
from tests.library_helpers import EMA_SPEC, counted_statements, spec

pytestmark = pytest.mark.integration

FEW, MANY = 2, 12


@pytest.fixture
def rendered():
    """Two rendered versions, made once and stored as often as needed."""
    return manual_version(spec()), manual_version(spec(EMA_SPEC))


def _statements(client, auth, url):
    client.get(url, headers=auth)  # warm: token bookkeeping, lazy imports
    with counted_statements() as statements:
        response = client.get(url, headers=auth)
    assert response.status_code == 200, response.get_json()
    return len(statements), response.get_json()


def _add_strategies(db_session, user, rendered, count):
    made = []
    for n in range(count):
        strategy, _ = create_strategy(
            db_session, user.id, rendered[n % 2], name=f"Strategy {n}"
        )
        made.append(strategy)
    db_session.commit()
    return made


@pytest.mark.parametrize(
    "query", ["", "?indicator=ema", "?q=strategy&sort=name", "?size=50&sort=-created"]
)
def test_strategy_list_statements_do_not_grow_with_rows(
    client, auth, user, db_session, rendered, query
):
    _add_strategies(db_session, user, rendered, FEW)
    few, body = _statements(client, auth, f"/api/v1/strategies{query}")
    assert body["items"]

    _add_strategies(db_session, user, rendered, MANY - FEW)
    many, body = _statements(client, auth, f"/api/v1/strategies{query}")

    assert len(body["items"]) > FEW
    assert all(item["indicators"] for item in body["items"])
    assert many == few


def test_cursor_pages_use_no_count(client, auth, user, db_session, rendered):
    _add_strategies(db_session, user, rendered, MANY)
    first = client.get("/api/v1/strategies?size=3", headers=auth).get_json()

    numbered, _ = _statements(client, auth, "/api/v1/strategies?size=3")
    cursor, body = _statements(client, auth, first["next"])

    assert len(body["items"]) == 3
    assert cursor == numbered - 1


def test_version_list_statements_do_not_grow_with_versions(
    client, auth, user, db_session, rendered
):
    (strategy,) = _add_strategies(db_session, user, rendered, 1)
    url = f"/api/v1/strategies/{strategy.id}/versions?size=50"
    few, _ = _statements(client, auth, url)

    for n in range(MANY):
        append_version(db_session, strategy, rendered[n % 2])
    db_session.commit()
    many, body = _statements(client, auth, url)

    assert body["total"] == MANY + 1
    assert many == few


def test_job_list_statements_do_not_grow_with_finished_jobs(
    client, auth, user, db_session, rendered
):
    def add_jobs(count):
        for strategy in _add_strategies(db_session, user, rendered, count):
            db_session.add(
                Job(
                    user_id=user.id,
                    request="RSI",
                    status=JobStatus.SUCCEEDED,
                    strategy_id=strategy.id,
                    version_id=strategy.versions[0].id,
                )
            )
        db_session.commit()

    add_jobs(FEW)
    few, _ = _statements(client, auth, "/api/v1/jobs?limit=50")
    add_jobs(MANY - FEW)
    many, body = _statements(client, auth, "/api/v1/jobs?limit=50")

    assert len(body["items"]) == MANY
    assert all(item["result"]["version"] == 1 for item in body["items"])
    assert many == few
