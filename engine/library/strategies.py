"""Keeping strategies: create, add versions, soft delete, restore and purge.

A strategy's versions are numbered 1, 2, 3... and never change once written;
every edit, refinement or revert appends one and makes it current. Numbering
takes a lock on the strategy row, so two writers cannot claim one number (and
the unique constraint would refuse it if they did).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from engine.db.base import utcnow
from engine.db.models import (
    Strategy,
    StrategyIndicator,
    StrategyVersion,
    VersionSource,
)
from engine.errors import Gone, NotFound, RenderInvalid, SpecInvalid
from engine.render import render_strategy
from engine.spec import StrategySpec, parse_spec, spec_to_data
from engine.validate import validate_script

#: A deleted strategy can be restored for this long, then it is purged.
RESTORE_WINDOW = timedelta(days=30)
MAX_SPEC_ERRORS = 20


@dataclass(frozen=True)
class NewVersion:
    """What a new version is made of; numbering and timestamps come later."""

    spec: dict[str, Any]
    code: str
    source: str
    prompt_version: str | None = None
    provider: str | None = None
    model: str | None = None
    parent_number: int | None = None


def spec_errors(error: ValidationError) -> list[dict[str, str]]:
    """One entry per problem in a spec: its dotted path, message and type."""
    return [
        {
            "field": ".".join(str(part) for part in item["loc"]),
            "message": item["msg"],
            "type": item["type"],
        }
        for item in error.errors(include_url=False, include_input=False)[
            :MAX_SPEC_ERRORS
        ]
    ]


def validated_spec(data: Any) -> StrategySpec:
    """Validate spec data, raising SpecInvalid with one entry per problem."""
    try:
        return parse_spec(data)
    except ValidationError as exc:
        raise SpecInvalid(details={"errors": spec_errors(exc)}) from None


def render_checked(spec: StrategySpec) -> str:
    """Render a spec and run the validator; a failing script is RenderInvalid."""
    code = render_strategy(spec)
    report = validate_script(code)
    if not report.ok:
        raise RenderInvalid(details={"report": report.to_dict()})
    return code


def manual_version(
    data: Any,
    source: str = VersionSource.MANUAL,
    parent_number: int | None = None,
) -> NewVersion:
    """A version made without an LLM from spec data: validated and rendered."""
    spec = validated_spec(data)
    return NewVersion(
        spec=spec_to_data(spec),
        code=render_checked(spec),
        source=source,
        parent_number=parent_number,
    )


def indicator_kinds(spec: dict[str, Any]) -> list[str]:
    """The distinct indicator kinds a spec uses, sorted."""
    uses = spec.get("indicators") or []
    return sorted({use["kind"] for use in uses if isinstance(use.get("kind"), str)})


def create_strategy(
    session: Session,
    user_id: uuid.UUID,
    first: NewVersion,
    *,
    name: str | None = None,
    description: str | None = None,
) -> tuple[Strategy, StrategyVersion]:
    """Insert a strategy whose version 1 is ``first``; flushes, never commits.

    The name and description default to the spec's own.
    """
    if description is None:
        description = first.spec.get("description") or ""
    strategy = Strategy(
        user_id=user_id,
        name=name or first.spec.get("name") or "Strategy",
        description=description,
        current_version=1,
    )
    session.add(strategy)
    session.flush()
    version = _insert_version(session, strategy.id, 1, first)
    _index_indicators(session, strategy.id, first.spec, replace=False)
    return strategy, version


def append_version(
    session: Session, strategy: Strategy, new: NewVersion
) -> StrategyVersion:
    """Add the next version of ``strategy`` and make it current; flushes."""
    # The row lock serialises writers on PostgreSQL; SQLite transactions
    # already start with the write lock (BEGIN IMMEDIATE).
    session.execute(
        select(Strategy.id).where(Strategy.id == strategy.id).with_for_update()
    )
    latest = session.scalar(
        select(func.max(StrategyVersion.number)).where(
            StrategyVersion.strategy_id == strategy.id
        )
    )
    version = _insert_version(session, strategy.id, (latest or 0) + 1, new)
    strategy.current_version = version.number
    strategy.updated_at = utcnow()
    _index_indicators(session, strategy.id, new.spec, replace=True)
    session.flush()
    return version


def _insert_version(
    session: Session, strategy_id: uuid.UUID, number: int, new: NewVersion
) -> StrategyVersion:
    version = StrategyVersion(
        strategy_id=strategy_id,
        number=number,
        spec=new.spec,
        code=new.code,
        source=new.source,
        prompt_version=new.prompt_version,
        provider=new.provider,
        model=new.model,
        parent_number=new.parent_number,
    )
    session.add(version)
    session.flush()
    return version


def _index_indicators(
    session: Session, strategy_id: uuid.UUID, spec: dict[str, Any], *, replace: bool
) -> None:
    # Rows are written in SQL so a loaded (view-only) collection never
    # collides with them; it is expired instead.
    if replace:
        session.execute(
            delete(StrategyIndicator).where(
                StrategyIndicator.strategy_id == strategy_id
            )
        )
    rows = [
        {"strategy_id": strategy_id, "kind": kind} for kind in indicator_kinds(spec)
    ]
    if rows:
        session.execute(insert(StrategyIndicator), rows)
    strategy = session.get(Strategy, strategy_id)
    if strategy is not None:
        session.expire(strategy, ["indicators"])


def soft_delete(strategy: Strategy, now: datetime | None = None) -> None:
    """Hide a strategy; it can be restored within :data:`RESTORE_WINDOW`."""
    if strategy.deleted_at is None:
        strategy.deleted_at = now or utcnow()


def restore_strategy(
    session: Session,
    user_id: uuid.UUID,
    strategy_id: uuid.UUID,
    now: datetime | None = None,
) -> Strategy:
    """Bring back the user's deleted strategy; a live one is returned as is.

    Raises NotFound (unknown, someone else's, or purged) or Gone with code
    RESTORE_EXPIRED once the restore window has passed.
    """
    strategy = session.scalar(
        select(Strategy).where(Strategy.id == strategy_id, Strategy.user_id == user_id)
    )
    if strategy is None:
        raise NotFound(message="Strategy not found.")
    if strategy.deleted_at is None:
        return strategy
    now = now or utcnow()
    if now - strategy.deleted_at > RESTORE_WINDOW:
        raise Gone(
            code="RESTORE_EXPIRED",
            message="This strategy was deleted more than 30 days ago.",
            details={"deleted_at": strategy.deleted_at.isoformat()},
        )
    strategy.deleted_at = None
    strategy.updated_at = now
    session.flush()
    return strategy


def purge_deleted(
    session: Session, now: datetime | None = None, limit: int = 500
) -> int:
    """Delete up to ``limit`` strategies deleted longer ago than the window.

    Their versions and indicator rows go with them (ON DELETE CASCADE); jobs
    keep their rows with the links set to NULL. Returns how many went.
    """
    cutoff = (now or utcnow()) - RESTORE_WINDOW
    expired = (
        select(Strategy.id)
        .where(Strategy.deleted_at.is_not(None), Strategy.deleted_at < cutoff)
        .limit(limit)
    )
    ids = list(session.scalars(expired))
    if not ids:
        return 0
    session.execute(
        delete(Strategy).where(Strategy.id.in_(ids)),
        execution_options={"synchronize_session": False},
    )
    return len(ids)
