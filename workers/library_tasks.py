"""Library tasks: mail a script (export jobs and finished generations), purge.

All run on the ``default`` queue. None holds a database connection while it
talks to the mail server: the message is built in one short transaction, sent,
and the outcome recorded in another.
"""

from __future__ import annotations

import uuid

import redis
from kombu.exceptions import OperationalError

from engine import jobs
from engine.db import Job, JobStatus, in_batches, session_scope
from engine.errors import DependencyUnavailable, PineForgeError
from engine.library.exports import (
    claim_delivery,
    job_version,
    release_delivery,
    script_mail_for_job,
)
from engine.library.strategies import purge_deleted
from engine.logging import get_logger, log_context
from engine.mail import build_script_message, send_message
from engine.settings import get_settings
from workers.celery_app import app
from workers.config import (
    EXPORT_EMAIL_TASK,
    PURGE_STRATEGIES_TASK,
    RESULT_EMAIL_TASK,
)

log = get_logger(__name__)

PURGE_BATCH = 200
#: Tries of a finished job's email, a minute apart, before giving up.
RESULT_EMAIL_RETRIES = 5
RESULT_EMAIL_RETRY_SECONDS = 60


def _strategy_url(strategy_id: uuid.UUID | None) -> str | None:
    if strategy_id is None:
        return None
    base = get_settings().api_url.rstrip("/")
    return f"{base}/api/v1/strategies/{strategy_id}"


@app.task(name=EXPORT_EMAIL_TASK)
def export_email(job_id: str) -> None:
    """Run one export job: mail the version it names to the account, once."""
    job_uuid = uuid.UUID(str(job_id))
    with log_context(job_id=str(job_uuid)):
        with session_scope() as session:
            job = jobs.claim_job(session, job_uuid)
            if job is None:
                log.info("job_not_claimed")
                return
            attempt, user_id = job.attempts, job.user_id
            try:
                mail = script_mail_for_job(session, job, _strategy_url(job.strategy_id))
                strategy_id = job.strategy_id
                version_id = job_version(session, job).id
            except PineForgeError as error:
                _fail(session, job_uuid, error, attempt)
                return

        with log_context(user_id=str(user_id)):
            try:
                message = build_script_message(mail, get_settings().mail_from)
                send_message(message)
            except PineForgeError as error:
                with session_scope() as session:
                    _fail(session, job_uuid, error, attempt)
                return

            with session_scope() as session:
                jobs.complete_job(
                    session,
                    job_uuid,
                    strategy_id=strategy_id,
                    version_id=version_id,
                    attempt=attempt,
                )
            log.info("export_mailed")


def _fail(session, job_id: uuid.UUID, error: PineForgeError, attempt: int) -> None:
    jobs.fail_job(
        session, job_id, error.code, error.message, error.details, attempt=attempt
    )
    log.warning("job_failed", code=error.code)


@app.task(
    name=RESULT_EMAIL_TASK,
    bind=True,
    max_retries=RESULT_EMAIL_RETRIES,
    default_retry_delay=RESULT_EMAIL_RETRY_SECONDS,
)
def result_email(self, job_id: str) -> None:
    """Mail a succeeded job's script to its owner (``options.deliver.email``)."""
    job_uuid = uuid.UUID(str(job_id))
    with log_context(job_id=str(job_uuid)):
        with session_scope() as session:
            job = session.get(Job, job_uuid)
            if job is None or job.status != JobStatus.SUCCEEDED:
                return
            if not claim_delivery(session, job_uuid):
                log.info("result_email_already_sent")
                return
            try:
                mail = script_mail_for_job(session, job, _strategy_url(job.strategy_id))
            except PineForgeError as error:
                log.warning("result_email_skipped", code=error.code)
                return

        try:
            send_message(build_script_message(mail, get_settings().mail_from))
        except DependencyUnavailable as error:
            with session_scope() as session:
                release_delivery(session, job_uuid)
            raise self.retry(exc=error) from None
        except PineForgeError as error:
            log.warning("result_email_failed", code=error.code)
            return
        log.info("result_emailed")


@app.task(name=PURGE_STRATEGIES_TASK)
def purge_deleted_strategies() -> int:
    """Delete strategies soft-deleted more than 30 days ago, in small batches."""
    total = in_batches(purge_deleted, PURGE_BATCH)
    if total:
        log.info("strategies_purged", strategies=total)
    return total


def enqueue_export(job_id: uuid.UUID | str) -> bool:
    """Send an export job's message; False (job stays queued) if the broker is down."""
    return _send(export_email, job_id)


def enqueue_result_email(job_id: uuid.UUID | str) -> bool:
    """Send a finished job's email message; False if the broker is down."""
    return _send(result_email, job_id)


def _send(task, job_id: uuid.UUID | str) -> bool:
    try:
        task.apply_async(args=[str(job_id)])
    except (OperationalError, redis.RedisError, OSError) as exc:
        log.warning("enqueue_failed", job_id=str(job_id), error=type(exc).__name__)
        return False
    return True
