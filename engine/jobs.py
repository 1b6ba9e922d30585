"""The job state machine: queued -> running -> succeeded | failed | cancelled.

Every transition is one guarded UPDATE whose row count says whether it happened,
so workers, redelivered messages and the sweeper can race without a job running
or finishing twice. Functions take the caller's session and never commit.

A claim hands out a numbered attempt. Passing that ``attempt`` back to the
later calls fences a worker that lost its lease: its heartbeat, stages and
result are refused once another worker has claimed the job.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    and_,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.db.base import UTCDateTime, utcnow
from engine.db.models import Job, JobStatus
from engine.errors import JobFailed, PineForgeError
from engine.settings import Settings, get_settings


@dataclass(frozen=True)
class SweepResult:
    """What one sweep changed; ``requeue`` lists jobs to send to the broker."""

    requeue: list[uuid.UUID] = field(default_factory=list)
    lost: list[uuid.UUID] = field(default_factory=list)
    timed_out: list[uuid.UUID] = field(default_factory=list)


def create_job(
    session: Session,
    user_id: uuid.UUID,
    request: str,
    options: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
    kind: str = "generate",
) -> tuple[Job, bool]:
    """Insert a queued job, or return the user's job with the same key.

    Returns ``(job, created)``. A concurrent insert with the same key loses on
    the unique constraint inside a savepoint and returns the winner's job.
    """
    if idempotency_key is not None:
        existing = _find_by_key(session, user_id, idempotency_key)
        if existing is not None:
            return existing, False

    job = Job(
        user_id=user_id,
        kind=kind,
        request=request,
        options=dict(options or {}),
        idempotency_key=idempotency_key,
    )
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:
        if idempotency_key is None:
            raise
        existing = _find_by_key(session, user_id, idempotency_key)
        if existing is None:
            raise
        return existing, False
    return job, True


def _find_by_key(session: Session, user_id: uuid.UUID, key: str) -> Job | None:
    query = select(Job).where(Job.user_id == user_id, Job.idempotency_key == key)
    return session.scalars(query).one_or_none()


def claim_job(
    session: Session,
    job_id: uuid.UUID,
    now: datetime | None = None,
    settings: Settings | None = None,
    stage: tuple[str, int] | None = None,
    running_below: int | None = None,
) -> Row | None:
    """Move a job to running for one attempt, or return None if not claimable.

    Claimable means queued, or running with an expired lease (its worker
    died), and with attempts left. The claimed row comes back with the job's
    columns as attributes, ``attempts`` being the new attempt number; like
    every transition here it is written in SQL only, so a ``Job`` the session
    loaded before is stale until refreshed. ``stage`` (name, progress) is
    recorded in the same UPDATE, as :func:`set_stage` would. With
    ``running_below``, the job is claimable only while its user runs fewer
    other jobs than that (expired leases aside); the caller holds the lock
    that serialises the user's claims.
    """
    settings = settings or get_settings()
    now = _utc(now)
    params: dict[str, Any] = {
        "job_id": job_id,
        "max_attempts": settings.job_max_attempts,
        "now": now,
        "lease": now + timedelta(seconds=settings.job_lease_seconds),
        "deadline": now + timedelta(seconds=settings.job_deadline_seconds),
    }
    if stage is not None:
        params["stage"] = stage[0]
        params["progress"] = max(0, min(100, int(stage[1])))
    if running_below is not None:
        params["running_below"] = running_below
    statement = _claim_statement(stage is not None, running_below is not None)
    # RETURNING hands back the claimed row in the same round trip.
    return session.execute(statement, params).one_or_none()


@cache
def _claim_statement(with_stage: bool, with_limit: bool) -> Any:
    # Every claim runs one of these four; built once, with every value bound,
    # they are neither rebuilt nor re-keyed for SQLAlchemy's compiled cache.
    # On the table, not the mapped class: the ORM's bulk-update machinery costs
    # more than the statement itself, and the claim needs only the row.
    jobs = Job.__table__.c
    now = bindparam("now", type_=UTCDateTime())
    guards = [
        jobs.id == bindparam("job_id"),
        jobs.attempts < bindparam("max_attempts"),
        or_(
            jobs.status == JobStatus.QUEUED,
            and_(jobs.status == JobStatus.RUNNING, jobs.lease_expires_at < now),
        ),
    ]
    if with_limit:
        # The user's other running jobs; one whose lease ran out (its worker
        # died) holds no slot.
        other = Job.__table__.alias("other_job")
        running = (
            select(func.count())
            .select_from(other)
            .where(
                other.c.user_id == jobs.user_id,
                other.c.status == JobStatus.RUNNING,
                other.c.lease_expires_at >= now,
                other.c.id != jobs.id,
            )
            .scalar_subquery()
        )
        guards.append(running < bindparam("running_below"))
    values: dict[str, Any] = {
        "status": JobStatus.RUNNING,
        "attempts": jobs.attempts + 1,
        "lease_expires_at": bindparam("lease", type_=UTCDateTime()),
        "deadline_at": bindparam("deadline", type_=UTCDateTime()),
        "started_at": func.coalesce(jobs.started_at, now),
        "updated_at": now,
    }
    if with_stage:
        values["stage"] = bindparam("stage")
        values["progress"] = bindparam("progress")
    statement = update(Job.__table__).where(*guards).values(**values)
    return statement.returning(*Job.__table__.c)


def renew_lease(
    session: Session,
    job_id: uuid.UUID,
    attempt: int | None = None,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> bool:
    """Extend a running job's lease; False means the job is no longer ours."""
    settings = settings or get_settings()
    now = _utc(now)
    lease = now + timedelta(seconds=settings.job_lease_seconds)
    values = {"lease_expires_at": lease, "updated_at": now}
    return _update_running(session, job_id, attempt, values)


def set_stage(
    session: Session,
    job_id: uuid.UUID,
    stage: str,
    progress: int,
    attempt: int | None = None,
) -> bool:
    """Record where a running job is; progress is clamped to 0-100."""
    progress = max(0, min(100, int(progress)))
    values = {"stage": stage, "progress": progress, "updated_at": utcnow()}
    return _update_running(session, job_id, attempt, values)


def complete_job(
    session: Session,
    job_id: uuid.UUID,
    *,
    strategy_id: uuid.UUID,
    version_id: uuid.UUID,
    prompt_version: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    accounting: dict[str, Any] | None = None,
    attempt: int | None = None,
    now: datetime | None = None,
) -> bool:
    """Mark a running job succeeded; False if it had already finished."""
    now = _utc(now)
    values = {
        "status": JobStatus.SUCCEEDED,
        "stage": "done",
        "progress": 100,
        "strategy_id": strategy_id,
        "version_id": version_id,
        "prompt_version": prompt_version,
        "provider": provider,
        "model": model,
        "accounting": accounting,
        "lease_expires_at": None,
        "finished_at": now,
        "updated_at": now,
    }
    return _update_running(session, job_id, attempt, values)


def fail_job(
    session: Session,
    job_id: uuid.UUID,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    *,
    attempt: int | None = None,
    now: datetime | None = None,
) -> bool:
    """Mark a running job failed with a coded error; False if already finished."""
    values = _failure(PineForgeError(code, message, details), _utc(now))
    return _update_running(session, job_id, attempt, values)


def cancel_job(
    session: Session, job_id: uuid.UUID, now: datetime | None = None
) -> bool:
    """Cancel a queued or running job; a running worker's result is then refused."""
    now = _utc(now)
    unfinished = Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING])
    statement = (
        update(Job)
        .where(Job.id == job_id, unfinished)
        .values(
            status=JobStatus.CANCELLED,
            lease_expires_at=None,
            finished_at=now,
            updated_at=now,
        )
    )
    return _execute(session, statement).rowcount == 1


def sweep_jobs(
    session: Session, now: datetime | None = None, settings: Settings | None = None
) -> SweepResult:
    """Repair jobs whose worker or message went missing.

    Running past the deadline fails with JOB_TIMEOUT; running with an expired
    lease goes back to the queue while attempts remain, else fails with
    WORKER_LOST; queued for longer than the stale limit is re-enqueued. The
    caller sends ``requeue`` to the broker after committing.
    """
    settings = settings or get_settings()
    now = _utc(now)
    running = Job.status == JobStatus.RUNNING
    queued = Job.status == JobStatus.QUEUED
    lease_expired = and_(running, Job.lease_expires_at < now)
    has_attempts = Job.attempts < settings.job_max_attempts

    timed_out = _transition(
        session,
        and_(running, Job.deadline_at < now),
        _failure(JobFailed("JOB_TIMEOUT"), now),
    )
    lost = _transition(
        session,
        and_(~has_attempts, or_(lease_expired, queued)),
        _failure(JobFailed("WORKER_LOST"), now),
    )
    orphaned = _transition(
        session,
        and_(lease_expired, has_attempts),
        {
            "status": JobStatus.QUEUED,
            "stage": None,
            "lease_expires_at": None,
            "enqueued_at": now,
            "updated_at": now,
        },
    )
    stale_before = now - timedelta(seconds=settings.queued_stale_seconds)
    stale = _transition(
        session,
        and_(queued, Job.enqueued_at < stale_before),
        {"enqueued_at": now, "updated_at": now},
    )
    return SweepResult(requeue=orphaned + stale, lost=lost, timed_out=timed_out)


def _transition(
    session: Session, condition: ColumnElement[bool], values: dict[str, Any]
) -> list[uuid.UUID]:
    statement = update(Job).where(condition).values(values).returning(Job.id)
    return list(_execute(session, statement).scalars())


def _failure(error: PineForgeError, now: datetime) -> dict[str, Any]:
    return {
        "status": JobStatus.FAILED,
        "error_code": error.code,
        "error_message": error.message,
        "error_details": error.details,
        "lease_expires_at": None,
        "finished_at": now,
        "updated_at": now,
    }


def _update_running(
    session: Session, job_id: uuid.UUID, attempt: int | None, values: dict[str, Any]
) -> bool:
    statement = _running_update(tuple(sorted(values)), attempt is not None)
    params = {f"new_{name}": value for name, value in values.items()}
    params["job_id"] = job_id
    if attempt is not None:
        params["attempt"] = attempt
    return session.execute(statement, params).rowcount == 1


@cache
def _running_update(columns: tuple[str, ...], fenced: bool) -> Any:
    # A running job is updated several times per attempt (stages, lease,
    # outcome); each kind of update is built once with its values bound, on
    # the table rather than the mapped class (see _claim_statement).
    jobs = Job.__table__.c
    conditions = [jobs.id == bindparam("job_id"), jobs.status == JobStatus.RUNNING]
    if fenced:
        conditions.append(jobs.attempts == bindparam("attempt"))
    values = {name: bindparam(f"new_{name}") for name in columns}
    return update(Job.__table__).where(*conditions).values(values)


def _execute(session: Session, statement: Any) -> Any:
    # Rows are updated in SQL only; callers re-read what they need.
    options = {"synchronize_session": False}
    return session.execute(statement, execution_options=options)


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return utcnow()
    if now.tzinfo is None:
        raise ValueError("pass an aware datetime")
    return now.astimezone(UTC)
