"""Refresh rotation, reuse detection, races, CSRF and logout over HTTP."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from engine.db.accounts_models import AuditEvent
from tests.accounts_helpers import api_sign_in, bearer, browser_login

pytest_plugins = ["tests.accounts_web"]
pytestmark = pytest.mark.integration

REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
PROFILE = "/api/v1/users/profile"


def _refresh(web, token: str):
    return web.post(REFRESH, json={"refresh_token": token})


def test_refresh_rotates_both_tokens(web, oidc_provider):
    first = api_sign_in(web, oidc_provider, "sub-rotate")
    response = _refresh(web, first["refresh_token"])

    assert response.status_code == 200
    second = response.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert web.get(PROFILE, headers=bearer(second["access_token"])).status_code == 200


def test_reused_refresh_token_revokes_family(web, oidc_provider, db_session):
    first = api_sign_in(web, oidc_provider, "sub-reuse")
    second = _refresh(web, first["refresh_token"]).get_json()

    replay = _refresh(web, first["refresh_token"])

    assert replay.status_code == 401
    assert replay.get_json()["code"] == "REFRESH_TOKEN_REUSED"
    assert _refresh(web, second["refresh_token"]).status_code == 401
    for access in (first["access_token"], second["access_token"]):
        denied = web.get(PROFILE, headers=bearer(access))
        assert denied.get_json()["code"] == "TOKEN_REVOKED"
    actions = db_session.scalars(select(AuditEvent.action)).all()
    assert "refresh_reuse" in actions


def test_two_racing_refreshes_with_one_token_cannot_both_win(
    accounts_app, web, oidc_provider
):
    token = api_sign_in(web, oidc_provider, "sub-race")["refresh_token"]
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def refresh() -> None:
        client = accounts_app.test_client()
        barrier.wait(timeout=10)
        statuses.append(_refresh(client, token).status_code)

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(statuses) == [200, 401]


def test_browser_refresh_needs_the_csrf_header(web):
    body = browser_login(web).get_json()
    csrf = web.get_cookie("pf_csrf", path="/").value
    assert body["csrf_token"] == csrf

    assert web.post(REFRESH).get_json()["code"] == "CSRF_FAILED"
    wrong = web.post(REFRESH, headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    ok = web.post(REFRESH, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json()["refresh_token"] is None
    assert web.get_cookie("pf_refresh", path="/api/v1/auth") is not None


def test_refresh_tokens_only_work_through_their_own_channel(
    web, accounts_app, oidc_provider
):
    api_token = api_sign_in(web, oidc_provider, "sub-channel")["refresh_token"]
    browser_login(web)
    browser_token = web.get_cookie("pf_refresh", path="/api/v1/auth").value

    assert _refresh(web, browser_token).status_code == 401
    other = accounts_app.test_client()
    other.set_cookie("pf_refresh", api_token, path="/api/v1/auth")
    other.set_cookie("pf_csrf", "x")
    assert other.post(REFRESH, headers={"X-CSRF-Token": "x"}).status_code in (401, 403)


def test_logout_blocks_the_access_token_and_revokes_the_family(
    web, oidc_provider, redis_client
):
    tokens = api_sign_in(web, oidc_provider, "sub-logout")

    response = web.post(
        LOGOUT,
        json={"refresh_token": tokens["refresh_token"]},
        headers=bearer(tokens["access_token"]),
    )

    assert response.status_code == 200
    assert response.get_json()["revoked_families"] == 1
    denied = web.get(PROFILE, headers=bearer(tokens["access_token"]))
    assert denied.get_json()["code"] == "TOKEN_REVOKED"
    assert _refresh(web, tokens["refresh_token"]).status_code == 401
    ttls = [redis_client.ttl(key) for key in redis_client.scan_iter("*pf:revoked:*")]
    assert ttls and all(0 < ttl <= 15 * 60 + 1 for ttl in ttls)


def test_browser_logout_clears_the_cookie(web):
    access = browser_login(web).get_json()["access_token"]
    csrf = web.get_cookie("pf_csrf", path="/").value

    response = web.post(LOGOUT, headers={**bearer(access), "X-CSRF-Token": csrf})

    assert response.status_code == 200
    assert web.get_cookie("pf_refresh", path="/api/v1/auth") is None
    assert web.post(REFRESH, headers={"X-CSRF-Token": csrf}).status_code == 401


def test_logout_without_any_token_is_401(web):
    assert web.post(LOGOUT).status_code == 401


def test_refresh_with_malformed_body_is_a_coded_4xx(web):
    response = web.post(REFRESH, json={"refresh_token": 5})
    assert response.status_code == 422
    garbage = web.post(REFRESH, json={"refresh_token": "x" * 40})
    assert garbage.get_json()["code"] == "INVALID_TOKEN"
