"""CORS allowlist, security headers and body limits on the accounts routes."""

from __future__ import annotations

import pytest

from tests.accounts_helpers import ALLOWED_ORIGIN

pytest_plugins = ["tests.accounts_web"]
pytestmark = pytest.mark.integration


def test_allowed_origin_gets_cors_headers_with_credentials(web):
    response = web.get("/api/v1/health", headers={"Origin": ALLOWED_ORIGIN})

    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Retry-After" in response.headers["Access-Control-Expose-Headers"]
    assert "Origin" in response.headers["Vary"]


def test_other_origins_get_no_cors_headers(web):
    response = web.get("/api/v1/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_preflight_names_the_csrf_header(web):
    response = web.options(
        "/api/v1/auth/refresh",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "X-CSRF-Token",
        },
    )
    assert response.status_code == 200
    assert "X-CSRF-Token" in response.headers["Access-Control-Allow-Headers"]
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_every_response_carries_security_headers(web):
    for path in ("/api/v1/health", "/api/v1/users/profile", "/api/v1/nowhere"):
        headers = web.get(path).headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_account_responses_are_not_cached(web):
    response = web.post("/api/v1/auth/refresh")
    assert response.headers["Cache-Control"] == "no-store"


def test_oversized_sign_in_body_is_refused_before_parsing(web):
    response = web.post("/api/v1/auth/google", json={"id_token": "x" * (70 * 1024)})
    assert response.status_code == 413
    assert response.get_json()["code"] == "PAYLOAD_TOO_LARGE"


def test_openapi_documents_the_accounts_routes(web):
    paths = web.get("/api/v1/openapi.json").get_json()["paths"]

    assert {
        "/api/v1/auth/google",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
    } <= set(paths)
    assert "/api/v1/users/api-keys/{key_id}" in paths
    assert "429" in paths["/api/v1/auth/refresh"]["post"]["responses"]
    create_key = paths["/api/v1/users/api-keys"]["post"]
    assert create_key["security"] == [{"bearerAuth": []}]
