"""A worker killed mid-job loses nothing and duplicates nothing.

The worker subprocesses import this module (``-I``) and, seeing
``PINEFORGE_STANDIN_PIPELINE=blocking``, install the blocking stand-in below.
"""

import os
import signal
import time
from types import SimpleNamespace

import pytest
import redis
from sqlalchemy import func, select

from engine import jobs
from engine.db import Job, JobStatus, Strategy, StrategyVersion, session_scope
from engine.settings import get_settings
from workers import tasks

pytestmark = pytest.mark.integration

MODULE = "tests.integration.test_worker_sigkill"
STARTED_KEY = "standin:started"
RELEASE_KEY = "standin:release"


def blocking_pipeline(request, options, on_stage, **context):
    """Report that it started, then wait until the test releases it."""
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    prefix = os.environ["PINEFORGE_BROKER_KEY_PREFIX"]
    client.rpush(prefix + STARTED_KEY, os.getpid())
    on_stage("compose", 20)
    give_up = time.monotonic() + 120
    while not client.exists(prefix + RELEASE_KEY):
        if time.monotonic() > give_up:
            raise TimeoutError("the test never released the stand-in pipeline")
        time.sleep(0.05)
    return SimpleNamespace(
        name="Survivor",
        description="",
        spec={"survived": True},
        code="//@version=6\n",
        prompt_version=None,
        provider="stand-in",
        model=None,
        accounting={},
    )


if os.environ.get("PINEFORGE_STANDIN_PIPELINE") == "blocking":
    tasks.PIPELINE = blocking_pipeline


def _job(job_id):
    with session_scope() as session:
        return session.get(Job, job_id)


def test_job_finishes_exactly_once_after_its_worker_is_sigkilled(
    db_session, user, redis_client, spawn_worker, tmp_path
):
    prefix = get_settings().broker_key_prefix
    env = {
        "PINEFORGE_STANDIN_PIPELINE": "blocking",
        "PINEFORGE_VAR_DIR": str(tmp_path),
        "PINEFORGE_JOB_LEASE_SECONDS": "2",
        "PINEFORGE_SWEEP_INTERVAL_SECONDS": "1",
        "PINEFORGE_JOB_DEADLINE_SECONDS": "60",
    }
    worker_args = ("--pool=prefork", "--concurrency=1", f"--include={MODULE}")
    job, _ = jobs.create_job(db_session, user.id, "survive a crash", {})
    db_session.commit()

    doomed = spawn_worker(env, *worker_args)
    assert tasks.enqueue_generation(job.id)
    started = redis_client.blpop([prefix + STARTED_KEY], timeout=60)
    assert started, doomed.log_path.read_text()
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait(timeout=10)

    assert (_job(job.id).status, _job(job.id).attempts) == (JobStatus.RUNNING, 1)

    redis_client.set(prefix + RELEASE_KEY, "1")
    rescuer = spawn_worker(env, "--beat", *worker_args)
    deadline = time.monotonic() + 90
    while not _job(job.id).finished:
        assert time.monotonic() < deadline, rescuer.log_path.read_text()
        time.sleep(0.2)

    finished = _job(job.id)
    assert (finished.status, finished.attempts) == (JobStatus.SUCCEEDED, 2)
    with session_scope() as session:
        versions = session.scalar(
            select(func.count())
            .select_from(StrategyVersion)
            .join(Strategy)
            .where(Strategy.user_id == user.id)
        )
    assert versions == 1
