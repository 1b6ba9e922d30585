"""Rate limits: per IP on auth routes, per user and plan on generation."""

from __future__ import annotations

import pytest

from tests.accounts_helpers import bearer
from web.auth import issue_access_token

pytest_plugins = ["tests.accounts_web"]
pytestmark = pytest.mark.integration

GENERATE = "/api/v1/strategies/generate"


@pytest.fixture
def auth_rate_limit() -> str:
    return "3/minute"


def _assert_standard_429(response) -> None:
    assert response.status_code == 429
    body = response.get_json()
    assert body["status"] == "error"
    assert body["code"] in ("RATE_LIMITED", "TOO_MANY_ACTIVE_JOBS")
    assert set(body) == {"status", "code", "message", "details"}
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def _token_for(db_session, make_user, plan: str) -> dict[str, str]:
    token, _row = issue_access_token(db_session, make_user(plan=plan), "t")
    db_session.commit()
    return bearer(token)


def test_auth_burst_from_one_ip_gets_429_with_retry_after(web):
    statuses = [
        web.post("/api/v1/auth/refresh", json={"refresh_token": "x" * 30}).status_code
        for _ in range(3)
    ]
    assert statuses == [401, 401, 401]

    burst = web.post("/api/v1/auth/google", json={"id_token": "y" * 30})

    _assert_standard_429(burst)


def test_auth_budget_is_per_ip(web):
    for _ in range(3):
        web.post("/api/v1/auth/logout")
    other_ip = {"REMOTE_ADDR": "127.0.0.2"}
    response = web.post("/api/v1/auth/logout", environ_overrides=other_ip)
    assert response.status_code == 401


def test_generation_is_limited_per_user_at_the_plans_rate(web, db_session, make_user):
    limited = _token_for(db_session, make_user, "burst")
    other = _token_for(db_session, make_user, "burst")
    for _ in range(3):
        assert (
            web.post(GENERATE, json={"request": "EMA"}, headers=limited).status_code
            == 202
        )

    _assert_standard_429(web.post(GENERATE, json={"request": "EMA"}, headers=limited))
    assert web.post(GENERATE, json={"request": "EMA"}, headers=other).status_code == 202


def test_too_many_waiting_jobs_is_a_429_with_retry_after(web, db_session, make_user):
    headers = _token_for(db_session, make_user, "narrow")
    for _ in range(3):
        assert (
            web.post(GENERATE, json={"request": "EMA"}, headers=headers).status_code
            == 202
        )

    response = web.post(GENERATE, json={"request": "EMA"}, headers=headers)

    _assert_standard_429(response)
    assert response.get_json()["code"] == "TOO_MANY_ACTIVE_JOBS"


def test_unauthenticated_generation_is_401_not_a_limiter_error(web):
    response = web.post(GENERATE, json={"request": "EMA"})
    assert response.status_code == 401
    assert response.get_json()["code"] == "UNAUTHORIZED"
