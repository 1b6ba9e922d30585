"""``/api/v1/users/api-keys`` and ``/api/v1/users/tokens``.

Provider keys come in once and never go out: the API shows the provider, the
last four characters and the dates. Personal access tokens are shown once,
when made; afterwards only their prefix. Another user's id, an unknown id and
a malformed one are the same 404.

Storing a key and making a token need the fresh access token of a new sign-in
(403 FRESH_LOGIN_REQUIRED otherwise); a token belongs to the session that made
it and is revoked when that session signs out or is revoked.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import select

from engine.accounts.api_keys import ApiKeyInfo, delete_key, list_keys, store_key
from engine.accounts.audit import AuditAction, record
from engine.accounts.refresh import lock_live_family
from engine.db import AccessToken, utcnow
from engine.errors import Conflict, NotFound
from web.accounts_schemas import (
    ApiKey,
    ApiKeyCreate,
    ApiKeyList,
    PersonalToken,
    PersonalTokenCreated,
    PersonalTokenList,
    TokenCreate,
)
from web.auth import current_user, issue_access_token, require_user
from web.db import db_session
from web.jobs import parse_id
from web.operations import operation
from web.security import client_agent, client_ip
from web.tokens import fresh_session_family

bp = Blueprint("user_credentials", __name__, url_prefix="/api/v1/users")

#: A user may keep this many live personal access tokens.
MAX_LIVE_TOKENS = 50


def _key_body(info: ApiKeyInfo) -> dict:
    return ApiKey(
        id=str(info.id),
        provider=info.provider,
        last4=info.last4,
        created_at=info.created_at,
        last_used_at=info.last_used_at,
    ).model_dump(mode="json")


def _token_body(row: AccessToken) -> dict:
    return PersonalToken(
        id=str(row.id),
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    ).model_dump(mode="json")


def _no_content() -> Response:
    return Response(status=204)


# ------------------------------------------------------------ provider keys


@bp.post("/api-keys")
@require_user
@operation(
    "Store your own OpenAI, Anthropic or OpenRouter key (replaces an older one)",
    tag="users",
    body=ApiKeyCreate,
    responses={201: ApiKey},
    errors=(403,),
    description="Needs the access token of a new sign-in (FRESH_LOGIN_REQUIRED).",
)
def add_api_key(body: ApiKeyCreate):
    fresh_session_family()
    session = db_session()
    info = store_key(
        session,
        current_user().id,
        body.provider,
        body.api_key,
        ip=client_ip(),
        user_agent=client_agent(),
    )
    session.commit()
    return jsonify(_key_body(info)), 201


@bp.get("/api-keys")
@require_user
@operation("List your stored provider keys", tag="users", responses={200: ApiKeyList})
def list_api_keys():
    infos = list_keys(db_session(), current_user().id)
    return jsonify({"items": [_key_body(info) for info in infos]})


@bp.delete("/api-keys/<key_id>")
@require_user
@operation("Delete one of your provider keys", tag="users", errors=(404,))
def delete_api_key(key_id: str):
    session = db_session()
    delete_key(
        session,
        current_user().id,
        parse_id(key_id, "API key"),
        ip=client_ip(),
        user_agent=client_agent(),
    )
    session.commit()
    return _no_content()


# ------------------------------------------------------ personal tokens


@bp.post("/tokens")
@require_user
@operation(
    "Make a personal access token for scripts (shown once)",
    tag="users",
    body=TokenCreate,
    responses={201: PersonalTokenCreated},
    errors=(403, 409),
    description=(
        "Needs the access token of a new sign-in (FRESH_LOGIN_REQUIRED). The "
        "token is revoked when that session signs out, and by logout-all."
    ),
)
def create_token(body: TokenCreate):
    family_id = fresh_session_family()
    session = db_session()
    user = current_user()
    # Locked until commit, so a logout racing this one revokes the new token.
    lock_live_family(session, family_id)
    live = session.scalars(
        select(AccessToken.id).where(
            AccessToken.user_id == user.id, AccessToken.revoked_at.is_(None)
        )
    ).all()
    if len(live) >= MAX_LIVE_TOKENS:
        raise Conflict(
            code="TOO_MANY_TOKENS",
            message="Revoke an unused token before making another.",
            details={"limit": MAX_LIVE_TOKENS},
        )
    token, row = issue_access_token(session, user, body.name, family_id)
    details = {"token_id": str(row.id), "prefix": row.prefix}
    record(
        session,
        user.id,
        AuditAction.TOKEN_CREATED,
        client_ip(),
        client_agent(),
        details,
    )
    session.commit()
    return jsonify({**_token_body(row), "token": token}), 201


@bp.get("/tokens")
@require_user
@operation(
    "List your personal access tokens (never the tokens themselves)",
    tag="users",
    responses={200: PersonalTokenList},
)
def list_tokens():
    rows = db_session().scalars(
        select(AccessToken)
        .where(AccessToken.user_id == current_user().id)
        .order_by(AccessToken.created_at.desc(), AccessToken.id)
    )
    return jsonify({"items": [_token_body(row) for row in rows]})


@bp.delete("/tokens/<token_id>")
@require_user
@operation("Revoke one of your personal access tokens", tag="users", errors=(404,))
def revoke_token(token_id: str):
    session = db_session()
    user = current_user()
    row = session.scalar(
        select(AccessToken).where(
            AccessToken.id == parse_id(token_id, "Token"),
            AccessToken.user_id == user.id,
        )
    )
    if row is None:
        raise NotFound(message="Token not found.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        details = {"token_id": str(row.id), "prefix": row.prefix}
        record(
            session,
            user.id,
            AuditAction.TOKEN_REVOKED,
            client_ip(),
            client_agent(),
            details,
        )
    session.commit()
    return _no_content()
