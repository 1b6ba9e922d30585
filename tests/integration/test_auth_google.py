"""Google sign-in through authlib against a real fake provider on loopback."""

from __future__ import annotations

import uuid

import pytest
import requests
from sqlalchemy import select

from engine.db import User
from engine.db.accounts_models import AuditEvent, CreditBalance
from tests.accounts_helpers import authorize_query, bearer, browser_login

pytest_plugins = ["tests.accounts_web"]
pytestmark = pytest.mark.integration


def test_browser_login_sets_refresh_cookie_and_returns_an_access_token(web):
    response = browser_login(web)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["refresh_token"] is None
    assert body["user"]["email"] == "ada@example.com"
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    assert "HttpOnly" in cookies["pf_refresh"]
    assert "SameSite=Strict" in cookies["pf_refresh"]
    assert "Path=/api/v1/auth" in cookies["pf_refresh"]
    assert "HttpOnly" not in cookies["pf_csrf"]

    profile = web.get("/api/v1/users/profile", headers=bearer(body["access_token"]))
    assert profile.status_code == 200
    assert profile.get_json()["id"] == body["user"]["id"]


def test_login_sends_state_nonce_and_a_pkce_challenge(web, oidc_provider):
    query = authorize_query(web)

    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) >= 43
    assert query["state"] and query["nonce"]
    assert query["redirect_uri"].endswith("/api/v1/auth/callback")
    assert "openid" in query["scope"].split()


def test_callback_with_a_forged_state_is_refused(web, oidc_provider):
    query = authorize_query(web)
    at_provider = requests.get(
        f"{oidc_provider.issuer}/authorize",
        params={**query, "state": "forged"},
        allow_redirects=False,
    )
    code = at_provider.headers["Location"].split("code=")[1].split("&")[0]

    response = web.get(f"/api/v1/auth/callback?code={code}&state=forged")

    assert response.status_code == 401
    assert response.get_json()["code"] == "SIGN_IN_FAILED"


def test_callback_without_the_login_session_is_refused(web, accounts_app):
    query = authorize_query(web)
    stranger = accounts_app.test_client()
    response = stranger.get(f"/api/v1/auth/callback?code=abc&state={query['state']}")
    assert response.status_code == 401


def test_provider_error_in_callback_is_a_coded_401(web):
    authorize_query(web)
    response = web.get("/api/v1/auth/callback?error=access_denied&state=x")
    assert response.status_code == 401
    assert response.get_json()["code"] == "SIGN_IN_FAILED"


def test_same_subject_signs_in_to_the_same_user(web, oidc_provider, db_session):
    first = browser_login(web).get_json()
    oidc_provider.sign_in_as("google-sub-ada", "ada.new@example.com")
    second = browser_login(web).get_json()

    assert first["user"]["id"] == second["user"]["id"]
    assert db_session.scalar(select(User).where(User.email == "ada@example.com"))


def test_unverified_email_never_matches_an_existing_user(web, oidc_provider, make_user):
    victim = make_user()
    oidc_provider.sign_in_as("attacker-sub", victim.email, verified=False)

    body = browser_login(web).get_json()

    assert body["user"]["id"] != str(victim.id)
    assert body["user"]["email"].endswith("@users.invalid")


def test_verified_email_links_an_account_made_without_google(
    web, oidc_provider, make_user, db_session
):
    account = make_user()
    oidc_provider.sign_in_as("google-sub-owner", account.email, verified=True)

    body = browser_login(web).get_json()

    assert body["user"]["id"] == str(account.id)
    actions = set(db_session.scalars(select(AuditEvent.action)))
    assert {"identity_linked", "login"} <= actions


def test_a_new_user_gets_this_months_credits(web, db_session):
    body = browser_login(web).get_json()
    balance = db_session.get(CreditBalance, uuid.UUID(body["user"]["id"]))
    assert balance.balance == 100


def test_login_answers_503_when_google_is_not_configured(monkeypatch, database):
    from engine.accounts.config import reset_accounts_settings
    from web import create_app

    monkeypatch.delenv("PINEFORGE_GOOGLE_CLIENT_ID", raising=False)
    reset_accounts_settings()
    response = create_app().test_client().get("/api/v1/auth/login")

    assert response.status_code == 503
    assert response.get_json()["code"] == "SIGN_IN_UNAVAILABLE"
