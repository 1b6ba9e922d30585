"""The generate task end to end: a real Celery worker, the real pipeline.

The only stand-ins are outside services: a fake LLM server on loopback (the
pipeline reaches it through the OpenAI SDK) and, for the failure paths, a
PostgreSQL trigger that refuses a write the way a sick database would.
"""

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from kombu.exceptions import OperationalError
from sqlalchemy import func, select

from engine import jobs
from engine.accounts.admission import admit_generation
from engine.db import (
    Job,
    JobStatus,
    Strategy,
    StrategyVersion,
    User,
    get_engine,
    session_scope,
    utcnow,
)
from engine.db.accounts_models import CreditEntry
from engine.settings import get_settings, reset_settings
from tests.conftest import IS_POSTGRES
from tests.fakes.llm_server import (
    INVALID_SPEC,
    SAMPLE_SPEC,
    answer,
    unauthorized,
)
from workers import tasks
from workers.celery_app import app

pytestmark = pytest.mark.integration

needs_postgres = pytest.mark.skipif(not IS_POSTGRES, reason="uses a plpgsql trigger")

LEAKY_ERROR = "connection string postgres://admin:pw@db"


@pytest.fixture
def worker(database, redis_client, llm):
    with start_worker(
        app, pool="solo", perform_ping_check=False, shutdown_timeout=30
    ) as running:
        yield running


@pytest.fixture
def refuse_write(db_session):
    """Install a trigger that fails matching writes with a leaky message."""
    installed = []

    def install(table, condition="true"):
        name = f"refuse_write_{len(installed)}"
        db_session.connection().exec_driver_sql(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF {condition} THEN RAISE EXCEPTION '{LEAKY_ERROR}'; END IF; "
            f"RETURN NEW; END $$; "
            f"CREATE TRIGGER {name} BEFORE INSERT OR UPDATE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {name}()"
        )
        db_session.commit()
        installed.append((name, table))

    yield install
    db_session.rollback()
    for name, table in installed:
        db_session.connection().exec_driver_sql(
            f"DROP TRIGGER {name} ON {table}; DROP FUNCTION {name}()"
        )
    db_session.commit()


def _submit(session, user, text="RSI below 30, long"):
    job, _ = jobs.create_job(session, user.id, text, {"symbol": "BTCUSDT"})
    session.commit()
    assert tasks.enqueue_generation(job.id)
    return job.id


def _wait_until_finished(job_id, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope() as session:
            job = session.get(Job, job_id)
            if job.finished:
                return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job.status} after {timeout}s")


def _wait_for_calls(server, count, timeout=30.0):
    deadline = time.monotonic() + timeout
    while server.count() < count:
        assert time.monotonic() < deadline, f"{server.count()} calls, not {count}"
        time.sleep(0.05)


def _versions_of(user):
    with session_scope() as session:
        query = (
            select(func.count())
            .select_from(StrategyVersion)
            .join(Strategy)
            .where(Strategy.user_id == user.id)
        )
        return session.scalar(query)


def _asked(server):
    """The user message of every request the fake server received."""
    return [request.body["messages"][-1]["content"] for request in server.requests]


def test_worker_turns_a_queued_job_into_a_strategy_version(
    db_session, user, worker, llm
):
    job = _wait_until_finished(_submit(db_session, user))

    assert (job.status, job.stage, job.progress) == (JobStatus.SUCCEEDED, "done", 100)
    assert (job.provider, job.model) == ("openai_compatible", "llama3.1")
    assert job.prompt_version
    assert job.accounting["tokens_in"] > 0 and job.accounting["cached"] is False
    assert job.attempts == 1
    assert len(_asked(llm)) == 1 and "RSI below 30, long" in _asked(llm)[0]
    with session_scope() as session:
        version = session.get(StrategyVersion, job.version_id)
        assert (version.number, version.source) == (1, "generate")
        assert version.spec["name"] == SAMPLE_SPEC["name"]
        assert version.code.startswith("//@version=6")
        assert version.strategy.name == SAMPLE_SPEC["name"]
        assert version.strategy.id == job.strategy_id


def _submit_with_credits(session, user, text="RSI below 30, long"):
    job, _ = jobs.create_job(session, user.id, text, {})
    admit_generation(session, session.get(User, user.id), job.id)
    session.commit()
    assert tasks.enqueue_generation(job.id)
    return job.id


def _settled_kind(job_id):
    with session_scope() as session:
        kinds = session.scalars(
            select(CreditEntry.kind).where(CreditEntry.job_id == job_id)
        ).all()
    return sorted(str(kind) for kind in kinds)


def test_invalid_model_answers_keep_their_credits(db_session, user, worker, llm):
    llm.script(*[answer(INVALID_SPEC)] * 3)

    job = _wait_until_finished(_submit_with_credits(db_session, user))

    assert job.error_code == "SPEC_INVALID"
    assert _settled_kind(job.id) == ["capture", "reserve"]


def test_a_provider_outage_refunds_the_credits(db_session, user, worker, llm):
    llm.script(*[unauthorized()] * 3)

    job = _wait_until_finished(_submit_with_credits(db_session, user, "asdf qwerty"))

    assert job.status == JobStatus.FAILED
    assert _settled_kind(job.id) == ["refund", "reserve"]


def test_coded_pipeline_error_fails_the_job_with_that_code(
    db_session, user, worker, llm
):
    llm.script(*[answer(INVALID_SPEC)] * 3)

    job = _wait_until_finished(_submit(db_session, user))

    assert (job.status, job.error_code) == (JobStatus.FAILED, "SPEC_INVALID")
    assert job.error_details["errors"]
    assert job.stage == "calling_llm"
    assert llm.count() == 3  # the answer and two repair rounds
    assert _versions_of(user) == 0


@needs_postgres
def test_unexpected_pipeline_error_fails_with_internal_error_and_no_detail(
    db_session, user, worker, llm, refuse_write
):
    # The database refuses the job's move to the rendering stage mid-pipeline.
    refuse_write("jobs", "NEW.stage = 'rendering' AND NEW.status = 'running'")

    job = _wait_until_finished(_submit(db_session, user))

    assert (job.status, job.error_code) == (JobStatus.FAILED, "INTERNAL_ERROR")
    assert job.stage == "calling_llm"  # the last stage the database accepted
    assert "pw" not in job.error_message
    assert job.error_details == {}
    assert _versions_of(user) == 0


@needs_postgres
def test_outcome_that_cannot_be_stored_fails_the_job_instead_of_retrying(
    db_session, user, worker, llm, refuse_write
):
    refuse_write("strategy_versions")

    job = _wait_until_finished(_submit(db_session, user))

    assert (job.status, job.error_code, job.attempts) == (
        JobStatus.FAILED,
        "INTERNAL_ERROR",
        1,
    )
    assert "pw" not in job.error_message
    assert llm.count() == 1
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Strategy)) == 0


def test_redelivered_message_for_a_finished_job_does_not_run_it_again(
    db_session, user, worker, llm
):
    first = _wait_until_finished(_submit(db_session, user, "first EMA cross"))

    assert tasks.enqueue_generation(first.id)
    # The solo worker takes messages in order: once this one is done, so is
    # the duplicate.
    _wait_until_finished(_submit(db_session, user, "second EMA cross"))

    asked = _asked(llm)
    assert len(asked) == 2
    assert "first EMA cross" in asked[0] and "second EMA cross" in asked[1]
    assert _versions_of(user) == 2


def test_no_database_connection_is_held_while_the_model_thinks(
    db_session, user, worker, llm
):
    llm.latency = 1.0
    job_id = _submit(db_session, user)
    _wait_for_calls(llm, 1)

    # The worker runs in this process and shares its engine (and pool).
    held = get_engine().pool.checkedout()
    job = _wait_until_finished(job_id)

    assert held == 0
    assert job.status == JobStatus.SUCCEEDED


@pytest.fixture
def short_lease(monkeypatch):
    monkeypatch.setenv("PINEFORGE_JOB_LEASE_SECONDS", "1")
    reset_settings()
    yield get_settings()
    monkeypatch.undo()
    reset_settings()


def test_heartbeat_keeps_a_slow_job_away_from_the_sweeper(
    db_session, user, worker, llm, short_lease
):
    llm.latency = 2.5
    job_id = _submit(db_session, user)
    _wait_for_calls(llm, 1)

    # Past the one-second lease, while the model is still thinking.
    time.sleep(1.5)
    swept = tasks.run_sweep()
    job = _wait_until_finished(job_id)

    assert swept == jobs.SweepResult()
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 1)


def test_sweep_sends_an_orphaned_job_back_to_a_worker(db_session, user, worker, llm):
    job, _ = jobs.create_job(db_session, user.id, "orphan EMA cross", {})
    long_ago = utcnow() - timedelta(seconds=get_settings().job_lease_seconds + 5)
    jobs.claim_job(db_session, job.id, long_ago)
    db_session.commit()

    result = tasks.run_sweep()
    finished = _wait_until_finished(job.id)

    assert result.requeue == [job.id]
    assert (finished.status, finished.attempts) == (JobStatus.SUCCEEDED, 2)
    assert llm.count() == 1


def test_enqueue_with_broker_down_leaves_the_job_for_the_sweeper(
    db_session, user, monkeypatch
):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to redis:6379.")

    monkeypatch.setattr(tasks.generate, "apply_async", broker_down)
    job, _ = jobs.create_job(db_session, user.id, "while redis is down", {})
    db_session.commit()

    assert tasks.enqueue_generation(job.id) is False
    db_session.refresh(job)
    assert job.status == JobStatus.QUEUED
    later = job.enqueued_at + timedelta(seconds=get_settings().queued_stale_seconds + 1)
    assert jobs.sweep_jobs(db_session, later).requeue == [job.id]
