"""``/api/v1/auth/refresh``, ``/api/v1/auth/logout`` and ``/auth/logout-all``.

Refresh spends the presented refresh token and answers a new (never fresh)
pair; a used token revokes its whole family (its access tokens, through
Redis, and the personal access tokens made in it). Logout revokes the family
of whatever tokens it is shown and blocks the access token until it expires;
a token already revoked is refused like anywhere else. Logout-all revokes
every session and every personal access token of the user.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from flask_jwt_extended import unset_refresh_cookies

from engine.accounts.audit import AuditAction, record
from engine.accounts.refresh import (
    RefreshTokenInvalid,
    RefreshTokenReused,
    family_of,
    revoke_family,
    rotate,
    sign_out_everywhere,
)
from engine.db import User
from engine.errors import Unauthorized
from engine.logging import get_logger
from web.accounts_schemas import LoggedOut, LoggedOutEverywhere, RefreshBody, TokenPair
from web.auth import current_user, require_user
from web.db import db_session
from web.operations import operation, parse_body
from web.security import client_agent, client_ip
from web.tokens import (
    decode,
    presented_refresh_token,
    revocations,
    token_response,
)

log = get_logger(__name__)
bp = Blueprint("auth_session", __name__, url_prefix="/api/v1/auth")


def _body_refresh_token() -> str | None:
    # Browsers post no body and rely on the cookie; API clients send JSON.
    if not request.get_data(cache=True):
        return None
    return parse_body(RefreshBody).refresh_token


def _uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise RefreshTokenInvalid() from None


@bp.post("/refresh")
@operation(
    "Trade a refresh token for a new access token and refresh token",
    tag="auth",
    responses={200: TokenPair},
    errors=(401, 403, 429),
    description=(
        'API clients send `{"refresh_token": ...}`. Browsers send no body: '
        "the `pf_refresh` cookie, and the `pf_csrf` cookie's value in "
        "`X-CSRF-Token`. Each refresh token works once; presenting a used one "
        "signs that session out everywhere."
    ),
)
def refresh() -> Response:
    claims, _channel = presented_refresh_token(_body_refresh_token())
    session = db_session()
    try:
        issued = rotate(
            session, _uuid(claims["jti"]), ip=client_ip(), user_agent=client_agent()
        )
    except RefreshTokenReused:
        # Keep the revocation and its audit row although the request fails.
        session.commit()
        revocations().block_family(str(claims["fam"]))
        log.warning("refresh_token_reused", family_id=str(claims["fam"]))
        raise

    user = session.get(User, issued.user_id)
    session.commit()
    return token_response(user, issued)


def _access_claims() -> dict[str, Any] | None:
    # An expired or malformed access token may still come with a good refresh
    # token; a revoked one is refused, as on every other route.
    header = request.headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or credential.count(".") != 2:
        return None
    try:
        claims = decode(credential.strip(), "access")
    except Unauthorized:
        return None
    if revocations().is_blocked(claims):
        raise Unauthorized(code="TOKEN_REVOKED", message="The token was revoked.")
    return claims


def _live_refresh_family(body_token: str | None) -> tuple[str, str]:
    claims, _channel = presented_refresh_token(body_token)
    family = family_of(db_session(), _uuid(claims["fam"]))
    if family is None or family.revoked_at is not None:
        raise RefreshTokenInvalid()
    return str(claims["fam"]), str(claims["sub"])


@bp.post("/logout")
@operation(
    "Sign out: revoke this session's refresh tokens and block its access token",
    tag="auth",
    responses={200: LoggedOut},
    errors=(401, 403, 429),
    description=(
        "Send the access token, the refresh token (body or cookie with "
        "`X-CSRF-Token`), or both."
    ),
)
def logout() -> Response:
    families: dict[str, str] = {}
    access = _access_claims()
    if access is not None:
        revocations().block_token(str(access["jti"]), int(access["exp"]))
        families[str(access["fam"])] = str(access["sub"])

    body_token = _body_refresh_token()
    if body_token is not None or request.cookies.get("pf_refresh"):
        try:
            family_id, user_id = _live_refresh_family(body_token)
            families[family_id] = user_id
        except Unauthorized:
            if access is None:
                raise
    if not families:
        raise Unauthorized(message="Send the session's access or refresh token.")

    session = db_session()
    revoked = 0
    for family_id, user_id in families.items():
        revoked += revoke_family(session, _uuid(family_id), "logout")
        revocations().block_family(family_id)
        details = {"family_id": family_id}
        owner = _uuid(user_id)
        record(session, owner, AuditAction.LOGOUT, client_ip(), client_agent(), details)
    session.commit()

    response = jsonify({"status": "ok", "revoked_families": revoked})
    unset_refresh_cookies(response)
    return response


@bp.post("/logout-all")
@require_user
@operation(
    "Sign out everywhere: revoke every session and personal access token",
    tag="auth",
    responses={200: LoggedOutEverywhere},
    errors=(401, 429),
    description=(
        "Any valid credential of the user will do. Every refresh-token family "
        "is revoked, its access tokens blocked, and every personal access "
        "token revoked, this request's own credential included."
    ),
)
def logout_all() -> Response:
    session = db_session()
    user = current_user()
    signed_out = sign_out_everywhere(session, user.id)
    for family_id in signed_out.family_ids:
        revocations().block_family(str(family_id))
    access = g.get("access_claims")
    if access is not None:
        revocations().block_token(str(access["jti"]), int(access["exp"]))
    details = {
        "families": len(signed_out.family_ids),
        "personal_tokens": signed_out.personal_tokens,
    }
    record(
        session, user.id, AuditAction.LOGOUT_ALL, client_ip(), client_agent(), details
    )
    session.commit()

    response = jsonify(
        {
            "status": "ok",
            "revoked_families": len(signed_out.family_ids),
            "revoked_personal_tokens": signed_out.personal_tokens,
        }
    )
    unset_refresh_cookies(response)
    return response
