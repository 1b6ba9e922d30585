"""JWT sessions: short access tokens, rotating refresh tokens, revocation.

Access tokens (``Authorization: Bearer <jwt>``) are HS256, carry the user id
(``sub``), their own id (``jti``) and their sign-in family (``fam``), and live
``PINEFORGE_ACCESS_TOKEN_MINUTES``. Only the token a sign-in answers with is
``fresh``; refreshed ones are not. Minting a personal access token or storing
a provider key needs a fresh one (:func:`fresh_session_family`), and a token
minted so is revoked with its family: a refreshed session or a personal access
token cannot turn itself into lasting access.
Refresh tokens carry the id of their row in ``refresh_tokens`` and rotate on
every use (engine/accounts/refresh.py).

Browsers (``client=browser``) get the refresh token in an httpOnly, SameSite
Strict cookie scoped to ``/api/v1/auth`` plus a readable CSRF cookie; a refresh
or logout by cookie must echo that value in ``X-CSRF-Token``, and it must match
the one signed into the token (double submit). API clients keep the refresh
token themselves and send it in the JSON body.

Revocations in Redis expire with what they revoke: a blocked access token id
lives until that token's ``exp``, a revoked family until the newest access
token it could have minted has expired.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt as pyjwt
import redis
from flask import Flask, Response, current_app, g, jsonify, request
from flask_jwt_extended import (
    JWTManager,
    create_access_token,
    create_refresh_token,
    decode_token,
    get_csrf_token,
    set_refresh_cookies,
)
from flask_jwt_extended.exceptions import CSRFError, JWTExtendedException
from sqlalchemy.orm import Session

from engine.accounts.config import AccountsSettings, get_accounts_settings
from engine.accounts.refresh import IssuedRefresh
from engine.db import User
from engine.errors import Forbidden, Unauthorized
from engine.settings import Settings
from web.auth import TOKEN_PREFIX, register_authenticator
from web.security import cookies_secure

ISSUER = "pineforge"
AUDIENCE = "pineforge-api"
AUTH_PATH = "/api/v1/auth"
REFRESH_COOKIE = "pf_refresh"
CSRF_COOKIE = "pf_csrf"
CSRF_HEADER = "X-CSRF-Token"


class CsrfFailed(Forbidden):
    default_code = "CSRF_FAILED"
    default_message = "Send the pf_csrf cookie's value in the X-CSRF-Token header."


class FreshLoginRequired(Forbidden):
    default_code = "FRESH_LOGIN_REQUIRED"
    default_message = (
        "Sign in again for this: it needs the access token of a new sign-in, "
        "not a refreshed one or a personal access token."
    )


class RevocationStore:
    """Blocked access-token ids and revoked families, kept in Redis."""

    def __init__(self, client: redis.Redis, prefix: str, access_ttl: int) -> None:
        self._client = client
        self._prefix = f"{prefix}pf:revoked"
        self._access_ttl = access_ttl

    def block_token(self, jti: str, expires_at: int) -> None:
        """Refuse access token ``jti`` until it would have expired anyway."""
        ttl = int(expires_at - time.time()) + 1
        if ttl > 0:
            self._client.set(f"{self._prefix}:jti:{jti}", 1, ex=ttl)

    def block_family(self, family_id: str) -> None:
        """Refuse every access token of the family while one could be valid."""
        self._client.set(f"{self._prefix}:fam:{family_id}", 1, ex=self._access_ttl + 1)

    def is_blocked(self, claims: dict[str, Any]) -> bool:
        """True when the token or its family has been revoked."""
        token, family = self._client.mget(
            f"{self._prefix}:jti:{claims.get('jti')}",
            f"{self._prefix}:fam:{claims.get('fam')}",
        )
        return token is not None or family is not None


def revocations() -> RevocationStore:
    """The current app's revocation store."""
    return current_app.extensions["pineforge.revocations"]


def _jwt_secret(settings: Settings) -> str:
    # A key of its own, derived, so a JWT can never pass for a Flask session.
    secret = settings.signing_secret().encode()
    return hmac.new(secret, b"pineforge-jwt", hashlib.sha256).hexdigest()


def init_tokens(app: Flask, settings: Settings, accounts: AccountsSettings) -> None:
    """Configure flask-jwt-extended, the revocation store and the authenticator."""
    access_ttl = timedelta(minutes=accounts.access_token_minutes)
    app.config.update(
        JWT_SECRET_KEY=_jwt_secret(settings),
        JWT_ALGORITHM="HS256",
        JWT_DECODE_ALGORITHMS=["HS256"],
        JWT_ENCODE_ISSUER=ISSUER,
        JWT_DECODE_ISSUER=ISSUER,
        JWT_ENCODE_AUDIENCE=AUDIENCE,
        JWT_DECODE_AUDIENCE=AUDIENCE,
        JWT_ACCESS_TOKEN_EXPIRES=access_ttl,
        JWT_REFRESH_TOKEN_EXPIRES=timedelta(days=accounts.refresh_token_days),
        JWT_TOKEN_LOCATION=["headers", "cookies"],
        JWT_COOKIE_CSRF_PROTECT=True,
        JWT_CSRF_IN_COOKIES=True,
        JWT_COOKIE_SECURE=cookies_secure(settings, accounts),
        JWT_COOKIE_SAMESITE=accounts.cookie_samesite,
        JWT_SESSION_COOKIE=False,
        JWT_REFRESH_COOKIE_NAME=REFRESH_COOKIE,
        JWT_REFRESH_COOKIE_PATH=AUTH_PATH,
        JWT_REFRESH_CSRF_COOKIE_NAME=CSRF_COOKIE,
        JWT_REFRESH_CSRF_COOKIE_PATH="/",
        JWT_REFRESH_CSRF_HEADER_NAME=CSRF_HEADER,
    )
    JWTManager(app)
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
    app.extensions["pineforge.revocations"] = RevocationStore(
        client, settings.broker_key_prefix, int(access_ttl.total_seconds())
    )
    register_authenticator(app, jwt_authenticator)


def decode(raw: str, expected_type: str, csrf: str | None = None) -> dict[str, Any]:
    """Verify a token of ours; any failure is a coded 401 (or 403 for CSRF)."""
    try:
        claims = decode_token(raw, csrf_value=csrf)
    except pyjwt.ExpiredSignatureError:
        raise Unauthorized(
            code="TOKEN_EXPIRED", message="The token has expired."
        ) from None
    except CSRFError:
        raise CsrfFailed() from None
    except (pyjwt.InvalidTokenError, JWTExtendedException, ValueError):
        raise Unauthorized(
            code="INVALID_TOKEN", message="The token is not valid."
        ) from None
    if claims.get("type") != expected_type or "fam" not in claims:
        raise Unauthorized(code="INVALID_TOKEN", message="The token is not valid.")
    return claims


def jwt_authenticator(session: Session, credential: str) -> User | None:
    """Claim JWT access tokens for ``web.auth.authenticate``; PATs pass by."""
    if credential.startswith(TOKEN_PREFIX) or credential.count(".") != 2:
        return None
    claims = decode(credential, "access")
    if revocations().is_blocked(claims):
        raise Unauthorized(code="TOKEN_REVOKED", message="The token was revoked.")
    try:
        user = session.get(User, uuid.UUID(str(claims["sub"])))
    except ValueError:
        user = None
    if user is None:
        raise Unauthorized(code="INVALID_TOKEN", message="The token is not valid.")
    g.access_claims = claims
    return user


def fresh_session_family() -> uuid.UUID:
    """The sign-in family of this request's fresh access token.

    Raises FreshLoginRequired for a refreshed access token or a personal
    access token (call after the request was authenticated).
    """
    claims = g.get("access_claims")
    if not claims or claims.get("fresh") is not True:
        raise FreshLoginRequired()
    return uuid.UUID(str(claims["fam"]))


def mint(user: User, issued: IssuedRefresh, fresh: bool = False) -> tuple[str, str]:
    """Encode an access token and the refresh token ``issued`` describes."""
    family = str(issued.family_id)
    access = create_access_token(
        identity=str(user.id), fresh=fresh, additional_claims={"fam": family}
    )
    refresh = create_refresh_token(
        identity=str(user.id),
        additional_claims={
            "jti": str(issued.token_id),
            "fam": family,
            "cli": issued.client,
            "exp": int(issued.expires_at.timestamp()),
        },
    )
    return access, refresh


def token_response(
    user: User,
    issued: IssuedRefresh,
    body_extra: dict[str, Any] | None = None,
    *,
    fresh: bool = False,
) -> Response:
    """The JSON answer of a sign-in (``fresh``) or a refresh; cookies for browsers."""
    access, refresh = mint(user, issued, fresh)
    accounts = get_accounts_settings()
    body = {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": accounts.access_token_minutes * 60,
        "refresh_token": refresh if issued.client == "api" else None,
        "refresh_expires_at": issued.expires_at.isoformat(),
        **(body_extra or {}),
    }
    if issued.client == "browser":
        # For a single-page app on another host, which cannot read our cookie.
        body["csrf_token"] = get_csrf_token(refresh)
    response = jsonify(body)
    if issued.client == "browser":
        max_age = int((issued.expires_at - datetime.now(UTC)).total_seconds())
        set_refresh_cookies(response, refresh, max_age=max_age)
    return response


def presented_refresh_token(body_token: str | None) -> tuple[dict[str, Any], str]:
    """The refresh token of this request, verified, and how it came.

    A token from the body must belong to an ``api`` family; a token from the
    cookie to a ``browser`` family and must pass the CSRF double submit.
    """
    if body_token is not None:
        claims = decode(body_token, "refresh")
        channel = "api"
    else:
        raw = request.cookies.get(REFRESH_COOKIE)
        if not raw:
            raise Unauthorized(
                code="REFRESH_TOKEN_MISSING", message="No refresh token was sent."
            )
        header = request.headers.get(CSRF_HEADER, "")
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not header or not hmac.compare_digest(header, cookie):
            raise CsrfFailed()
        claims = decode(raw, "refresh", csrf=header)
        channel = "browser"

    if claims.get("cli") != channel:
        raise Unauthorized(
            code="REFRESH_TOKEN_INVALID", message="The refresh token is not valid."
        )
    return claims, channel
