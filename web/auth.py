"""Who is calling: personal access tokens now, other schemes later.

A request carries ``Authorization: Bearer <credential>``. Each registered
authenticator looks at the credential and either claims it (returning the
user, or raising Unauthorized) or passes by returning None. Personal access
tokens (``pf_...``) are the first; a JWT authenticator for Google login plugs
in with :func:`register_authenticator` without touching the views.

Tokens are stored as a SHA-256 digest only; the clear token is shown once
when it is made (:func:`issue_access_token`) and never again.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask, current_app, g, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.db import AccessToken, User, utcnow
from engine.errors import Unauthorized
from engine.logging import bind_log_context
from web.db import db_session

TOKEN_PREFIX = "pf_"
INVALID_TOKEN = "The access token is not valid."
TOKEN_BYTES = 32
#: Stored beside the digest so a user can tell their tokens apart.
DISPLAY_PREFIX_LENGTH = 8
#: last_used_at is a hint, not an audit log; one write per minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)

Authenticator = Callable[[Session, str], User | None]


def hash_token(token: str) -> str:
    """The stored form of a token: its SHA-256 digest in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_access_token(
    session: Session,
    user: User,
    name: str = "cli",
    family_id: uuid.UUID | None = None,
) -> tuple[str, AccessToken]:
    """Make a token for ``user``; return the clear token (shown once) and its row.

    ``family_id`` is the sign-in session it is made in: revoking that session
    revokes the token too.
    """
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    row = AccessToken(
        user_id=user.id,
        name=name,
        token_hash=hash_token(token),
        prefix=token[:DISPLAY_PREFIX_LENGTH],
        family_id=family_id,
    )
    session.add(row)
    session.flush()
    return token, row


def access_token_authenticator(session: Session, credential: str) -> User | None:
    """Claim ``pf_`` tokens: known, not revoked, owner still present."""
    if not credential.startswith(TOKEN_PREFIX):
        return None

    row = session.scalar(
        select(AccessToken).where(AccessToken.token_hash == hash_token(credential))
    )
    if row is None:
        raise Unauthorized(code="INVALID_TOKEN", message=INVALID_TOKEN)
    if row.revoked_at is not None:
        raise Unauthorized(code="TOKEN_REVOKED", message="The token was revoked.")
    user = session.get(User, row.user_id)
    if user is None:
        raise Unauthorized(code="INVALID_TOKEN", message=INVALID_TOKEN)

    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
        session.commit()
    return user


def register_authenticator(app: Flask, authenticator: Authenticator) -> None:
    """Add a scheme; earlier ones get the first look at a credential."""
    app.extensions["pineforge.authenticators"].append(authenticator)


def _bearer_credential() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    if not header:
        raise Unauthorized(message="Send 'Authorization: Bearer <token>'.")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthorized(
            code="INVALID_TOKEN", message="Use 'Authorization: Bearer <token>'."
        )
    return credential.strip()


def authenticate() -> User:
    """The user behind the current request's credential, or Unauthorized."""
    credential = _bearer_credential()
    session = db_session()
    for authenticator in current_app.extensions["pineforge.authenticators"]:
        user = authenticator(session, credential)
        if user is not None:
            return user
    raise Unauthorized(code="INVALID_TOKEN", message=INVALID_TOKEN)


def current_user() -> User:
    """The authenticated user of this request (inside a ``@require_user`` view)."""
    user = g.get("user")
    if user is None:
        raise Unauthorized()
    return user


def require_user(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse the request unless it carries a valid credential."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # A rate limit keyed by user has already authenticated this request.
        user = g.get("user") or authenticate()
        g.user = user
        bind_log_context(user_id=str(user.id))
        return view(*args, **kwargs)

    wrapper.requires_auth = True  # type: ignore[attr-defined]
    return wrapper


def init_auth(app: Flask) -> None:
    app.extensions["pineforge.authenticators"] = [access_token_authenticator]
