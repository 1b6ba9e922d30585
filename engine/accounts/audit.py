"""The audit trail: security-relevant events with time, user, IP and agent.

Rows are written in the caller's transaction, so an event is kept exactly when
the change it describes is. ``details`` is a small JSON dict and must never
hold a secret: a key's last four characters, a family id, a plan name.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.db.accounts_models import AuditEvent

MAX_USER_AGENT = 256
MAX_IP = 45


class AuditAction(StrEnum):
    LOGIN = "login"
    LOGOUT = "logout"
    LOGOUT_ALL = "logout_all"
    REFRESH_REUSE = "refresh_reuse"
    IDENTITY_LINKED = "identity_linked"
    KEY_ADDED = "key_added"
    KEY_REMOVED = "key_removed"
    TOKEN_CREATED = "token_created"
    TOKEN_REVOKED = "token_revoked"
    PROFILE_UPDATED = "profile_updated"
    PLAN_CHANGED = "plan_changed"
    CREDITS_ADJUSTED = "credits_adjusted"


def record(
    session: Session,
    user_id: uuid.UUID | None,
    action: AuditAction | str,
    ip: str | None = None,
    user_agent: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit event to the session (the caller commits)."""
    event = AuditEvent(
        user_id=user_id,
        action=str(action),
        ip=(ip or None) and ip[:MAX_IP],
        user_agent=(user_agent or None) and user_agent[:MAX_USER_AGENT],
        details=dict(details or {}),
    )
    session.add(event)
    return event


def events_for(
    session: Session, user_id: uuid.UUID, *, limit: int = 50, offset: int = 0
) -> list[AuditEvent]:
    """A user's own events, newest first."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.user_id == user_id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(session.scalars(query))
