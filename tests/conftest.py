"""Shared fixtures: real PostgreSQL and Redis, isolated per test session.

Services are chosen by ``PINEFORGE_TEST_DATABASE_URL`` and
``PINEFORGE_TEST_REDIS_URL``. Each session migrates its own PostgreSQL schema
and prefixes its broker keys, so two runs on one machine never meet. The
environment is set on import, before any test module reads settings.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from engine.settings import REPO_ROOT, normalize_database_url

RUN_TAG = f"pytest_{os.getpid()}_{secrets.token_hex(3)}"
BASE_DATABASE_URL = normalize_database_url(
    os.environ.get(
        "PINEFORGE_TEST_DATABASE_URL",
        "postgresql+psycopg://postgres@127.0.0.1:5432/pineforge_test",
    )
)
REDIS_URL = os.environ.get("PINEFORGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IS_POSTGRES = BASE_DATABASE_URL.startswith("postgresql")
# Created on demand by whatever writes there; removed when the session ends.
VAR_DIR = Path(tempfile.gettempdir()) / f"pineforge-{RUN_TAG}"


def url_with_schema(url: str, schema: str) -> str:
    """Return a PostgreSQL URL whose connections default to ``schema``."""
    parsed = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return parsed.render_as_string(hide_password=False)


os.environ.update(
    PINEFORGE_ENV="test",
    PINEFORGE_VAR_DIR=str(VAR_DIR),
    PINEFORGE_BROKER_KEY_PREFIX=f"{RUN_TAG}:",
    DATABASE_URL=(
        url_with_schema(BASE_DATABASE_URL, RUN_TAG)
        if IS_POSTGRES
        else BASE_DATABASE_URL
    ),
    REDIS_URL=REDIS_URL,
)


@pytest.fixture(scope="session")
def database() -> Iterator[str]:
    """Migrate a fresh schema once per session; drop it at the end."""
    from engine.db import dispose_engine, make_engine, upgrade_database

    url = os.environ["DATABASE_URL"]
    if IS_POSTGRES:
        _create_database_if_absent(BASE_DATABASE_URL)
        admin = make_engine(BASE_DATABASE_URL)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{RUN_TAG}"'))
    upgrade_database(url)
    yield url

    dispose_engine()
    if IS_POSTGRES:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{RUN_TAG}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session", autouse=True)
def _remove_var_dir() -> Iterator[None]:
    yield
    shutil.rmtree(VAR_DIR, ignore_errors=True)


def _create_database_if_absent(url: str) -> None:
    from engine.db import make_engine

    name = make_url(url).database
    server = make_engine(make_url(url).set(database="postgres").render_as_string(False))
    with server.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        exists = conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        )
        if not exists:
            # Another test session may have created it a moment ago.
            with contextlib.suppress(ProgrammingError):
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    server.dispose()


@pytest.fixture
def db_session(database: str) -> Iterator[Session]:
    """A session on emptied tables; the test commits what it needs."""
    from engine.db import Base, get_engine, get_sessionmaker

    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with get_engine().begin() as connection:
        if IS_POSTGRES:
            connection.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))

    session = get_sessionmaker()()
    yield session
    session.close()


@pytest.fixture
def user(db_session: Session):
    """A committed user to own jobs and strategies."""
    from engine.db import User

    account = User(email=f"{secrets.token_hex(4)}@example.com", display_name="Test")
    db_session.add(account)
    db_session.commit()
    return account


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    """A Redis client; this session's prefixed keys are deleted around each test."""
    client = redis.Redis.from_url(REDIS_URL)
    _delete_run_keys(client)
    yield client
    _delete_run_keys(client)
    client.close()


def _delete_run_keys(client: redis.Redis) -> None:
    keys = list(client.scan_iter(match=f"{RUN_TAG}:*", count=500))
    if keys:
        client.delete(*keys)


@pytest.fixture
def spawn_worker(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start real ``celery -A workers.celery_app worker`` processes.

    ``spawn(env, *args)`` runs one in its own process group with this session's
    environment plus ``env`` (a None value unsets a variable); its output goes
    to ``proc.log_path``. Every group still alive is stopped after the test.
    """
    processes: list[subprocess.Popen] = []

    def spawn(env: dict[str, str | None], *args: str) -> subprocess.Popen:
        merged = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **env}
        log_path = tmp_path / f"worker-{len(processes)}.log"
        command = [
            str(Path(sys.executable).with_name("celery")),
            "-A",
            "workers.celery_app",
            "worker",
            f"--hostname=worker{len(processes)}-{RUN_TAG}@%h",
            *args,
        ]
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env={key: value for key, value in merged.items() if value is not None},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc.log_path = log_path
        processes.append(proc)
        return proc

    yield spawn

    for proc in processes:
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()


def _signal_group(proc: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signum)
