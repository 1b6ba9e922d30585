"""The claim keeps a user within their plan's jobs at once.

The claim reads the job while locking its owner's balance row and moves it to
running only while the owner runs fewer jobs than the plan allows; a job that
finds no free slot waits (the task sends itself again later).
"""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest

from engine import jobs
from engine.db import Job, JobStatus
from engine.db.base import utcnow
from tests.conftest import IS_POSTGRES
from workers import tasks

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.accounts_fixtures"]


def _status(db_session, job) -> tuple[str, int]:
    db_session.expire_all()
    row = db_session.get(Job, job.id)
    return row.status, row.attempts


def test_a_queued_job_waits_while_its_owner_runs_every_slot(
    db_session, make_user, make_job
):
    owner = make_user(plan="narrow")  # one job at once
    first, second = make_job(owner), make_job(owner)

    assert isinstance(tasks._claim(first.id), tasks._Claim)
    assert tasks._claim(second.id) is tasks._WAIT
    assert _status(db_session, second) == (JobStatus.QUEUED, 0)

    jobs.fail_job(db_session, first.id, "JOB_TIMEOUT", "gone", attempt=1)
    db_session.commit()
    claim = tasks._claim(second.id)

    assert isinstance(claim, tasks._Claim)
    assert _status(db_session, second) == (JobStatus.RUNNING, 1)


def test_a_job_whose_worker_died_frees_its_slot_and_gets_it_back(
    db_session, make_user, make_job
):
    owner = make_user(plan="narrow")
    orphan, waiting = make_job(owner), make_job(owner)
    long_ago = utcnow() - timedelta(hours=1)
    jobs.claim_job(db_session, orphan.id, long_ago)  # its lease ran out long ago
    db_session.commit()

    assert isinstance(tasks._claim(waiting.id), tasks._Claim)
    # The orphan is taken back although the slot is in use: it held it first.
    reclaimed = tasks._claim(orphan.id)

    assert isinstance(reclaimed, tasks._Claim)
    assert reclaimed.attempt == 2


def test_a_user_at_the_limit_does_not_hold_up_other_users(
    db_session, make_user, make_job
):
    busy, other = make_user(plan="narrow"), make_user(plan="narrow")
    running, waiting, others = make_job(busy), make_job(busy), make_job(other)
    tasks._claim(running.id)

    assert tasks._claim(waiting.id) is tasks._WAIT
    assert isinstance(tasks._claim(others.id), tasks._Claim)


@pytest.mark.skipif(not IS_POSTGRES, reason="row locks need PostgreSQL")
def test_parallel_claims_give_the_last_slot_to_one_job(db_session, make_user, make_job):
    owner = make_user(plan="narrow")
    queued = [make_job(owner) for _ in range(8)]
    results: list[object] = []
    start = threading.Barrier(len(queued))

    def claim(job_id) -> None:
        start.wait()
        results.append(tasks._claim(job_id))

    threads = [threading.Thread(target=claim, args=(job.id,)) for job in queued]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    claimed = [r for r in results if isinstance(r, tasks._Claim)]
    assert len(claimed) == 1
    assert results.count(tasks._WAIT) == len(queued) - 1
    statuses = [_status(db_session, job)[0] for job in queued]
    assert statuses.count(JobStatus.RUNNING) == 1


def test_a_message_for_a_missing_job_is_dropped_quietly(db_session):
    assert tasks._claim(uuid.uuid4()) is None
