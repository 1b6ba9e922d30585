"""The bench's own stack: a scratch database and Redis db, an API and a worker.

``DATABASE_URL`` and ``REDIS_URL`` choose the servers (local ones by default);
the bench only ever touches its own database on that PostgreSQL server and its
own Redis db number, which it creates or empties first and removes after.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import redis
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from engine.settings import REPO_ROOT, normalize_database_url

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
STOP_TIMEOUT_SECONDS = 20


@dataclass(frozen=True)
class Scratch:
    """Where the bench keeps its state."""

    database_url: str
    server_url: str
    redis_url: str

    @property
    def database(self) -> str:
        return make_url(self.database_url).database


def scratch_services(database: str, redis_db: int) -> Scratch:
    """The scratch database and Redis db on the configured (or local) servers."""
    base = make_url(
        normalize_database_url(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    )
    redis_base = urlsplit(os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))
    return Scratch(
        database_url=base.set(database=database).render_as_string(False),
        server_url=base.set(database="postgres").render_as_string(False),
        redis_url=urlunsplit(redis_base._replace(path=f"/{redis_db}")),
    )


def _run_on_server(scratch: Scratch, *statements: str) -> None:
    from engine.db import make_engine

    server = make_engine(scratch.server_url, poolclass=NullPool)
    with server.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for statement in statements:
            conn.execute(text(statement))
    server.dispose()


def create_scratch(scratch: Scratch) -> None:
    """Create the scratch database afresh, migrate it, and empty the Redis db."""
    from engine.db import upgrade_database

    name = scratch.database
    _run_on_server(
        scratch,
        f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        f'CREATE DATABASE "{name}"',
    )
    upgrade_database(scratch.database_url)
    with redis.Redis.from_url(scratch.redis_url) as client:
        client.flushdb()


def drop_scratch(scratch: Scratch) -> None:
    """Remove the scratch database and empty the Redis db."""
    name = scratch.database
    _run_on_server(scratch, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    with redis.Redis.from_url(scratch.redis_url) as client:
        client.flushdb()


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_process(argv: list[str], log_path: Path) -> subprocess.Popen:
    """Start ``argv`` in its own process group, output to ``log_path``."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            argv,
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    proc.log_path = log_path
    return proc


def stop_process(proc: subprocess.Popen) -> None:
    """SIGTERM the process group, then SIGKILL it if it will not go."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_for_http(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    """Wait until ``url`` answers 200, failing early if ``proc`` dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited early; see {proc.log_path}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout:.0f}s; see {proc.log_path}")


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) used so far by the live processes of a group."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone while we looked
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / ticks
