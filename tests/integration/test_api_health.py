"""GET /api/v1/health: database and broker, 503 naming the one that is down."""

from __future__ import annotations

import pytest

from engine.settings import Settings
from web import create_app

pytestmark = pytest.mark.integration

# Nothing listens on port 1; connections are refused at once.
CLOSED_REDIS = "redis://127.0.0.1:1/0"
CLOSED_POSTGRES = (
    "postgresql+psycopg://postgres@127.0.0.1:1/pineforge?connect_timeout=2"
)


def settings_with(**overrides: str) -> Settings:
    return Settings(**overrides)


def test_health_is_ok_when_database_and_broker_answer(client):
    response = client.get("/api/v1/health")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_health_is_503_naming_a_broker_that_is_down(database):
    app = create_app(settings_with(REDIS_URL=CLOSED_REDIS))

    response = app.test_client().get("/api/v1/health")

    assert response.status_code == 503
    body = response.get_json()
    assert body["code"] == "DEPENDENCY_UNAVAILABLE"
    assert body["details"] == {"database": "ok", "broker": "down"}
    assert "127.0.0.1" not in response.get_data(as_text=True)


def test_health_is_503_naming_a_database_that_is_down(database):
    app = create_app(settings_with(DATABASE_URL=CLOSED_POSTGRES))

    response = app.test_client().get("/api/v1/health")

    assert response.status_code == 503
    assert response.get_json()["details"] == {"database": "down", "broker": "ok"}


def test_a_database_outage_is_a_503_not_a_500(database):
    app = create_app(settings_with(DATABASE_URL=CLOSED_POSTGRES))

    response = app.test_client().get(
        "/api/v1/jobs", headers={"Authorization": "Bearer pf_whatever"}
    )

    assert response.status_code == 503
    body = response.get_json()
    assert body["code"] == "DEPENDENCY_UNAVAILABLE"
    assert body["details"]["dependency"] == "database"
    assert "psycopg" not in response.get_data(as_text=True)
