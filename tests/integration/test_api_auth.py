"""Personal access tokens: Bearer pf_..., looked up by digest, revocable."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.db import AccessToken, utcnow
from web.auth import hash_token, issue_access_token

pytestmark = pytest.mark.integration

JOBS = "/api/v1/jobs"


def test_a_valid_token_is_accepted_and_marked_used(client, db_session, user):
    token, row = issue_access_token(db_session, user, "laptop")
    db_session.commit()
    assert row.last_used_at is None

    response = client.get(JOBS, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    db_session.refresh(row)
    assert row.last_used_at is not None


def test_only_the_digest_of_a_token_is_stored(db_session, user):
    token, _row = issue_access_token(db_session, user)
    db_session.commit()

    stored = db_session.scalar(select(AccessToken))
    assert token.startswith("pf_")
    assert stored.token_hash == hash_token(token) != token
    assert stored.prefix == token[:8]
    assert token not in (stored.token_hash, stored.prefix, stored.name)


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "UNAUTHORIZED"),
        ("", "UNAUTHORIZED"),
        ("Bearer", "INVALID_TOKEN"),
        ("Bearer ", "INVALID_TOKEN"),
        ("Basic dXNlcjpwYXNz", "INVALID_TOKEN"),
        ("Bearer pf_not-a-real-token", "INVALID_TOKEN"),
        ("Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", "INVALID_TOKEN"),
    ],
)
def test_missing_or_bad_credentials_are_a_coded_401(client, header, code):
    headers = {} if header is None else {"Authorization": header}

    response = client.get(JOBS, headers=headers)

    assert response.status_code == 401
    body = response.get_json()
    assert body["status"] == "error"
    assert body["code"] == code
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_is_refused(client, db_session, user):
    token, row = issue_access_token(db_session, user)
    row.revoked_at = utcnow()
    db_session.commit()

    response = client.get(JOBS, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert response.get_json()["code"] == "TOKEN_REVOKED"


def test_the_bearer_scheme_is_case_insensitive(client, auth):
    token = auth["Authorization"].split(" ", 1)[1]

    response = client.get(JOBS, headers={"Authorization": f"bearer {token}"})

    assert response.status_code == 200


def test_health_needs_no_token(client):
    assert client.get("/api/v1/health").status_code == 200
