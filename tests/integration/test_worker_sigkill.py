"""A worker killed mid-job loses nothing and duplicates nothing.

Real worker processes (the production shape: a threads pool) run the real
pipeline against a fake LLM server that holds every call open, so each job is
caught mid-job, waiting on its model, when its worker is SIGKILLed.
"""

import os
import signal
import time

import pytest
from sqlalchemy import func, select

from engine import jobs
from engine.db import Job, JobStatus, Strategy, StrategyVersion, session_scope
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.providers import fake_provider_env
from workers import tasks

pytestmark = pytest.mark.integration

#: Long enough that no held call ends on its own during a test.
HOLD_SECONDS = 120
WORKER_ARGS = ("--pool=threads", "--concurrency=4")


@pytest.fixture
def held_llm():
    """A fake LLM server that answers nothing until ``latency`` is lowered."""
    with FakeLLMServer(latency=HOLD_SECONDS) as server:
        yield server


@pytest.fixture
def start_worker(spawn_worker, tmp_path, held_llm):
    """Start a worker with a short lease and a sweeping beat of its own."""
    started = []

    def start():
        env = {
            **fake_provider_env(held_llm),
            # Each its own schedule file: a killed beat may leave one corrupt.
            "PINEFORGE_VAR_DIR": str(tmp_path / f"var{len(started)}"),
            "PINEFORGE_JOB_LEASE_SECONDS": "2",
            "PINEFORGE_SWEEP_INTERVAL_SECONDS": "1",
            "PINEFORGE_JOB_DEADLINE_SECONDS": "60",
        }
        worker = spawn_worker(env, "--beat", *WORKER_ARGS)
        started.append(worker)
        return worker

    return start


def _job(job_id):
    with session_scope() as session:
        return session.get(Job, job_id)


def _versions_of(user):
    with session_scope() as session:
        return session.scalar(
            select(func.count())
            .select_from(StrategyVersion)
            .join(Strategy)
            .where(Strategy.user_id == user.id)
        )


def _kill_when_called(worker, server, calls, timeout=60.0):
    """SIGKILL the worker's whole process group once its model call arrives."""
    deadline = time.monotonic() + timeout
    while server.count() < calls:
        assert worker.poll() is None, worker.log_path.read_text()
        assert time.monotonic() < deadline, worker.log_path.read_text()
        time.sleep(0.05)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


def _wait_until_finished(job_id, worker, timeout=90.0):
    deadline = time.monotonic() + timeout
    while not _job(job_id).finished:
        assert time.monotonic() < deadline, worker.log_path.read_text()
        time.sleep(0.2)
    return _job(job_id)


def test_job_finishes_exactly_once_after_its_worker_is_sigkilled(
    db_session, user, redis_client, held_llm, start_worker
):
    job, _ = jobs.create_job(db_session, user.id, "EMA 9/21 cross, survive", {})
    db_session.commit()

    doomed = start_worker()
    assert tasks.enqueue_generation(job.id)
    _kill_when_called(doomed, held_llm, calls=1)

    caught = _job(job.id)
    assert (caught.status, caught.stage, caught.attempts) == (
        JobStatus.RUNNING,
        "calling_llm",
        1,
    )

    held_llm.latency = 0
    rescuer = start_worker()
    finished = _wait_until_finished(job.id, rescuer)

    assert (finished.status, finished.attempts) == (JobStatus.SUCCEEDED, 2)
    assert finished.provider == "openai_compatible"
    assert held_llm.count() == 2
    assert _versions_of(user) == 1
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Strategy)) == 1


def test_job_whose_worker_keeps_dying_fails_after_three_attempts(
    db_session, user, redis_client, held_llm, start_worker
):
    job, _ = jobs.create_job(db_session, user.id, "EMA 9/21 cross, doomed", {})
    db_session.commit()

    assert tasks.enqueue_generation(job.id)
    # Each new worker's sweeper queues the job again once the lease lapses.
    for attempt in (1, 2, 3):
        _kill_when_called(start_worker(), held_llm, calls=attempt)
        assert _job(job.id).attempts == attempt

    last = start_worker()
    failed = _wait_until_finished(job.id, last)

    assert (failed.status, failed.error_code, failed.attempts) == (
        JobStatus.FAILED,
        "WORKER_LOST",
        3,
    )
    assert held_llm.count() == 3
    assert _versions_of(user) == 0
