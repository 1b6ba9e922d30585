"""The embedded default: SQLite plus the bundled Redis server, nothing else.

The worker runs the real pipeline, which with no provider configured is the
offline composer, on threads as ``pineforge up`` runs it.
"""

import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from sqlalchemy.orm import Session

from engine.db import Job, JobStatus, make_engine
from engine.embedded import ensure_embedded_redis, stop_embedded_redis
from engine.settings import REPO_ROOT, Settings

pytestmark = pytest.mark.integration

SUBMIT_JOB = """
from engine import jobs
from engine.db import User, session_scope, upgrade_database
from workers.tasks import enqueue_generation

upgrade_database()
with session_scope() as session:
    owner = User(email="embedded@example.com")
    session.add(owner)
    session.flush()
    job, _ = jobs.create_job(session, owner.id, "EMA 9/21 cross on BTC 4h", {})
assert enqueue_generation(job.id)
print(job.id)
"""


@pytest.fixture
def embedded(tmp_path):
    """Settings of an embedded install under a fresh var directory."""
    settings = Settings(
        var_dir=tmp_path / "var",
        configured_database_url=None,
        configured_redis_url=None,
    )
    assert settings.embedded_redis
    yield settings
    stop_embedded_redis(settings)


def _embedded_env(settings):
    return {
        "PINEFORGE_ENV": "embedded",
        "PINEFORGE_VAR_DIR": str(settings.var_dir),
        "DATABASE_URL": None,
        "REDIS_URL": None,
        "PINEFORGE_BROKER_KEY_PREFIX": None,
        # No provider: the offline composer is the pipeline's only link.
        "PINEFORGE_LLM_PROVIDERS": "",
    }


def test_concurrent_callers_share_one_embedded_server(embedded):
    with ThreadPoolExecutor(max_workers=4) as pool:
        sockets = list(pool.map(lambda _: ensure_embedded_redis(embedded), range(4)))

    pid = (embedded.var_dir / "redis.pid").read_text().strip()
    client = redis.Redis.from_url(embedded.redis_url)
    assert set(sockets) == {embedded.redis_socket_path}
    assert str(client.info("server")["process_id"]) == pid
    assert client.config_get("appendonly") == {"appendonly": "yes"}
    client.close()


def test_embedded_server_keeps_data_across_a_restart(embedded):
    ensure_embedded_redis(embedded)
    with redis.Redis.from_url(embedded.redis_url) as client:
        client.rpush("queued", "job-1")

    assert stop_embedded_redis(embedded) is True
    assert stop_embedded_redis(embedded) is False
    ensure_embedded_redis(embedded)

    with redis.Redis.from_url(embedded.redis_url) as client:
        assert client.lrange("queued", 0, -1) == [b"job-1"]


def test_job_queued_before_a_restart_runs_on_the_embedded_stack(embedded, spawn_worker):
    env = {**os.environ, **_embedded_env(embedded), "PYTHONPATH": str(REPO_ROOT)}
    env = {key: value for key, value in env.items() if value is not None}
    submitted = subprocess.run(
        [sys.executable, "-c", SUBMIT_JOB],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip().splitlines()[-1]
    # The message must outlive the broker: the worker restarts the server.
    stop_embedded_redis(embedded)

    worker = spawn_worker(_embedded_env(embedded), "--pool=threads", "--concurrency=4")
    database = make_engine(embedded.database_url)
    deadline = time.monotonic() + 90
    try:
        while True:
            with Session(database) as session:
                job = session.get(Job, uuid.UUID(job_id))
            if job.finished:
                break
            assert time.monotonic() < deadline, worker.log_path.read_text()
            time.sleep(0.2)
    finally:
        database.dispose()

    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 1)
    assert (job.provider, job.stage) == ("offline", "done")
    assert job.version_id is not None
