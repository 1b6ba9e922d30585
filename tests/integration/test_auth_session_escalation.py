"""A stolen session cannot become lasting access: fresh sign-ins only for
personal tokens and provider keys, tokens die with their session, sign out
everywhere, no second logout with a revoked token, no replayed ID token."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from engine.accounts.refresh import revoke_family
from engine.db import AccessToken, User
from engine.db.accounts_models import AuditEvent, RefreshFamily
from tests.accounts_helpers import api_sign_in, bearer
from tests.conftest import RUN_TAG
from web.auth import issue_access_token

pytest_plugins = ["tests.accounts_web"]
pytestmark = pytest.mark.integration

GOOGLE = "/api/v1/auth/google"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
LOGOUT_ALL = "/api/v1/auth/logout-all"
TOKENS = "/api/v1/users/tokens"
KEYS = "/api/v1/users/api-keys"
PROFILE = "/api/v1/users/profile"
OPENAI_KEY = "sk-proj-Secret0123456789abcdefghijklmnopQRST"


def _refreshed(web, tokens: dict) -> dict:
    response = web.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _make_token(web, access: str) -> str:
    response = web.post(TOKENS, json={"name": "ci"}, headers=bearer(access))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


def _code(response) -> str:
    return response.get_json()["code"]


def _audit_count(db_session, action: str) -> int:
    query = select(func.count()).where(AuditEvent.action == action)
    return db_session.scalar(query)


# --------------------------------------------------------------- freshness


def test_a_refreshed_access_token_cannot_mint_a_personal_token(web, oidc_provider):
    refreshed = _refreshed(web, api_sign_in(web, oidc_provider, "sub-fresh-1"))

    response = web.post(
        TOKENS, json={"name": "ci"}, headers=bearer(refreshed["access_token"])
    )

    assert response.status_code == 403
    assert _code(response) == "FRESH_LOGIN_REQUIRED"


def test_a_refreshed_access_token_cannot_store_a_provider_key(web, oidc_provider):
    refreshed = _refreshed(web, api_sign_in(web, oidc_provider, "sub-fresh-2"))
    payload = {"provider": "openai", "api_key": OPENAI_KEY}

    response = web.post(KEYS, json=payload, headers=bearer(refreshed["access_token"]))

    assert response.status_code == 403
    assert _code(response) == "FRESH_LOGIN_REQUIRED"
    assert web.get(KEYS, headers=bearer(refreshed["access_token"])).json["items"] == []


def test_a_personal_token_cannot_mint_tokens_or_store_keys(web, oidc_provider):
    token = _make_token(
        web, api_sign_in(web, oidc_provider, "sub-fresh-3")["access_token"]
    )
    payload = {"provider": "openai", "api_key": OPENAI_KEY}

    minted = web.post(TOKENS, json={"name": "more"}, headers=bearer(token))
    stored = web.post(KEYS, json=payload, headers=bearer(token))

    assert (minted.status_code, _code(minted)) == (403, "FRESH_LOGIN_REQUIRED")
    assert (stored.status_code, _code(stored)) == (403, "FRESH_LOGIN_REQUIRED")


def test_a_fresh_sign_in_may_store_a_key_and_mint_a_token(
    web, oidc_provider, db_session
):
    tokens = api_sign_in(web, oidc_provider, "sub-fresh-4")
    payload = {"provider": "openai", "api_key": OPENAI_KEY}

    assert (
        web.post(KEYS, json=payload, headers=bearer(tokens["access_token"])).status_code
        == 201
    )
    _make_token(web, tokens["access_token"])

    row = db_session.scalars(select(AccessToken)).one()
    assert row.family_id is not None


def test_no_personal_token_is_minted_in_a_revoked_session(
    web, oidc_provider, db_session
):
    tokens = api_sign_in(web, oidc_provider, "sub-fresh-5")
    family_id = db_session.scalars(select(RefreshFamily.id)).one()
    # Revoked in the database only: the access token itself is not blocked yet.
    revoke_family(db_session, family_id, "logout")
    db_session.commit()

    response = web.post(
        TOKENS, json={"name": "ci"}, headers=bearer(tokens["access_token"])
    )

    assert (response.status_code, _code(response)) == (401, "TOKEN_REVOKED")
    assert db_session.scalar(select(func.count()).select_from(AccessToken)) == 0


# ------------------------------------------ personal tokens die with their session


def test_logout_revokes_the_personal_tokens_made_in_that_session_only(
    web, oidc_provider
):
    mine = api_sign_in(web, oidc_provider, "sub-pat-1")
    other = api_sign_in(web, oidc_provider, "sub-pat-1")
    doomed = _make_token(web, mine["access_token"])
    kept = _make_token(web, other["access_token"])

    response = web.post(
        LOGOUT,
        json={"refresh_token": mine["refresh_token"]},
        headers=bearer(mine["access_token"]),
    )

    assert response.status_code == 200
    assert _code(web.get(PROFILE, headers=bearer(doomed))) == "TOKEN_REVOKED"
    assert web.get(PROFILE, headers=bearer(kept)).status_code == 200


def test_refresh_token_reuse_revokes_the_personal_tokens_of_the_family(
    web, oidc_provider
):
    first = api_sign_in(web, oidc_provider, "sub-pat-2")
    token = _make_token(web, first["access_token"])
    _refreshed(web, first)

    replay = web.post(REFRESH, json={"refresh_token": first["refresh_token"]})

    assert _code(replay) == "REFRESH_TOKEN_REUSED"
    assert _code(web.get(PROFILE, headers=bearer(token))) == "TOKEN_REVOKED"


# ----------------------------------------------------------- sign out everywhere


def test_logout_all_revokes_every_session_and_personal_token_and_is_audited(
    web, oidc_provider, db_session
):
    phone = api_sign_in(web, oidc_provider, "sub-all")
    laptop = api_sign_in(web, oidc_provider, "sub-all")
    session_token = _make_token(web, laptop["access_token"])
    owner = db_session.get(User, db_session.scalars(select(AccessToken.user_id)).one())
    cli_token, _row = issue_access_token(db_session, owner, "cli")
    db_session.commit()

    response = web.post(LOGOUT_ALL, headers=bearer(phone["access_token"]))

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["revoked_families"], body["revoked_personal_tokens"]) == (2, 2)
    for credential in (
        phone["access_token"],
        laptop["access_token"],
        session_token,
        cli_token,
    ):
        assert _code(web.get(PROFILE, headers=bearer(credential))) == "TOKEN_REVOKED"
    for tokens in (phone, laptop):
        refused = web.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
        assert refused.status_code == 401
    assert _audit_count(db_session, "logout_all") == 1


def test_logout_all_needs_a_credential(web):
    assert web.post(LOGOUT_ALL).status_code == 401


# ---------------------------------------------------------- revoked tokens


def test_logout_with_an_already_revoked_access_token_is_401_and_not_audited(
    web, oidc_provider, db_session
):
    tokens = api_sign_in(web, oidc_provider, "sub-twice")
    headers = bearer(tokens["access_token"])
    assert web.post(LOGOUT, headers=headers).status_code == 200

    again = web.post(LOGOUT, headers=headers)

    assert (again.status_code, _code(again)) == (401, "TOKEN_REVOKED")
    assert _audit_count(db_session, "logout") == 1


def test_logout_with_the_refresh_token_of_a_revoked_session_is_401(
    web, oidc_provider, db_session
):
    tokens = api_sign_in(web, oidc_provider, "sub-twice-2")
    body = {"refresh_token": tokens["refresh_token"]}
    assert web.post(LOGOUT, json=body).status_code == 200

    again = web.post(LOGOUT, json=body)

    assert again.status_code == 401
    assert _audit_count(db_session, "logout") == 1


# ---------------------------------------------------------- ID token replay


def test_the_same_id_token_signs_in_only_once(web, oidc_provider, db_session):
    oidc_provider.sign_in_as("sub-replay", "replay@example.com")
    id_token = oidc_provider.id_token()
    assert web.post(GOOGLE, json={"id_token": id_token}).status_code == 200

    replay = web.post(GOOGLE, json={"id_token": id_token})

    assert (replay.status_code, _code(replay)) == (401, "ID_TOKEN_REPLAYED")
    assert db_session.scalar(select(func.count()).select_from(RefreshFamily)) == 1


def test_an_id_token_without_jti_is_single_use_too(web, oidc_provider):
    oidc_provider.sign_in_as("sub-replay-2", "replay2@example.com")
    id_token = oidc_provider.id_token(jti=None)
    assert web.post(GOOGLE, json={"id_token": id_token}).status_code == 200

    assert _code(web.post(GOOGLE, json={"id_token": id_token})) == "ID_TOKEN_REPLAYED"


def test_a_used_id_token_is_remembered_only_until_it_expires(
    web, oidc_provider, redis_client
):
    oidc_provider.sign_in_as("sub-replay-3", "replay3@example.com")
    expires = int(time.time()) + 120
    web.post(GOOGLE, json={"id_token": oidc_provider.id_token(exp=expires)})

    [key] = redis_client.keys(f"{RUN_TAG}:pf:idtoken:*")
    # Until the token's exp plus the verifier's leeway, and no longer.
    assert 120 < redis_client.ttl(key) <= 120 + 61 + 1


def test_a_refused_id_token_is_not_spent(web, oidc_provider):
    oidc_provider.sign_in_as("sub-replay-4", "replay4@example.com")
    id_token = oidc_provider.id_token(nonce="n-1")

    wrong = web.post(GOOGLE, json={"id_token": id_token, "nonce": "n-2"})
    right = web.post(GOOGLE, json={"id_token": id_token, "nonce": "n-1"})

    assert (wrong.status_code, right.status_code) == (401, 200)
