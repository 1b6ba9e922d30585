"""Fixtures for the API tests: the app, tokens, rows, and a real Celery worker.

PostgreSQL, Redis and the emptied tables come from tests/conftest.py
(``database``, ``db_session``, ``user``, ``redis_client``); these build on them.
"""

from __future__ import annotations

import importlib
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from engine.db import Job, JobStatus, Strategy, StrategyVersion, User, utcnow
from engine.providers.config import get_provider_settings
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.providers import fake_provider_env
from web import create_app
from web.auth import issue_access_token

JOB_WAIT_SECONDS = 120


def _pipeline_ready() -> bool:
    try:
        importlib.import_module("engine.pipeline")
    except ImportError:
        return False
    return True


@pytest.fixture
def pipeline() -> None:
    """Skip end-to-end tests until the real generation pipeline imports."""
    if not _pipeline_ready():
        pytest.skip("waits for engine.pipeline.run_generation")


PINE_CODE = """//@version=6
strategy("EMA Cross", overlay = true)
fast = ta.ema(close, 9)
slow = ta.ema(close, 21)
if ta.crossover(fast, slow)
    strategy.entry("Long", strategy.long)
"""


@pytest.fixture
def llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    """A fake LLM server that the pipeline (here and in workers) is set to ask."""
    with FakeLLMServer() as server:
        for name, value in fake_provider_env(server).items():
            monkeypatch.setenv(name, value)
        get_provider_settings.cache_clear()
        yield server
    get_provider_settings.cache_clear()


@pytest.fixture(scope="session")
def api_app(database: str) -> Flask:
    app = create_app()
    app.testing = True
    return app


@pytest.fixture
def client(api_app: Flask, db_session: Session, redis_client: Any) -> FlaskClient:
    """A test client on emptied tables and an emptied broker."""
    return api_app.test_client()


def bearer(session: Session, account: User) -> dict[str, str]:
    token, _row = issue_access_token(session, account, "test")
    session.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def auth(db_session: Session, user: User) -> dict[str, str]:
    """Authorization header of ``user``."""
    return bearer(db_session, user)


@pytest.fixture
def other_user(db_session: Session) -> User:
    account = User(email=f"other-{secrets.token_hex(4)}@example.com")
    db_session.add(account)
    db_session.commit()
    return account


@pytest.fixture
def other_auth(db_session: Session, other_user: User) -> dict[str, str]:
    return bearer(db_session, other_user)


@pytest.fixture
def insert_job(db_session: Session) -> Callable[..., Job]:
    """Insert a job row directly, in any state."""

    def make(owner: User, **values: Any) -> Job:
        values.setdefault("request", "RSI 14 below 30, long only")
        job = Job(user_id=owner.id, **values)
        db_session.add(job)
        db_session.commit()
        return job

    return make


@pytest.fixture
def insert_strategy(db_session: Session) -> Callable[..., Strategy]:
    """Insert a strategy with ``versions`` versions; the last one is current."""

    def make(owner: User, name: str = "EMA Cross", versions: int = 1) -> Strategy:
        strategy = Strategy(
            user_id=owner.id, name=name, description="test", current_version=versions
        )
        for number in range(1, versions + 1):
            code = PINE_CODE.replace("EMA Cross", f"{name} v{number}")
            spec = {"name": name, "number": number}
            strategy.versions.append(
                StrategyVersion(number=number, spec=spec, code=code, provider="offline")
            )
        db_session.add(strategy)
        db_session.commit()
        return strategy

    return make


@pytest.fixture
def finished_job(
    user: User, insert_job: Callable[..., Job], insert_strategy: Callable[..., Strategy]
) -> Job:
    """A succeeded job of ``user`` with a two-version strategy."""
    strategy = insert_strategy(user, versions=2)
    now = utcnow()
    return insert_job(
        user,
        status=JobStatus.SUCCEEDED,
        stage="done",
        progress=100,
        attempts=1,
        started_at=now - timedelta(seconds=3),
        finished_at=now,
        strategy_id=strategy.id,
        version_id=strategy.versions[-1].id,
        provider="offline",
        accounting={"credits": 1},
    )


@pytest.fixture
def api_worker(database: str, redis_client: Any) -> Iterator[Any]:
    """A real Celery worker thread on this run's (emptied) broker keys."""
    from celery.contrib.testing.worker import start_worker

    from workers.celery_app import app

    with start_worker(
        app, pool="solo", perform_ping_check=False, shutdown_timeout=60
    ) as worker:
        yield worker


@pytest.fixture
def poll_job(client: FlaskClient) -> Callable[..., dict[str, Any]]:
    """Poll a job through the API until it finishes; returns every body seen."""

    def poll(url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
        seen = []
        deadline = time.monotonic() + JOB_WAIT_SECONDS
        while True:
            response = client.get(url, headers=headers)
            assert response.status_code == 200, response.get_json()
            seen.append(response.get_json())
            if seen[-1]["status"] in ("succeeded", "failed", "cancelled"):
                return seen
            assert time.monotonic() < deadline, f"job still {seen[-1]['status']}"
            time.sleep(0.1)

    return poll
