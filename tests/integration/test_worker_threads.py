"""A generate worker on threads keeps many model calls open at once.

The worker is a real process with the production pool (threads) and the real
pipeline; the model is a fake server that answers slowly and counts the calls
it holds at the same time.
"""

import time

import pytest
from sqlalchemy import func, select

from engine import jobs
from engine.db import Job, JobStatus, session_scope
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.providers import fake_provider_env
from workers import tasks

pytestmark = pytest.mark.integration

JOBS = 8
LATENCY = 1.5


def test_threads_worker_holds_many_calls_with_two_database_connections(
    db_session, user, redis_client, spawn_worker, tmp_path
):
    user.plan = "admin"  # room for every job to run at once
    job_ids = [
        jobs.create_job(db_session, user.id, f"EMA 9/21 cross, job {n}", {})[0].id
        for n in range(JOBS)
    ]
    db_session.commit()

    with FakeLLMServer(latency=LATENCY) as llm:
        env = {
            **fake_provider_env(llm),
            "PINEFORGE_VAR_DIR": str(tmp_path),
            # No connection is held across a model call, so two serve them all.
            "PINEFORGE_DB_POOL_SIZE": "2",
            "PINEFORGE_DB_MAX_OVERFLOW": "0",
        }
        worker = spawn_worker(
            env, "--queues=generate", "--pool=threads", f"--concurrency={JOBS}"
        )
        for job_id in job_ids:
            assert tasks.enqueue_generation(job_id)
        _wait_until_all_finished(job_ids, worker)

    assert llm.max_in_flight >= JOBS - 2
    with session_scope() as session:
        statuses = session.scalars(select(Job.status).where(Job.id.in_(job_ids))).all()
        versions = session.scalar(
            select(func.count()).select_from(Job).where(Job.version_id.is_not(None))
        )
    assert statuses == [JobStatus.SUCCEEDED] * JOBS
    assert versions == JOBS


def _wait_until_all_finished(job_ids, worker, timeout=90.0):
    deadline = time.monotonic() + timeout
    while True:
        with session_scope() as session:
            waiting = session.scalar(
                select(func.count())
                .select_from(Job)
                .where(Job.id.in_(job_ids), Job.finished_at.is_(None))
            )
        if not waiting:
            return
        assert worker.poll() is None, worker.log_path.read_text()
        assert time.monotonic() < deadline, worker.log_path.read_text()
        time.sleep(0.1)
