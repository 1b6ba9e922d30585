"""``/users/profile``, ``/users/credits`` and ``/users/audit`` over HTTP."""

from __future__ import annotations

import uuid

import pytest

from engine.accounts.credits import capture_credits, grant_credits
from tests.accounts_helpers import api_sign_in, bearer
from web.auth import issue_access_token

pytest_plugins = ["tests.accounts_web"]
pytestmark = pytest.mark.integration

PROFILE = "/api/v1/users/profile"
CREDITS = "/api/v1/users/credits"
AUDIT = "/api/v1/users/audit"
GENERATE = "/api/v1/strategies/generate"


@pytest.fixture
def ada(web, oidc_provider):
    return bearer(api_sign_in(web, oidc_provider, "sub-ada")["access_token"])


def test_profile_patch_changes_only_what_is_sent(web, ada):
    response = web.patch(
        PROFILE,
        json={
            "handle": "ada_l",
            "bio": "Counts things.",
            "avatar_url": "https://img.example/ada.png",
        },
        headers=ada,
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["handle"], body["bio"]) == ("ada_l", "Counts things.")
    assert body["display_name"] == "Ada Lovelace"
    assert web.get(PROFILE, headers=ada).get_json() == body


@pytest.mark.parametrize(
    "patch",
    [
        {"handle": "Bad Handle"},
        {"avatar_url": "http://img.example/a.png"},
        {"avatar_url": "javascript:alert(1)"},
        {"bio": "x" * 501},
        {"plan": "admin"},
        {"role": "admin"},
        {},
    ],
)
def test_invalid_profile_changes_are_refused(web, ada, patch):
    response = web.patch(PROFILE, json=patch, headers=ada)
    assert response.status_code == 422
    assert response.get_json()["code"] == "VALIDATION_ERROR"


def test_taken_handle_is_a_409(web, oidc_provider, ada):
    assert web.patch(PROFILE, json={"handle": "taken"}, headers=ada).status_code == 200
    bob = bearer(api_sign_in(web, oidc_provider, "sub-bob")["access_token"])

    response = web.patch(PROFILE, json={"handle": "taken"}, headers=bob)

    assert response.status_code == 409
    assert response.get_json()["code"] == "HANDLE_TAKEN"


def test_credits_show_balance_and_a_paginated_ledger(web, ada, db_session):
    for _ in range(2):  # the free plan runs two jobs at once
        job = web.post(GENERATE, json={"request": "EMA 9/21 cross"}, headers=ada)
        assert job.status_code == 202

    first = web.get(f"{CREDITS}?limit=2", headers=ada).get_json()
    second = web.get(first["next"], headers=ada).get_json()

    assert first["balance"] == 100 - 2
    assert (first["plan"], first["monthly_credits"]) == ("free", 100)
    kinds = [item["kind"] for item in first["items"] + second["items"]]
    assert sorted(kinds) == ["grant", "reserve", "reserve"]
    assert second["next"] is None


def test_submission_without_credits_is_refused_and_leaves_no_job(
    web, db_session, make_user
):
    user = make_user(plan="tiny")
    token, _row = issue_access_token(db_session, user, "t")
    db_session.commit()
    headers = bearer(token)
    for _ in range(5):
        job = web.post(GENERATE, json={"request": "RSI below 30"}, headers=headers)
        assert job.status_code == 202
        capture_credits(db_session, uuid.UUID(job.get_json()["job_id"]))
        db_session.commit()

    refused = web.post(GENERATE, json={"request": "RSI below 30"}, headers=headers)

    assert refused.status_code == 409
    assert refused.get_json()["code"] == "INSUFFICIENT_CREDITS"
    jobs = web.get("/api/v1/jobs", headers=headers).get_json()["items"]
    assert len(jobs) == 5
    grant_credits(db_session, user.id, 1)
    db_session.commit()
    again = web.post(GENERATE, json={"request": "RSI below 30"}, headers=headers)
    assert again.status_code == 202


def test_audit_lists_only_your_own_events(web, oidc_provider, ada):
    bob = bearer(api_sign_in(web, oidc_provider, "sub-bob2")["access_token"])
    web.patch(PROFILE, json={"bio": "hi"}, headers=bob)

    mine = web.get(AUDIT, headers=ada).get_json()["items"]
    theirs = web.get(AUDIT, headers=bob).get_json()["items"]

    assert [event["action"] for event in mine] == ["login"]
    assert [event["action"] for event in theirs] == ["profile_updated", "login"]
    assert theirs[0]["details"] == {"fields": ["bio"]}
    assert mine[0]["ip"] == "127.0.0.1"
