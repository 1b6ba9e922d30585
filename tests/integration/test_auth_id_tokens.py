"""``POST /auth/google`` and our own JWTs refuse every forged or stale token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import jwt as pyjwt
import pytest
from flask_jwt_extended import create_access_token
from joserfc.jwk import RSAKey

from tests.accounts_helpers import api_sign_in, bearer

pytest_plugins = ["tests.accounts_web"]
pytestmark = pytest.mark.integration

GOOGLE = "/api/v1/auth/google"
PROFILE = "/api/v1/users/profile"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _refused(web, token: str, **extra) -> dict:
    response = web.post(GOOGLE, json={"id_token": token, **extra})
    assert response.status_code == 401, response.get_json()
    return response.get_json()


def test_valid_id_token_signs_in_an_api_client(web, oidc_provider):
    body = api_sign_in(web, oidc_provider, "sub-api-1")

    assert body["refresh_token"] and body["access_token"]
    assert body["token_type"] == "Bearer"
    profile = web.get(PROFILE, headers=bearer(body["access_token"]))
    assert profile.get_json()["email"] == "sub-api-1@example.com"


def test_tampered_id_token_is_refused(web, oidc_provider):
    header, _claims, signature = oidc_provider.id_token().split(".")
    forged = _b64(
        {
            "iss": oidc_provider.issuer,
            "aud": oidc_provider.client_id,
            "sub": "admin",
            "iat": int(time.time()),
            "exp": int(time.time()) + 300,
        }
    )
    body = _refused(web, f"{header}.{forged}.{signature}")
    assert body["code"] == "INVALID_ID_TOKEN"


def test_expired_id_token_is_refused(web, oidc_provider):
    now = int(time.time())
    _refused(web, oidc_provider.id_token(iat=now - 7200, exp=now - 3600))


def test_alg_none_id_token_is_refused(web, oidc_provider):
    now = int(time.time())
    claims = {
        "iss": oidc_provider.issuer,
        "aud": oidc_provider.client_id,
        "sub": "sub-none",
        "iat": now,
        "exp": now + 300,
    }
    _refused(web, f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.")


def test_hs256_token_keyed_with_the_public_key_is_refused(web, oidc_provider):
    public_pem = oidc_provider.key.as_pem(private=False)
    now = int(time.time())
    claims = {
        "iss": oidc_provider.issuer,
        "aud": oidc_provider.client_id,
        "sub": "sub-confused",
        "iat": now,
        "exp": now + 300,
    }
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": oidc_provider.key.kid})
    signing_input = f"{header}.{_b64(claims)}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    signature = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    _refused(web, f"{signing_input}.{signature}")


def test_token_signed_by_another_key_with_the_same_kid_is_refused(web, oidc_provider):
    impostor = RSAKey.generate_key(2048, parameters={"kid": oidc_provider.key.kid})
    _refused(web, oidc_provider.id_token(key=impostor))


@pytest.mark.parametrize(
    "claims", [{"aud": "someone-else"}, {"iss": "https://evil.example"}, {"sub": None}]
)
def test_wrong_audience_issuer_or_missing_subject_is_refused(
    web, oidc_provider, claims
):
    _refused(web, oidc_provider.id_token(**claims))


def test_nonce_must_match_when_the_client_sends_one(web, oidc_provider):
    _refused(web, oidc_provider.id_token(nonce="n-1"), nonce="n-2")
    ok = web.post(
        GOOGLE, json={"id_token": oidc_provider.id_token(nonce="n-1"), "nonce": "n-1"}
    )
    assert ok.status_code == 200


def test_forged_access_tokens_are_refused(web, oidc_provider, accounts_app):
    body = api_sign_in(web, oidc_provider, "sub-forge")
    claims = pyjwt.decode(body["access_token"], options={"verify_signature": False})
    cases = {
        "other secret": pyjwt.encode(claims, "not-our-secret-" * 3, algorithm="HS256"),
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "refresh as access": body["refresh_token"],
    }
    for name, token in cases.items():
        response = web.get(PROFILE, headers=bearer(token))
        assert response.status_code == 401, name
        assert "Bearer" in response.headers["WWW-Authenticate"]


def test_expired_access_token_is_refused_with_its_own_code(
    web, accounts_app, make_user
):
    user = make_user()
    with accounts_app.app_context():
        token = create_access_token(
            identity=str(user.id),
            expires_delta=timedelta(seconds=-120),
            additional_claims={"fam": "x"},
        )
    response = web.get(PROFILE, headers=bearer(token))
    assert response.status_code == 401
    assert response.get_json()["code"] == "TOKEN_EXPIRED"


def test_personal_access_tokens_still_work_beside_jwts(web, db_session, make_user):
    from web.auth import issue_access_token

    user = make_user()
    token, _row = issue_access_token(db_session, user, "script")
    db_session.commit()
    assert web.get(PROFILE, headers=bearer(token)).status_code == 200
