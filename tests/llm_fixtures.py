"""Fixtures of the LLM provider tests (loaded with ``pytest_plugins``).

``llm_server`` is a fake provider on loopback (see tests/fakes/llm_server.py);
``llm_servers`` makes more of them for chain tests. ``llm_redis`` is a real
Redis database of its own, emptied around each test. ``log_lines`` routes the
production logging setup to captured stderr so tests can read its JSON lines.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Callable, Iterator

import pytest
import redis
import structlog

from engine.logging import configure_logging
from tests.fakes.llm_server import FakeLLMServer
from tests.fakes.providers import LLM_REDIS_URL


@pytest.fixture
def llm_server() -> Iterator[FakeLLMServer]:
    """One fake provider, answering a valid spec unless scripted otherwise."""
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def llm_servers() -> Iterator[Callable[..., FakeLLMServer]]:
    """A factory of extra fake providers, all stopped after the test."""
    started: list[FakeLLMServer] = []

    def make(**kwargs) -> FakeLLMServer:
        server = FakeLLMServer(**kwargs).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def llm_redis() -> Iterator[redis.Redis]:
    """A real Redis database for cooldown and cache state, flushed per test."""
    client = redis.Redis.from_url(LLM_REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def log_lines(capsys) -> Iterator[Callable[[], list[str]]]:
    """Every log line written during the test, as production renders it (JSON)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, structlog.get_config())
    configure_logging(types.SimpleNamespace(log_json=True, log_level="DEBUG"))
    lines: list[str] = []

    def read() -> list[str]:
        lines.extend(capsys.readouterr().err.splitlines())
        return list(lines)

    yield read
    root.handlers, root.level = saved[0], saved[1]
    structlog.configure(**saved[2])
