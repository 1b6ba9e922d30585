"""Helpers of the accounts web tests: sign in the way real clients do."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from flask.testing import FlaskClient

from tests.fakes.oidc_server import FakeOIDCServer

#: The one browser origin the test app allows.
ALLOWED_ORIGIN = "https://app.example"


def api_sign_in(
    web: FlaskClient, provider: FakeOIDCServer, sub: str, email: str | None = None
) -> dict[str, Any]:
    """``POST /auth/google`` as an API client; returns the token body."""
    provider.sign_in_as(sub, email or f"{sub}@example.com")
    response = web.post("/api/v1/auth/google", json={"id_token": provider.id_token()})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def browser_login(web: FlaskClient) -> Any:
    """The whole redirect dance through authlib and the fake provider."""
    start = web.get("/api/v1/auth/login")
    assert start.status_code == 302, start.get_json()
    at_provider = requests.get(start.headers["Location"], allow_redirects=False)
    assert at_provider.status_code == 302
    back = urlsplit(at_provider.headers["Location"])
    return web.get(f"{back.path}?{back.query}")


def authorize_query(web: FlaskClient) -> dict[str, str]:
    """The query the app sends the browser to the provider with."""
    start = web.get("/api/v1/auth/login")
    return {
        k: v[0] for k, v in parse_qs(urlsplit(start.headers["Location"]).query).items()
    }
