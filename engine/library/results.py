"""Storing what a generation or refinement job produced, exactly once.

The new strategy (generate) or new version (refine) is written in the same
transaction as the guarded UPDATE that marks the job succeeded. When that
UPDATE finds the job already finished or cancelled, or claimed by a later
attempt, the rows are rolled back to a savepoint: no orphan strategy, and no
second version from a redelivered message.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import jobs
from engine.accounts.credits import capture_credits
from engine.db.models import Job, Strategy, StrategyVersion, VersionSource
from engine.errors import NotFound
from engine.library.strategies import NewVersion, append_version, create_strategy


@dataclass(frozen=True)
class JobTarget:
    """Which job an outcome belongs to, and where a refinement goes."""

    job_id: uuid.UUID
    attempt: int
    user_id: uuid.UUID
    kind: str
    strategy_id: uuid.UUID | None = None
    base_version: int | None = None


def base_spec(session: Session, job: Job) -> dict[str, Any] | None:
    """The spec a refinement job starts from (None for other jobs, or if gone)."""
    if job.kind != "refine" or job.strategy_id is None or job.base_version is None:
        return None
    spec = session.scalar(
        select(StrategyVersion.spec).where(
            StrategyVersion.strategy_id == job.strategy_id,
            StrategyVersion.number == job.base_version,
        )
    )
    return dict(spec) if spec is not None else None


def record_outcome(
    session: Session, target: JobTarget, outcome: Any, *, free_of_charge: bool
) -> bool:
    """Store ``outcome`` (a GenerationOutcome) and mark the job succeeded.

    Returns False, having written nothing, when the job was no longer ours to
    finish. Raises NotFound (STRATEGY_NOT_FOUND) when the strategy being
    refined was deleted meanwhile; the caller fails the job with it.
    """
    savepoint = session.begin_nested()
    source = VersionSource.REFINE if target.kind == "refine" else VersionSource.GENERATE
    new = NewVersion(
        spec=outcome.spec,
        code=outcome.code,
        source=source,
        prompt_version=outcome.prompt_version,
        provider=outcome.provider,
        model=outcome.model,
        parent_number=target.base_version,
    )
    if target.kind == "refine":
        strategy = _live_strategy(session, target)
        version = append_version(session, strategy, new)
    else:
        strategy, version = create_strategy(
            session,
            target.user_id,
            new,
            name=outcome.name,
            description=outcome.description or "",
        )

    completed = jobs.complete_job(
        session,
        target.job_id,
        strategy_id=strategy.id,
        version_id=version.id,
        prompt_version=outcome.prompt_version,
        provider=outcome.provider,
        model=outcome.model,
        accounting=outcome.accounting,
        attempt=target.attempt,
    )
    if not completed:
        savepoint.rollback()
        return False
    savepoint.commit()
    capture_credits(session, target.job_id, own_key=free_of_charge)
    return True


def _live_strategy(session: Session, target: JobTarget) -> Strategy:
    strategy = session.get(Strategy, target.strategy_id) if target.strategy_id else None
    if (
        strategy is None
        or strategy.user_id != target.user_id
        or strategy.deleted_at is not None
    ):
        raise NotFound(
            code="STRATEGY_NOT_FOUND",
            message="The strategy was deleted while it was being refined.",
        )
    return strategy
