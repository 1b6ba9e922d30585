"""Retry-After: only on a 429, the same number as the body's, each 429 its own."""

from __future__ import annotations

import pytest

from engine.accounts.admission import TooManyActiveJobs
from tests.accounts_helpers import bearer
from web.auth import issue_access_token

pytest_plugins = ["tests.accounts_web"]
pytestmark = pytest.mark.integration

GENERATE = "/api/v1/strategies/generate"
REFRESH = "/api/v1/auth/refresh"


@pytest.fixture
def auth_rate_limit() -> str:
    return "2/minute"


def _headers_for(db_session, make_user, plan: str) -> dict[str, str]:
    token, _row = issue_access_token(db_session, make_user(plan=plan), "t")
    db_session.commit()
    return bearer(token)


def _generate(web, headers):
    return web.post(GENERATE, json={"request": "EMA 9/21 cross"}, headers=headers)


def _assert_agreeing_429(response) -> int:
    assert response.status_code == 429
    body_value = response.get_json()["details"]["retry_after"]
    assert response.headers["Retry-After"] == str(body_value)
    return body_value


def test_responses_that_are_not_429_carry_no_retry_after(web, db_session, make_user):
    headers = _headers_for(db_session, make_user, "burst")

    accepted = _generate(web, headers)
    refused = web.post(REFRESH, json={"refresh_token": "x" * 30})

    assert accepted.status_code == 202
    assert refused.status_code == 401
    for response in (accepted, refused):
        assert "Retry-After" not in response.headers
    # The limiter's own counters still go out.
    assert "X-RateLimit-Remaining" in accepted.headers


def test_a_rate_limited_429_says_the_same_wait_in_header_and_body(
    web, db_session, make_user
):
    headers = _headers_for(db_session, make_user, "burst")
    for _ in range(3):
        assert _generate(web, headers).status_code == 202

    waited = _assert_agreeing_429(_generate(web, headers))

    assert 1 <= waited <= 60


def test_an_auth_429_says_the_same_wait_in_header_and_body(web):
    for _ in range(2):
        web.post(REFRESH, json={"refresh_token": "x" * 30})

    waited = _assert_agreeing_429(web.post(REFRESH, json={"refresh_token": "x" * 30}))

    assert 1 <= waited <= 60


def test_too_many_active_jobs_uses_its_own_retry_after(web, db_session, make_user):
    headers = _headers_for(db_session, make_user, "narrow")
    for _ in range(3):
        assert _generate(web, headers).status_code == 202

    response = _generate(web, headers)

    assert response.get_json()["code"] == "TOO_MANY_ACTIVE_JOBS"
    assert _assert_agreeing_429(response) == TooManyActiveJobs.retry_after
