from datetime import timedelta

import pytest

from engine import jobs
from engine.db import JobStatus, utcnow
from engine.settings import get_settings

pytestmark = pytest.mark.integration


def _queued_job(session, user):
    job, _ = jobs.create_job(session, user.id, "MACD cross", {})
    session.commit()
    return job


def _reload(session, job):
    session.commit()
    session.refresh(job)
    return job


def test_sweep_leaves_healthy_jobs_alone(db_session, user):
    queued = _queued_job(db_session, user)
    running = _queued_job(db_session, user)
    jobs.claim_job(db_session, running.id)

    result = jobs.sweep_jobs(db_session)

    assert result == jobs.SweepResult()
    assert _reload(db_session, queued).status == JobStatus.QUEUED
    assert _reload(db_session, running).status == JobStatus.RUNNING


def test_expired_lease_goes_back_to_the_queue(db_session, user):
    job = _queued_job(db_session, user)
    start = utcnow()
    jobs.claim_job(db_session, job.id, start)
    later = start + timedelta(seconds=get_settings().job_lease_seconds + 1)

    result = jobs.sweep_jobs(db_session, later)

    assert result.requeue == [job.id]
    job = _reload(db_session, job)
    assert job.status == JobStatus.QUEUED
    assert job.lease_expires_at is None
    assert job.enqueued_at == later
    assert job.attempts == 1


def test_lease_expired_on_last_attempt_fails_with_worker_lost(db_session, user):
    settings = get_settings()
    job = _queued_job(db_session, user)
    now = utcnow()
    step = timedelta(seconds=settings.job_lease_seconds + 1)
    for _ in range(settings.job_max_attempts):
        assert jobs.claim_job(db_session, job.id, now) is not None
        now += step

    assert jobs.claim_job(db_session, job.id, now) is None
    result = jobs.sweep_jobs(db_session, now)

    assert result.lost == [job.id]
    assert result.requeue == []
    job = _reload(db_session, job)
    assert (job.status, job.error_code) == (JobStatus.FAILED, "WORKER_LOST")
    assert job.attempts == settings.job_max_attempts


def test_running_past_deadline_fails_with_job_timeout(db_session, user):
    settings = get_settings()
    job = _queued_job(db_session, user)
    start = utcnow()
    jobs.claim_job(db_session, job.id, start)
    past_deadline = start + timedelta(seconds=settings.job_deadline_seconds + 1)
    # The worker is alive and renewing, yet the job overran.
    jobs.renew_lease(db_session, job.id, now=past_deadline - timedelta(seconds=1))

    result = jobs.sweep_jobs(db_session, past_deadline)

    assert result.timed_out == [job.id]
    job = _reload(db_session, job)
    assert (job.status, job.error_code) == (JobStatus.FAILED, "JOB_TIMEOUT")


def test_queued_too_long_is_reenqueued_and_its_clock_bumped(db_session, user):
    job = _queued_job(db_session, user)
    later = job.enqueued_at + timedelta(seconds=get_settings().queued_stale_seconds + 1)

    result = jobs.sweep_jobs(db_session, later)

    assert result.requeue == [job.id]
    assert _reload(db_session, job).enqueued_at == later
    assert jobs.sweep_jobs(db_session, later + timedelta(seconds=1)).requeue == []


def test_finished_jobs_are_never_swept(db_session, user):
    job = _queued_job(db_session, user)
    jobs.claim_job(db_session, job.id)
    jobs.fail_job(db_session, job.id, "SPEC_INVALID", "Bad spec.")
    much_later = utcnow() + timedelta(days=1)

    assert jobs.sweep_jobs(db_session, much_later) == jobs.SweepResult()
    assert _reload(db_session, job).error_code == "SPEC_INVALID"
