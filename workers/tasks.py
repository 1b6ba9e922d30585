"""Celery tasks: thin wrappers that claim a job, call ``engine``, record the outcome.

``generate`` never holds a database connection while the pipeline runs: it
claims in one short transaction, runs the pipeline with a lease heartbeat, and
records the result in another.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from celery.exceptions import SoftTimeLimitExceeded
from kombu.exceptions import OperationalError
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import jobs
from engine.accounts.admission import lock_job_owner
from engine.accounts.api_keys import VaultKeySource
from engine.accounts.credits import capture_credits, refund_credits
from engine.accounts.plans import get_plan
from engine.catalog import extra_indicators
from engine.db import Job, JobStatus, get_sessionmaker, session_scope
from engine.errors import JobFailed, NotFound, PineForgeError
from engine.library.catalog_store import CatalogStore
from engine.library.results import JobTarget, base_spec, record_outcome
from engine.library.trending import record_spec_use
from engine.logging import get_logger, log_context
from engine.pipeline import opening_stage, run_generation, run_refinement
from engine.providers.keys import NoUserKeys
from engine.providers.registry import OWN_KEY_SUFFIX
from engine.settings import get_settings
from workers.celery_app import app
from workers.config import GENERATE_TASK, SWEEP_TASK
from workers.heartbeat import LeaseHeartbeat
from workers.library_tasks import enqueue_export, enqueue_result_email

log = get_logger(__name__)

# Celery fixes time limits when the task is declared, so they come from the
# settings of the importing process.
# Limitation: a threads pool enforces neither limit. There the sweeper fails a
# job past its deadline (JOB_TIMEOUT), its heartbeat then sees the lease lost,
# and the pipeline's own LLM deadline bounds how long the thread stays busy.
_settings = get_settings()


#: Seconds a job waits before asking again when its user runs all their slots.
SLOT_WAIT_SECONDS = 2.0

_WAIT = object()

#: Failures the request itself caused after models were called (the answers were
#: paid for); these keep their credits, so the platform's model budget cannot be
#: spent for free. Every other failure is refunded.
CHARGED_FAILURES = frozenset({"SPEC_INVALID"})

#: Stages logged but not written to the job row: validation follows rendering
#: within milliseconds (its reports are cached) and the result write follows
#: it, so the row goes from ``rendering`` to ``done`` in one write fewer.
UNRECORDED_STAGES = frozenset({"validating"})

#: Job kinds the ``generate`` task runs; exports have a task of their own.
PIPELINE_KINDS = ("generate", "refine")


class _JobAbandoned(Exception):
    """Raised into the pipeline when this worker no longer owns the job."""


@dataclass(frozen=True)
class _Claim:
    #: The stage recorded with the claim.
    stage: tuple[str, int]
    job_id: uuid.UUID
    user_id: uuid.UUID
    attempt: int
    request: str
    options: dict[str, Any]
    kind: str = "generate"
    strategy_id: uuid.UUID | None = None
    base_version: int | None = None
    #: The spec a refinement starts from.
    current_spec: dict[str, Any] | None = None
    #: Whether the user had stored keys when the job was claimed.
    has_own_keys: bool = True


_redis_client: redis.Redis | None = None
_redis_lock = threading.Lock()


def _redis() -> redis.Redis:
    """One client per process: the result cache and provider cooldowns use it.

    Its connection pool is shared by every thread of a threads worker.
    """
    global _redis_client
    with _redis_lock:
        if _redis_client is None:
            _redis_client = redis.Redis.from_url(get_settings().redis_url)
        return _redis_client


def _pipeline_context(claim: _Claim) -> dict[str, Any]:
    # Without stored keys there is nothing to open: no vault transaction.
    keys = VaultKeySource(get_sessionmaker()) if claim.has_own_keys else NoUserKeys()
    return {
        "user_id": str(claim.user_id),
        "key_source": keys,
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
        waiting = lock_job_owner(session, job_id)
        if waiting is None:
            log.info("job_not_claimed", reason="missing")
            return None
        if waiting.kind not in PIPELINE_KINDS:
            log.warning("job_of_other_kind", kind=waiting.kind)
            return None
        queued = waiting.status == JobStatus.QUEUED
        if not queued:
            # A job whose worker died keeps the slot it had, so its owner's
            # lock is let go at once: a worker still finishing the job takes
            # the job row first and the lock second, and must not deadlock
            # with a claim holding them the other way round.
            session.rollback()
        # A queued job starts only in a free slot of its user's plan. The
        # stage the job will spend its time in goes in with the claim.
        limit = get_plan(waiting.plan).jobs_at_once if queued else None
        stage = opening_stage(bool(waiting.own_keys), _redis())
        job = jobs.claim_job(session, job_id, stage=stage, running_below=limit)
        if job is None:
            reason = _unclaimable_reason(session, job_id)
            if reason == NO_FREE_SLOT:
                # The owner's lock still holds, so nothing else changed the
                # job: ask again a little later.
                log.info("job_waits_for_slot")
                return _WAIT
            log.info("job_not_claimed", reason=reason)
            return None
        claim = _Claim(
            stage,
            job.id,
            job.user_id,
            job.attempts,
            job.request,
            job.options,
            kind=job.kind,
            strategy_id=job.strategy_id,
            base_version=job.base_version,
            current_spec=base_spec(session, job),
            has_own_keys=waiting.own_keys,
        )
    log.info("job_claimed", attempt=claim.attempt, kind=claim.kind)
    return claim


#: Why a job with attempts left, still queued, was not claimed.
NO_FREE_SLOT = "no free slot"


def _unclaimable_reason(session: Session, job_id: uuid.UUID) -> str:
    job = session.get(Job, job_id)
    if job is None:
        return "missing"
    if job.finished:
        return f"already {job.status}"
    if job.attempts >= get_settings().job_max_attempts:
        return "no attempts left"
    if job.status == JobStatus.QUEUED:
        return NO_FREE_SLOT
    return "running elsewhere"


def _run(claim: _Claim) -> None:
    interval = max(0.2, get_settings().job_lease_seconds / 3)
    started = time.monotonic()
    with LeaseHeartbeat(claim.job_id, claim.attempt, interval) as heartbeat:
        on_stage = _stage_recorder(claim, heartbeat)
        try:
            outcome = _call_pipeline(claim, on_stage)
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
        except PineForgeError as error:
            _record_failure(claim, error)
            return
        except Exception:
            # An outcome we cannot store must not bounce between workers until
            # its attempts run out.
            _record_failure(claim, PineForgeError())
            raise


def _call_pipeline(claim: _Claim, on_stage: Callable[[str, int], None]) -> Any:
    context = _pipeline_context(claim)
    if claim.kind != "refine":
        return run_generation(
            claim.request, claim.options, on_stage=on_stage, **context
        )
    if claim.current_spec is None:
        raise NotFound(
            code="STRATEGY_NOT_FOUND",
            message="The strategy version to refine no longer exists.",
        )
    # A refinement may keep using the user's own indicators (and built-ins as
    # admins tuned them), so the spec is checked and rendered in that catalog.
    with extra_indicators(_user_catalog(claim.user_id)):
        return run_refinement(
            claim.request,
            claim.current_spec,
            claim.options,
            on_stage=on_stage,
            **context,
        )


def _user_catalog(user_id: uuid.UUID) -> list:
    store = CatalogStore(_redis(), get_settings().broker_key_prefix)
    with session_scope() as session:
        return store.definitions(session, user_id)


def _stage_recorder(
    claim: _Claim, heartbeat: LeaseHeartbeat
) -> Callable[[str, int], None]:
    recorded = [claim.stage]  # written by the claim

    def on_stage(stage: str, progress: int) -> None:
        if heartbeat.lost:
            raise _JobAbandoned
        # Stages come in order of progress: one the claim already passed (or
        # recorded) is not written again.
        if stage not in UNRECORDED_STAGES and progress > recorded[-1][1]:
            with session_scope() as session:
                owned = jobs.set_stage(
                    session, claim.job_id, stage, progress, attempt=claim.attempt
                )
            if not owned:
                raise _JobAbandoned
            recorded.append((stage, progress))
        # The job row carries the stage; the log keeps it only at DEBUG.
        log.debug("job_stage", stage=stage, progress=progress)

    return on_stage


def _record_success(claim: _Claim, outcome: Any, duration: float) -> None:
    target = JobTarget(
        job_id=claim.job_id,
        attempt=claim.attempt,
        user_id=claim.user_id,
        kind=claim.kind,
        strategy_id=claim.strategy_id,
        base_version=claim.base_version,
    )
    with session_scope() as session:
        completed = record_outcome(
            session, target, outcome, free_of_charge=_free_of_charge(outcome)
        )

    if not completed:
        log.info("job_result_discarded", attempt=claim.attempt)
        return
    log.info(
        "job_succeeded",
        attempt=claim.attempt,
        provider=outcome.provider,
        duration=round(duration, 3),
    )
    record_spec_use(_redis(), outcome.spec)  # trending indicators; never raises
    if ((claim.options or {}).get("deliver") or {}).get("email"):
        enqueue_result_email(claim.job_id)


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
        if recorded and error.code in CHARGED_FAILURES:
            capture_credits(session, claim.job_id)
        elif recorded:
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
    kinds = _kinds(result.requeue)
    for job_id in result.requeue:
        log.info("job_requeued", job_id=str(job_id))
        if kinds.get(job_id) == "export":
            enqueue_export(job_id)
        else:
            enqueue_generation(job_id)
    return result


def _kinds(job_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not job_ids:
        return {}
    with session_scope() as session:
        rows = session.execute(select(Job.id, Job.kind).where(Job.id.in_(job_ids)))
        return {job_id: kind for job_id, kind in rows}


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
