"""The generate task end to end on a real Celery worker and the real broker."""

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from kombu.exceptions import OperationalError
from sqlalchemy import func, select

from engine import jobs
from engine.db import Job, JobStatus, Strategy, StrategyVersion, session_scope, utcnow
from engine.errors import ComposeError
from engine.settings import get_settings, reset_settings
from workers import tasks
from workers.celery_app import app

pytestmark = pytest.mark.integration


@dataclass
class StandInOutcome:
    name: str = "RSI Reversion"
    description: str = "Buys oversold RSI."
    spec: dict[str, Any] = field(default_factory=lambda: {"entry": "rsi < 30"})
    code: str = '//@version=6\nstrategy("RSI Reversion")\n'
    prompt_version: str | None = "v1"
    provider: str = "stand-in"
    model: str | None = "stand-in-1"
    accounting: dict[str, Any] = field(default_factory=lambda: {"credits": 1})


class StandInPipeline:
    """Records its calls; ``behaviour`` decides what a call does."""

    def __init__(self, behaviour=None, outcome=None):
        self.behaviour = behaviour
        self.outcome = outcome or StandInOutcome()
        self.calls = []

    def __call__(self, request, options, on_stage, **context):
        self.calls.append(request)
        on_stage("compose", 30)
        if self.behaviour is not None:
            self.behaviour()
        on_stage("render", 80)
        return self.outcome


@pytest.fixture
def worker(database, redis_client):
    with start_worker(
        app, pool="solo", perform_ping_check=False, shutdown_timeout=30
    ) as running:
        yield running


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


def _versions_of(user):
    with session_scope() as session:
        query = (
            select(func.count())
            .select_from(StrategyVersion)
            .join(Strategy)
            .where(Strategy.user_id == user.id)
        )
        return session.scalar(query)


def test_worker_turns_a_queued_job_into_a_strategy_version(
    db_session, user, worker, monkeypatch
):
    pipeline = StandInPipeline()
    monkeypatch.setattr(tasks, "PIPELINE", pipeline)

    job = _wait_until_finished(_submit(db_session, user))

    assert (job.status, job.stage, job.progress) == (JobStatus.SUCCEEDED, "done", 100)
    assert (job.provider, job.model, job.prompt_version) == (
        "stand-in",
        "stand-in-1",
        "v1",
    )
    assert job.accounting == {"credits": 1}
    assert job.attempts == 1
    assert pipeline.calls == ["RSI below 30, long"]
    with session_scope() as session:
        version = session.get(StrategyVersion, job.version_id)
        assert (version.number, version.source) == (1, "generate")
        assert version.spec == {"entry": "rsi < 30"}
        assert version.strategy.name == "RSI Reversion"
        assert version.strategy.id == job.strategy_id


def test_coded_pipeline_error_fails_the_job_with_that_code(
    db_session, user, worker, monkeypatch
):
    def refuse():
        raise ComposeError("NO_SUPPORTED_RULE", details={"rule": "moon phase"})

    monkeypatch.setattr(tasks, "PIPELINE", StandInPipeline(refuse))

    job = _wait_until_finished(_submit(db_session, user))

    assert (job.status, job.error_code) == (JobStatus.FAILED, "NO_SUPPORTED_RULE")
    assert job.error_details == {"rule": "moon phase"}
    assert job.stage == "compose"
    assert _versions_of(user) == 0


def test_unexpected_pipeline_error_fails_with_internal_error_and_no_detail(
    db_session, user, worker, monkeypatch
):
    def crash():
        raise RuntimeError("connection string postgres://admin:pw@db")

    monkeypatch.setattr(tasks, "PIPELINE", StandInPipeline(crash))

    job = _wait_until_finished(_submit(db_session, user))

    assert (job.status, job.error_code) == (JobStatus.FAILED, "INTERNAL_ERROR")
    assert "pw" not in job.error_message
    assert job.error_details == {}


def test_outcome_that_cannot_be_stored_fails_the_job_instead_of_retrying(
    db_session, user, worker, monkeypatch
):
    unstorable = StandInOutcome(spec={"lengths": {9, 21}})
    monkeypatch.setattr(tasks, "PIPELINE", StandInPipeline(outcome=unstorable))

    job = _wait_until_finished(_submit(db_session, user))

    assert (job.status, job.error_code, job.attempts) == (
        JobStatus.FAILED,
        "INTERNAL_ERROR",
        1,
    )
    assert _versions_of(user) == 0


def test_redelivered_message_for_a_finished_job_does_not_run_it_again(
    db_session, user, worker, monkeypatch
):
    pipeline = StandInPipeline()
    monkeypatch.setattr(tasks, "PIPELINE", pipeline)
    first = _wait_until_finished(_submit(db_session, user, "first"))

    assert tasks.enqueue_generation(first.id)
    # The solo worker takes messages in order: once this one is done, so is
    # the duplicate.
    _wait_until_finished(_submit(db_session, user, "second"))

    assert pipeline.calls == ["first", "second"]
    assert _versions_of(user) == 2


@pytest.fixture
def short_lease(monkeypatch):
    monkeypatch.setenv("PINEFORGE_JOB_LEASE_SECONDS", "1")
    reset_settings()
    yield get_settings()
    monkeypatch.undo()
    reset_settings()


def test_heartbeat_keeps_a_slow_job_away_from_the_sweeper(
    db_session, user, worker, monkeypatch, short_lease
):
    sweeps = []

    def slow_then_sweep():
        time.sleep(2.5)
        sweeps.append(tasks.run_sweep())

    monkeypatch.setattr(tasks, "PIPELINE", StandInPipeline(slow_then_sweep))

    job = _wait_until_finished(_submit(db_session, user))

    assert sweeps == [jobs.SweepResult()]
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 1)


def test_sweep_sends_an_orphaned_job_back_to_a_worker(
    db_session, user, worker, monkeypatch
):
    monkeypatch.setattr(tasks, "PIPELINE", StandInPipeline())
    job, _ = jobs.create_job(db_session, user.id, "orphan", {})
    long_ago = utcnow() - timedelta(seconds=get_settings().job_lease_seconds + 5)
    jobs.claim_job(db_session, job.id, long_ago)
    db_session.commit()

    result = tasks.run_sweep()
    finished = _wait_until_finished(job.id)

    assert result.requeue == [job.id]
    assert (finished.status, finished.attempts) == (JobStatus.SUCCEEDED, 2)


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
