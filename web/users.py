"""``/api/v1/users``: your profile, your credits and your audit trail.

Every route here reads or changes only the signed-in user's own rows, found
by ``current_user().id``; there is no route that takes another user's id.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.accounts.audit import AuditAction, events_for, record
from engine.accounts.credits import balance_of, grant_monthly_credits, ledger_page
from engine.accounts.plans import get_plan
from engine.db import User
from engine.db.accounts_models import UserProfile
from engine.errors import Conflict, InvalidRequest
from web.accounts_schemas import (
    AuditPage,
    Credits,
    PageQuery,
    Profile,
    ProfilePatch,
)
from web.auth import current_user, require_user
from web.db import db_session
from web.operations import operation
from web.security import client_agent, client_ip

bp = Blueprint("users", __name__, url_prefix="/api/v1/users")


def profile_body(session: Session, user: User) -> dict[str, Any]:
    """The JSON profile of ``user``."""
    extra = session.get(UserProfile, user.id)
    return Profile(
        id=str(user.id),
        email=user.email,
        handle=user.handle,
        display_name=user.display_name,
        bio=extra.bio if extra else None,
        avatar_url=extra.avatar_url if extra else None,
        plan=user.plan,
        role=user.role,
        created_at=user.created_at,
    ).model_dump(mode="json")


def _next_url(endpoint: str, query: PageQuery, has_more: bool) -> str | None:
    if not has_more:
        return None
    return url_for(endpoint, limit=query.limit, offset=query.offset + query.limit)


@bp.get("/profile")
@require_user
@operation("Read your profile", tag="users", responses={200: Profile})
def get_profile():
    return jsonify(profile_body(db_session(), current_user()))


@bp.patch("/profile")
@require_user
@operation(
    "Change your handle, display name, bio or avatar URL",
    tag="users",
    body=ProfilePatch,
    responses={200: Profile},
    errors=(409,),
)
def patch_profile(body: ProfilePatch):
    changes = body.model_dump(mode="json", exclude_unset=True)
    if not changes:
        raise InvalidRequest(message="Send at least one field to change.")
    session = db_session()
    user = current_user()
    if "handle" in changes and changes["handle"] is not None:
        taken = session.scalar(
            select(User.id).where(User.handle == changes["handle"], User.id != user.id)
        )
        if taken is not None:
            raise Conflict(code="HANDLE_TAKEN", message="That handle is taken.")

    extra = session.get(UserProfile, user.id) or UserProfile(user_id=user.id)
    session.add(extra)
    for field, value in changes.items():
        target = user if field in ("handle", "display_name") else extra
        setattr(target, field, value)
    record(
        session,
        user.id,
        AuditAction.PROFILE_UPDATED,
        client_ip(),
        client_agent(),
        {"fields": sorted(changes)},
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(code="HANDLE_TAKEN", message="That handle is taken.") from None
    return jsonify(profile_body(session, user))


@bp.get("/credits")
@require_user
@operation(
    "Your credit balance and ledger, newest first",
    tag="users",
    query=PageQuery,
    responses={200: Credits},
)
def get_credits(query: PageQuery):
    session = db_session()
    user = current_user()
    # A new period shows its allowance at once, not at the first submission.
    if grant_monthly_credits(session, user) is not None:
        session.commit()
    entries = ledger_page(session, user.id, limit=query.limit + 1, offset=query.offset)
    plan = get_plan(user.plan)
    items = [
        {
            "id": str(entry.id),
            "kind": entry.kind,
            "amount": entry.amount,
            "delta": entry.delta,
            "balance_after": entry.balance_after,
            "job_id": str(entry.job_id) if entry.job_id else None,
            "period": entry.period,
            "reason": entry.reason,
            "created_at": entry.created_at,
        }
        for entry in entries[: query.limit]
    ]
    body = Credits(
        balance=balance_of(session, user.id),
        plan=plan.name,
        monthly_credits=plan.monthly_credits,
        items=items,
        limit=query.limit,
        offset=query.offset,
        next=_next_url("users.get_credits", query, len(entries) > query.limit),
    )
    return jsonify(body.model_dump(mode="json"))


@bp.get("/audit")
@require_user
@operation(
    "Your own audit trail: sign-ins, key and token changes, credit adjustments",
    tag="users",
    query=PageQuery,
    responses={200: AuditPage},
)
def get_audit(query: PageQuery):
    session = db_session()
    events = events_for(
        session, current_user().id, limit=query.limit + 1, offset=query.offset
    )
    items = [
        {
            "id": str(event.id),
            "action": event.action,
            "ip": event.ip,
            "user_agent": event.user_agent,
            "details": event.details,
            "created_at": event.created_at,
        }
        for event in events[: query.limit]
    ]
    body = AuditPage(
        items=items,
        limit=query.limit,
        offset=query.offset,
        next=_next_url("users.get_audit", query, len(events) > query.limit),
    )
    return jsonify(body.model_dump(mode="json"))
