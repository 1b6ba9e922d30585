"""Google sign-in (OpenID Connect through authlib) and the ID-token endpoint.

``GET /auth/login`` redirects to the provider with state, nonce and a PKCE
challenge (kept in Redis, bound to the browser by the session cookie);
``GET /auth/callback`` checks them, exchanges the code, verifies the ID token
and starts a browser session. ``POST /auth/google`` takes an ID token a
single-page or mobile client got itself and verifies it against the
provider's JWKS; each such token signs in once. Either way the user is found
by the verified subject, and the access token answered is fresh.
"""

from __future__ import annotations

import json

import redis
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, Response, current_app, redirect, url_for
from joserfc.errors import JoseError
from requests import RequestException
from sqlalchemy.exc import IntegrityError

from engine.accounts.config import AccountsSettings, get_accounts_settings
from engine.accounts.identity import (
    UsedIdTokens,
    VerifiedIdentity,
    sign_in,
    verify_id_token,
)
from engine.accounts.refresh import start_family
from engine.errors import DependencyUnavailable, PineForgeError, Unauthorized
from engine.settings import Settings
from web.accounts_schemas import GoogleSignIn, TokenPair
from web.db import db_session
from web.operations import operation
from web.security import client_agent, client_ip
from web.tokens import token_response
from web.users import profile_body

PROVIDER = "google"
HTTP_TIMEOUT_SECONDS = 10

bp = Blueprint("auth_google", __name__, url_prefix="/api/v1/auth")


class SignInUnavailable(PineForgeError):
    http_status = 503
    default_code = "SIGN_IN_UNAVAILABLE"
    default_message = "Google sign-in is not configured on this server."


class SignInFailed(Unauthorized):
    default_code = "SIGN_IN_FAILED"
    default_message = "Signing in with Google did not complete; try again."


class _RedisStateCache:
    """authlib's state cache (state, nonce, PKCE verifier) kept in Redis."""

    def __init__(self, url: str, prefix: str) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=5)
        self._prefix = f"{prefix}pf:oidc:"

    def get(self, key: str) -> bytes | None:
        return self._client.get(self._prefix + key)

    def set(self, key: str, value: str, expires_in: int | None = None) -> None:
        self._client.set(self._prefix + key, value, ex=expires_in or 600)

    def delete(self, key: str) -> None:
        self._client.delete(self._prefix + key)


def init_google(app: Flask, settings: Settings, accounts: AccountsSettings) -> None:
    """Register the Google client when ``PINEFORGE_GOOGLE_CLIENT_ID`` is set."""
    if not accounts.google_client_id:
        return
    secret = accounts.google_client_secret
    oauth = OAuth(
        app, cache=_RedisStateCache(settings.redis_url, settings.broker_key_prefix)
    )
    oauth.register(
        PROVIDER,
        client_id=accounts.google_client_id,
        client_secret=secret.get_secret_value() if secret else None,
        server_metadata_url=accounts.google_discovery_url,
        client_kwargs={
            "scope": "openid email profile",
            "code_challenge_method": "S256",
            "default_timeout": HTTP_TIMEOUT_SECONDS,
        },
    )
    app.extensions["pineforge.oauth"] = oauth
    app.extensions["pineforge.used_id_tokens"] = UsedIdTokens(
        redis.Redis.from_url(settings.redis_url, socket_timeout=5),
        settings.broker_key_prefix,
    )


def _client():
    oauth = current_app.extensions.get("pineforge.oauth")
    if oauth is None:
        raise SignInUnavailable()
    return oauth.create_client(PROVIDER)


def _provider_call(call):
    """Run a call to the provider; its outages become a coded 503."""
    try:
        return call()
    except (RequestException, json.JSONDecodeError, KeyError) as exc:
        raise DependencyUnavailable(
            message="The sign-in provider did not answer.",
            details={"dependency": "identity_provider"},
        ) from exc


def _start_session(identity: VerifiedIdentity, client: str) -> Response:
    session = db_session()
    try:
        user = sign_in(session, identity, ip=client_ip(), user_agent=client_agent())
    except IntegrityError:
        # A parallel first sign-in of the same subject created the user first.
        session.rollback()
        user = sign_in(session, identity, ip=client_ip(), user_agent=client_agent())
    issued = start_family(session, user.id, client)
    session.commit()
    body = {"user": profile_body(session, user)}
    return token_response(user, issued, body, fresh=True)


@bp.get("/login")
@operation(
    "Start Google sign-in: redirects to Google",
    tag="auth",
    errors=(429, 503),
)
def login():
    client = _client()
    callback = get_accounts_settings().google_redirect_uri or url_for(
        "auth_google.callback", _external=True
    )
    return _provider_call(lambda: client.authorize_redirect(callback))


@bp.get("/callback")
@operation(
    "Finish Google sign-in; sets the refresh cookie",
    tag="auth",
    responses={200: TokenPair},
    errors=(401, 429, 503),
    description="Redirects to PINEFORGE_LOGIN_REDIRECT_URL when it is set.",
)
def callback():
    client = _client()
    try:
        token = _provider_call(client.authorize_access_token)
    except (AuthlibBaseError, JoseError, ValueError) as exc:
        raise SignInFailed() from exc
    claims = token.get("userinfo")
    if not claims:
        raise SignInFailed()
    identity = VerifiedIdentity.from_claims(PROVIDER, claims)

    response = _start_session(identity, "browser")
    target = get_accounts_settings().login_redirect_url
    if target:
        redirected = redirect(target, code=303)
        for cookie in response.headers.getlist("Set-Cookie"):
            redirected.headers.add("Set-Cookie", cookie)
        return redirected
    return response


@bp.post("/google")
@operation(
    "Sign in with a Google ID token (single-page and mobile clients)",
    tag="auth",
    body=GoogleSignIn,
    responses={200: TokenPair},
    errors=(401, 429, 503),
    description="Each ID token signs in once; a replayed one is ID_TOKEN_REPLAYED.",
)
def google_sign_in(body: GoogleSignIn):
    client = _client()
    accounts = get_accounts_settings()
    metadata = _provider_call(client.load_server_metadata)
    jwks = _provider_call(client.fetch_jwk_set)
    identity = verify_id_token(
        body.id_token,
        jwks=jwks,
        issuers=[metadata["issuer"], *accounts.extra_issuer_list()],
        audience=accounts.google_client_id,
        nonce=body.nonce,
        provider=PROVIDER,
        refresh_jwks=lambda: _provider_call(lambda: client.fetch_jwk_set(force=True)),
    )
    current_app.extensions["pineforge.used_id_tokens"].spend(identity, body.id_token)
    return _start_session(identity, body.client)
