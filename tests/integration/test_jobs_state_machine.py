import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import jobs
from engine.db import (
    Job,
    JobStatus,
    Strategy,
    StrategyVersion,
    get_sessionmaker,
    utcnow,
)
from engine.settings import get_settings

pytestmark = pytest.mark.integration


def _queued_job(session, user, key=None):
    job, created = jobs.create_job(session, user.id, "RSI mean reversion", {}, key)
    session.commit()
    assert created
    return job


def _strategy_for(session, user):
    strategy = Strategy(user_id=user.id, name="RSI", description="")
    version = StrategyVersion(number=1, spec={}, code="//@version=6", provider="x")
    strategy.versions.append(version)
    session.add(strategy)
    session.flush()
    return strategy, version


def test_new_job_is_queued_with_no_attempts(db_session, user):
    job = _queued_job(db_session, user)

    assert job.status == JobStatus.QUEUED
    assert job.attempts == 0
    assert job.enqueued_at.tzinfo is not None


def test_repeat_idempotency_key_returns_the_first_job(db_session, user):
    first = _queued_job(db_session, user, key="abc")

    again, created = jobs.create_job(db_session, user.id, "other text", {}, "abc")

    assert created is False
    assert again.id == first.id
    assert again.request == "RSI mean reversion"


def test_concurrent_idempotent_submits_create_one_job(db_session, user, monkeypatch):
    lookups = []
    find_by_key = jobs._find_by_key

    def recording_find_by_key(*args):
        found = find_by_key(*args)
        lookups.append(found is not None)
        return found

    monkeypatch.setattr(jobs, "_find_by_key", recording_find_by_key)
    make_session = get_sessionmaker()
    winner_session = make_session()
    winner, _ = jobs.create_job(winner_session, user.id, "first", {}, "race")
    winner_session.flush()
    outcome = {}

    def late_submit():
        # Blocks on the unique index until the winner commits, then loses.
        with make_session() as session:
            job, created = jobs.create_job(session, user.id, "second", {}, "race")
            session.commit()
            outcome.update(id=job.id, created=created)

    racer = threading.Thread(target=late_submit)
    racer.start()
    time.sleep(0.3)
    winner_session.commit()
    racer.join(timeout=10)
    winner_session.close()

    assert outcome == {"id": winner.id, "created": False}
    # Winner: no match. Loser: no match before its insert, a match after it.
    assert lookups == [False, False, True]
    count = db_session.scalars(select(Job).where(Job.idempotency_key == "race")).all()
    assert len(count) == 1


def test_claim_moves_job_to_running_with_lease_and_deadline(db_session, user):
    job = _queued_job(db_session, user)
    now = utcnow()
    settings = get_settings()

    claimed = jobs.claim_job(db_session, job.id, now)
    db_session.commit()

    assert claimed.status == JobStatus.RUNNING
    assert claimed.attempts == 1
    assert claimed.started_at == now
    assert claimed.lease_expires_at == now + timedelta(
        seconds=settings.job_lease_seconds
    )
    assert claimed.deadline_at == now + timedelta(seconds=settings.job_deadline_seconds)


def test_second_claim_while_lease_is_live_returns_none(db_session, user):
    job = _queued_job(db_session, user)
    now = utcnow()
    assert jobs.claim_job(db_session, job.id, now) is not None
    db_session.commit()

    assert jobs.claim_job(db_session, job.id, now + timedelta(seconds=1)) is None


def test_redelivery_after_lease_expiry_claims_again(db_session, user):
    job = _queued_job(db_session, user)
    first_claim_at = utcnow()
    jobs.claim_job(db_session, job.id, first_claim_at)
    db_session.commit()
    later = first_claim_at + timedelta(seconds=get_settings().job_lease_seconds + 1)

    reclaimed = jobs.claim_job(db_session, job.id, later)

    assert reclaimed.attempts == 2
    assert reclaimed.started_at == first_claim_at


def test_stale_attempt_is_fenced_out_after_reclaim(db_session, user):
    job = _queued_job(db_session, user)
    now = utcnow()
    jobs.claim_job(db_session, job.id, now)
    lease = get_settings().job_lease_seconds
    jobs.claim_job(db_session, job.id, now + timedelta(seconds=lease + 1))
    db_session.commit()

    assert not jobs.renew_lease(db_session, job.id, attempt=1)
    assert not jobs.set_stage(db_session, job.id, "render", 50, attempt=1)
    assert jobs.renew_lease(db_session, job.id, attempt=2)


def test_job_completes_exactly_once(db_session, user):
    job = _queued_job(db_session, user)
    jobs.claim_job(db_session, job.id)
    strategy, version = _strategy_for(db_session, user)

    first = jobs.complete_job(
        db_session, job.id, strategy_id=strategy.id, version_id=version.id
    )
    second = jobs.complete_job(
        db_session, job.id, strategy_id=strategy.id, version_id=version.id
    )
    failed = jobs.fail_job(db_session, job.id, "INTERNAL_ERROR", "late failure")
    db_session.commit()
    db_session.refresh(job)

    assert (first, second, failed) == (True, False, False)
    assert job.status == JobStatus.SUCCEEDED
    assert job.progress == 100
    assert job.version_id == version.id
    assert job.error_code is None


def test_queued_job_cannot_be_completed_or_failed(db_session, user):
    job = _queued_job(db_session, user)

    assert not jobs.fail_job(db_session, job.id, "INTERNAL_ERROR", "never ran")
    assert not jobs.set_stage(db_session, job.id, "prompt", 10)


def test_failed_job_records_its_code(db_session, user):
    job = _queued_job(db_session, user)
    jobs.claim_job(db_session, job.id)

    assert jobs.fail_job(
        db_session, job.id, "SPEC_INVALID", "Bad spec.", {"errors": ["x"]}
    )
    db_session.commit()
    db_session.refresh(job)

    assert job.status == JobStatus.FAILED
    assert (job.error_code, job.error_details) == ("SPEC_INVALID", {"errors": ["x"]})
    assert job.finished_at is not None


def test_stage_progress_is_clamped(db_session, user):
    job = _queued_job(db_session, user)
    jobs.claim_job(db_session, job.id)

    assert jobs.set_stage(db_session, job.id, "validate", 140)
    db_session.commit()
    db_session.refresh(job)

    assert (job.stage, job.progress) == ("validate", 100)


def test_cancelled_running_job_refuses_the_worker_result(db_session, user):
    job = _queued_job(db_session, user)
    jobs.claim_job(db_session, job.id)
    strategy, version = _strategy_for(db_session, user)

    assert jobs.cancel_job(db_session, job.id)
    assert not jobs.complete_job(
        db_session, job.id, strategy_id=strategy.id, version_id=version.id
    )
    assert not jobs.cancel_job(db_session, job.id)


def test_parallel_claims_have_exactly_one_winner(db_session, user):
    job = _queued_job(db_session, user)
    make_session = get_sessionmaker()
    barrier = threading.Barrier(6)

    def claim(_):
        with make_session() as session:
            barrier.wait()
            won = jobs.claim_job(session, job.id) is not None
            session.commit()
            return won

    with ThreadPoolExecutor(max_workers=6) as pool:
        wins = list(pool.map(claim, range(6)))

    assert wins.count(True) == 1
