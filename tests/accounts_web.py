"""Web fixtures of the accounts tests: the fake Google and an app wired to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.accounts.config import reset_accounts_settings
from tests.accounts_helpers import ALLOWED_ORIGIN
from tests.fakes.oidc_server import FakeOIDCServer
from web import create_app

pytest_plugins = ["tests.accounts_fixtures"]

CLIENT_ID = "pineforge-test.apps.example"


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[FakeOIDCServer]:
    with FakeOIDCServer(client_id=CLIENT_ID) as provider:
        yield provider


@pytest.fixture
def auth_rate_limit() -> str:
    """Override in a module to test the per-IP auth budget."""
    return "1000/minute"


@pytest.fixture
def accounts_app(
    monkeypatch: pytest.MonkeyPatch,
    oidc_provider: FakeOIDCServer,
    accounts_settings: None,
    database: str,
    db_session: Any,
    redis_client: Any,
    auth_rate_limit: str,
) -> Iterator[Flask]:
    """The real app with Google sign-in pointed at the fake provider."""
    monkeypatch.setenv("PINEFORGE_GOOGLE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("PINEFORGE_GOOGLE_CLIENT_SECRET", oidc_provider.client_secret)
    monkeypatch.setenv("PINEFORGE_GOOGLE_DISCOVERY_URL", oidc_provider.discovery_url)
    monkeypatch.setenv("PINEFORGE_AUTH_RATE_LIMIT", auth_rate_limit)
    monkeypatch.setenv("PINEFORGE_CORS_ORIGINS", ALLOWED_ORIGIN)
    reset_accounts_settings()
    oidc_provider.sign_in_as("google-sub-ada", "ada@example.com")
    app = create_app()
    app.testing = True
    yield app
    reset_accounts_settings()


@pytest.fixture
def web(accounts_app: Flask) -> FlaskClient:
    return accounts_app.test_client()
