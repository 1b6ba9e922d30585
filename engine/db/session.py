"""Engine and sessions, built lazily from settings.

One engine per process. A forked child (a Celery pool process, a gunicorn
worker) must call :func:`dispose_engine` with ``close=False`` before its first
query so it never shares a connection with its parent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from engine.settings import get_settings, normalize_database_url

SQLITE_BUSY_TIMEOUT_MS = 15_000

_lock = threading.Lock()
_engine: Engine | None = None
_sessionmaker: sessionmaker[Session] | None = None


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with PineForge's connection settings.

    SQLite gets foreign keys, WAL and a busy timeout, and every transaction
    starts with ``BEGIN IMMEDIATE``; PostgreSQL goes through psycopg 3, with
    the pool sized by settings (a threads worker shares it between its tasks).
    """
    url = normalize_database_url(url)
    kwargs.setdefault("hide_parameters", True)  # no values in logged DB errors
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        if "poolclass" not in kwargs:
            settings = get_settings()
            kwargs.setdefault("pool_size", settings.db_pool_size)
            kwargs.setdefault("max_overflow", settings.db_max_overflow)
            kwargs.setdefault("pool_timeout", settings.db_pool_timeout_seconds)
        return create_engine(url, **kwargs)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)
    _prepare_sqlite(engine)
    return engine


def _prepare_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # Hand transaction control to SQLAlchemy: pysqlite's own implicit
        # BEGIN breaks savepoints and cannot be made IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A deferred transaction that reads and then writes fails at once with
        # SQLITE_BUSY when another process wrote in between; taking the write
        # lock up front makes it wait on busy_timeout instead.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def get_engine() -> Engine:
    """Return this process's engine, creating it from settings on first use."""
    global _engine, _sessionmaker
    with _lock:
        if _engine is None:
            _engine = make_engine(get_settings().database_url)
            _sessionmaker = sessionmaker(bind=_engine, expire_on_commit=False)
        return _engine


def get_sessionmaker() -> sessionmaker[Session]:
    """Return the session factory bound to :func:`get_engine`."""
    get_engine()
    assert _sessionmaker is not None
    return _sessionmaker


@contextmanager
def session_scope() -> Iterator[Session]:
    """Yield a session that commits on success and rolls back on error."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def in_batches(step: Callable[..., int], size: int) -> int:
    """Run ``step(session, limit=size)`` in its own committed session, again and
    again, until a run handles fewer than ``size`` rows; return the total.

    Committing each batch keeps row locks few however large the table is.
    """
    total = 0
    while True:
        with session_scope() as session:
            handled = step(session, limit=size)
        total += handled
        if handled < size:
            return total


def dispose_engine(close: bool = True) -> None:
    """Drop this process's engine; the next use builds a new one from settings.

    ``close=False`` is for a freshly forked child: the inherited connections
    belong to the parent and must be forgotten, not closed.
    """
    global _engine, _sessionmaker
    with _lock:
        if _engine is not None:
            _engine.dispose(close=close)
        _engine = None
        _sessionmaker = None
