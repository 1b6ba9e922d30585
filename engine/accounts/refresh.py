"""Refresh-token families: rotation, single use, and reuse detection.

A sign-in starts a family. Each refresh token (a JWT whose ``jti`` is the row
id) works once: :func:`rotate` marks it used with a guarded UPDATE and issues
its successor in the same family. Presenting a used token again means it was
copied, so the whole family is revoked and the event audited; the thief and
the victim both have to sign in again. Two requests racing with one token
cannot both win: the guarded UPDATE lets exactly one through, and the loser is
indistinguishable from a replay, so it is treated as one.

Personal access tokens made in a session remember its family: revoking the
family (logout, reuse) revokes them too, so a stolen session cannot outlive
its revocation through a token it minted. :func:`sign_out_everywhere` revokes
every family and every personal access token of a user.

Rows live until the family's last token would have expired
(:func:`purge_expired`), so a revocation is remembered exactly as long as the
token it revokes would have been accepted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from engine.accounts.audit import AuditAction, record
from engine.accounts.config import get_accounts_settings
from engine.db.accounts_models import RefreshFamily, RefreshToken
from engine.db.base import utcnow
from engine.db.models import AccessToken
from engine.errors import Unauthorized

CLIENTS = ("browser", "api")


class RefreshTokenInvalid(Unauthorized):
    default_code = "REFRESH_TOKEN_INVALID"
    default_message = "The refresh token is not valid; sign in again."


class RefreshTokenReused(Unauthorized):
    default_code = "REFRESH_TOKEN_REUSED"
    default_message = "The refresh token was already used; sign in again."


class SessionRevoked(Unauthorized):
    default_code = "TOKEN_REVOKED"
    default_message = "This session was signed out; sign in again."


@dataclass(frozen=True)
class SignedOut:
    """What :func:`sign_out_everywhere` revoked."""

    family_ids: list[uuid.UUID]
    personal_tokens: int


@dataclass(frozen=True)
class IssuedRefresh:
    """A refresh token to encode as a JWT: its id, family and expiry."""

    token_id: uuid.UUID
    family_id: uuid.UUID
    user_id: uuid.UUID
    expires_at: datetime
    client: str


def _lifetime() -> timedelta:
    return timedelta(days=get_accounts_settings().refresh_token_days)


def _issue(session: Session, family: RefreshFamily, now: datetime) -> IssuedRefresh:
    token = RefreshToken(
        id=uuid.uuid4(),
        family_id=family.id,
        issued_at=now,
        expires_at=now + _lifetime(),
    )
    family.expires_at = token.expires_at
    session.add(token)
    session.flush()
    return IssuedRefresh(
        token.id, family.id, family.user_id, token.expires_at, family.client
    )


def start_family(
    session: Session, user_id: uuid.UUID, client: str, now: datetime | None = None
) -> IssuedRefresh:
    """Start a family for a new sign-in and issue its first refresh token."""
    if client not in CLIENTS:
        raise ValueError(f"client must be one of {CLIENTS}")
    now = now or utcnow()
    family = RefreshFamily(
        id=uuid.uuid4(),
        user_id=user_id,
        client=client,
        created_at=now,
        expires_at=now + _lifetime(),
    )
    session.add(family)
    return _issue(session, family, now)


def _family(session: Session, family_id: uuid.UUID) -> RefreshFamily | None:
    return session.get(RefreshFamily, family_id, populate_existing=True)


def rotate(
    session: Session,
    token_id: uuid.UUID,
    *,
    now: datetime | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> IssuedRefresh:
    """Spend refresh token ``token_id`` and return its successor.

    Raises :class:`RefreshTokenInvalid` for an unknown, expired or revoked
    token and :class:`RefreshTokenReused` for a used one, after revoking its
    family and recording the reuse. The caller must commit before answering
    even when this raises, or the revocation is lost.
    """
    now = now or utcnow()
    live_families = select(RefreshFamily.id).where(RefreshFamily.revoked_at.is_(None))
    claimed = session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.id == token_id,
            RefreshToken.used_at.is_(None),
            RefreshToken.expires_at > now,
            RefreshToken.family_id.in_(live_families),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    token = session.get(RefreshToken, token_id, populate_existing=True)
    family = _family(session, token.family_id) if token else None
    if token is None or family is None:
        raise RefreshTokenInvalid()

    if claimed.rowcount == 1 and family.revoked_at is None:
        return _issue(session, family, now)
    if family.revoked_at is not None or token.expires_at <= now:
        raise RefreshTokenInvalid()

    revoke_family(session, family.id, "reuse", now=now)
    details = {"family_id": str(family.id), "client": family.client}
    record(session, family.user_id, AuditAction.REFRESH_REUSE, ip, user_agent, details)
    raise RefreshTokenReused(details={})


def revoke_family(
    session: Session, family_id: uuid.UUID, reason: str, now: datetime | None = None
) -> bool:
    """Revoke a family (logout, reuse) and the personal access tokens made in it.

    True if the family was live until now.
    """
    now = now or utcnow()
    result = session.execute(
        update(RefreshFamily)
        .where(RefreshFamily.id == family_id, RefreshFamily.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason[:32])
        .execution_options(synchronize_session=False)
    )
    _revoke_personal_tokens(session, AccessToken.family_id == family_id, now)
    return result.rowcount == 1


def revoke_all_families(
    session: Session, user_id: uuid.UUID, reason: str, now: datetime | None = None
) -> list[uuid.UUID]:
    """Revoke every live family of a user; return their ids."""
    live = session.scalars(
        select(RefreshFamily.id).where(
            RefreshFamily.user_id == user_id, RefreshFamily.revoked_at.is_(None)
        )
    ).all()
    if live:
        session.execute(
            update(RefreshFamily)
            .where(RefreshFamily.id.in_(live), RefreshFamily.revoked_at.is_(None))
            .values(revoked_at=now or utcnow(), revoked_reason=reason[:32])
            .execution_options(synchronize_session=False)
        )
    return list(live)


def sign_out_everywhere(
    session: Session, user_id: uuid.UUID, now: datetime | None = None
) -> SignedOut:
    """Revoke every family and every personal access token of a user."""
    now = now or utcnow()
    families = revoke_all_families(session, user_id, "logout_all", now=now)
    tokens = _revoke_personal_tokens(session, AccessToken.user_id == user_id, now)
    return SignedOut(families, tokens)


def lock_live_family(session: Session, family_id: uuid.UUID) -> RefreshFamily:
    """Lock a family row for a change made in its name; refuse a revoked one.

    Held until the caller commits, so a concurrent revocation either comes
    first (and this raises) or waits and then sees what was made under it.
    """
    family = session.scalar(
        select(RefreshFamily)
        .where(RefreshFamily.id == family_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if family is None or family.revoked_at is not None:
        raise SessionRevoked()
    return family


def _revoke_personal_tokens(session: Session, which, now: datetime) -> int:
    result = session.execute(
        update(AccessToken)
        .where(which, AccessToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def family_of(session: Session, family_id: uuid.UUID) -> RefreshFamily | None:
    """The family row, freshly read."""
    return _family(session, family_id)


def purge_expired(session: Session, now: datetime | None = None) -> int:
    """Delete families (and their tokens) whose last token has expired."""
    result = session.execute(
        delete(RefreshFamily)
        .where(RefreshFamily.expires_at <= (now or utcnow()))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
