"""Celery tasks: thin wrappers that claim a job, call ``engine``, record the outcome.

``generate`` never holds a database connection while the pipeline runs: it
claims in one short transaction, runs the pipeline with a lease heartbeat, and
records the result in another.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from celery.exceptions import SoftTimeLimitExceeded
from kombu.exceptions import OperationalError
from sqlalchemy.orm import Session

from engine import jobs
from engine.accounts.admission import may_start
from engine.accounts.api_keys import VaultKeySource
from engine.accounts.credits import capture_credits, refund_credits
from engine.db import (
    Job,
    JobStatus,
    Strategy,
    StrategyVersion,
    VersionSource,
    get_sessionmaker,
    session_scope,
)
from engine.errors import JobFailed, PineForgeError
from engine.logging import get_logger, log_context
from engine.providers.registry import OWN_KEY_SUFFIX
from engine.settings import get_settings
from workers.celery_app import app
from workers.config import GENERATE_TASK, SWEEP_TASK
from workers.heartbeat import LeaseHeartbeat

log = get_logger(__name__)

#: The pipeline ``generate`` calls. None means ``engine.pipeline.run_generation``,
#: imported on first use; tests assign a stand-in here.
PIPELINE: Callable[..., Any] | None = None

# Celery fixes time limits when the task is declared, so they come from the
# settings of the importing process.
_settings = get_settings()


#: Seconds a job waits before asking again when its user runs all their slots.
SLOT_WAIT_SECONDS = 2.0

_WAIT = object()


class _JobAbandoned(Exception):
    """Raised into the pipeline when this worker no longer owns the job."""


@dataclass(frozen=True)
class _Claim:
    job_id: uuid.UUID
    user_id: uuid.UUID
    attempt: int
    request: str
    options: dict[str, Any]


def _pipeline() -> Callable[..., Any]:
    if PIPELINE is not None:
        return PIPELINE
    from engine.pipeline import run_generation

    return run_generation


_redis_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    """One client per process: the result cache and provider cooldowns use it."""
    global _redis_client
    if _redis_client is None:
        _redis_client = redis.Redis.from_url(get_settings().redis_url)
    return _redis_client


def _pipeline_context(claim: _Claim) -> dict[str, Any]:
    return {
        "user_id": str(claim.user_id),
        "key_source": VaultKeySource(get_sessionmaker()),
        "redis": _redis(),
    }


@app.task(
    name=GENERATE_TASK,
    soft_time_limit=_settings.job_deadline_seconds,
    time_limit=_settings.job_deadline_seconds + _settings.job_lease_seconds,
)
def generate(job_id: str) -> None:
    """Run the generation pipeline for one job, exactly once."""
    job_uuid = uuid.UUID(str(job_id))
    with log_context(job_id=str(job_uuid)):
        claim = _claim(job_uuid)
        if claim is _WAIT:
            # The message is acknowledged once this returns; a fresh one with
            # a countdown takes its place, and the sweeper covers a lost send.
            generate.apply_async(args=[str(job_uuid)], countdown=SLOT_WAIT_SECONDS)
            return
        if claim is not None:
            with log_context(user_id=str(claim.user_id)):
                _run(claim)


def _claim(job_id: uuid.UUID) -> _Claim | object | None:
    with session_scope() as session:
        waiting = session.get(Job, job_id)
        queued = waiting is not None and waiting.status == JobStatus.QUEUED
        if queued and not may_start(session, waiting.user_id, job_id):
            log.info("job_waits_for_slot")
            return _WAIT
        job = jobs.claim_job(session, job_id)
        if job is None:
            log.info("job_not_claimed", reason=_unclaimable_reason(session, job_id))
            return None
        claim = _Claim(job.id, job.user_id, job.attempts, job.request, job.options)
    log.info("job_claimed", attempt=claim.attempt)
    return claim


def _unclaimable_reason(session: Session, job_id: uuid.UUID) -> str:
    job = session.get(Job, job_id)
    if job is None:
        return "missing"
    if job.finished:
        return f"already {job.status}"
    if job.attempts >= get_settings().job_max_attempts:
        return "no attempts left"
    return "running elsewhere"


def _run(claim: _Claim) -> None:
    interval = max(0.2, get_settings().job_lease_seconds / 3)
    started = time.monotonic()
    with LeaseHeartbeat(claim.job_id, claim.attempt, interval) as heartbeat:
        on_stage = _stage_recorder(claim, heartbeat)
        try:
            outcome = _pipeline()(
                claim.request,
                claim.options,
                on_stage=on_stage,
                **_pipeline_context(claim),
            )
        except _JobAbandoned:
            log.info("job_abandoned", attempt=claim.attempt)
            return
        except SoftTimeLimitExceeded:
            _record_failure(claim, JobFailed("JOB_TIMEOUT"))
            return
        except PineForgeError as error:
            _record_failure(claim, error)
            return
        except Exception:
            _record_failure(claim, PineForgeError())
            raise

        try:
            _record_success(claim, outcome, time.monotonic() - started)
        except Exception:
            # An outcome we cannot store must not bounce between workers until
            # its attempts run out.
            _record_failure(claim, PineForgeError())
            raise


def _stage_recorder(
    claim: _Claim, heartbeat: LeaseHeartbeat
) -> Callable[[str, int], None]:
    def on_stage(stage: str, progress: int) -> None:
        if heartbeat.lost:
            raise _JobAbandoned
        with session_scope() as session:
            owned = jobs.set_stage(
                session, claim.job_id, stage, progress, attempt=claim.attempt
            )
        if not owned:
            raise _JobAbandoned
        log.info("job_stage", stage=stage, progress=progress)

    return on_stage


def _record_success(claim: _Claim, outcome: Any, duration: float) -> None:
    with session_scope() as session:
        strategy = Strategy(
            user_id=claim.user_id,
            name=outcome.name,
            description=outcome.description or "",
            current_version=1,
        )
        version = StrategyVersion(
            number=1,
            spec=outcome.spec,
            code=outcome.code,
            prompt_version=outcome.prompt_version,
            provider=outcome.provider,
            model=outcome.model,
            source=VersionSource.GENERATE,
        )
        strategy.versions.append(version)
        session.add(strategy)
        session.flush()

        completed = jobs.complete_job(
            session,
            claim.job_id,
            strategy_id=strategy.id,
            version_id=version.id,
            prompt_version=outcome.prompt_version,
            provider=outcome.provider,
            model=outcome.model,
            accounting=outcome.accounting,
            attempt=claim.attempt,
        )
        if completed:
            capture_credits(session, claim.job_id, own_key=_free_of_charge(outcome))
        else:
            # Someone else finished or cancelled the job: keep no orphan strategy.
            session.rollback()

    if completed:
        log.info(
            "job_succeeded",
            attempt=claim.attempt,
            provider=outcome.provider,
            duration=round(duration, 3),
        )
    else:
        log.info("job_result_discarded", attempt=claim.attempt)


def _free_of_charge(outcome: Any) -> bool:
    """Jobs served by the user's own key or from the result cache cost nothing."""
    accounting = getattr(outcome, "accounting", None) or {}
    own_key = (outcome.provider or "").endswith(OWN_KEY_SUFFIX)
    return own_key or bool(accounting.get("cached"))


def _record_failure(claim: _Claim, error: PineForgeError) -> None:
    with session_scope() as session:
        recorded = jobs.fail_job(
            session,
            claim.job_id,
            error.code,
            error.message,
            error.details,
            attempt=claim.attempt,
        )
        if recorded:
            refund_credits(session, claim.job_id)
    if error.code == "INTERNAL_ERROR":
        # The traceback follows in Celery's own task-failure line.
        log.error("job_failed", code=error.code, recorded=recorded)
    else:
        log.warning("job_failed", code=error.code, recorded=recorded)


@app.task(name=SWEEP_TASK)
def sweep_jobs() -> None:
    """Periodic repair of lost and stuck jobs (see ``engine.jobs.sweep_jobs``)."""
    run_sweep()


def run_sweep() -> jobs.SweepResult:
    """Sweep once, commit, then send every job that needs it back to the broker."""
    with session_scope() as session:
        result = jobs.sweep_jobs(session)
        for job_id in (*result.lost, *result.timed_out):
            refund_credits(session, job_id)

    for job_id in result.lost:
        log.warning("job_failed", job_id=str(job_id), code="WORKER_LOST")
    for job_id in result.timed_out:
        log.warning("job_failed", job_id=str(job_id), code="JOB_TIMEOUT")
    # Limitation: behind a long backlog a job still waiting its turn gets one
    # more message per stale period; the guarded claim turns extras into no-ops,
    # but they do occupy the queue until a worker drains them.
    for job_id in result.requeue:
        log.info("job_requeued", job_id=str(job_id))
        enqueue_generation(job_id)
    return result


def enqueue_generation(job_id: uuid.UUID | str, priority: int | None = None) -> bool:
    """Send the ``generate`` message for a committed job.

    Call it only after the transaction that inserted the job has committed.
    ``priority`` is the plan's queue priority (0 is served first, 9 last).
    Returns False when the broker is unreachable: the job stays queued and the
    sweeper sends it again once the broker is back.
    """
    try:
        generate.apply_async(args=[str(job_id)], priority=priority)
    except (OperationalError, redis.RedisError, OSError) as exc:
        log.warning("enqueue_failed", job_id=str(job_id), error=type(exc).__name__)
        return False
    return True
