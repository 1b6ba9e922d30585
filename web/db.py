"""One database session per request, opened on first use.

Views commit explicitly when they mean to write; whatever is left uncommitted
when the request ends (an error, a read-only request) is rolled back. That is
what makes "bad input changes nothing" hold even after an error handler has
turned an exception into a response.
"""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from engine.db import get_sessionmaker, make_engine
from engine.settings import Settings, get_settings


def db_session() -> Session:
    """The current request's session."""
    session = g.get("db_session")
    if session is None:
        factory = current_app.extensions["pineforge.sessions"] or get_sessionmaker()
        session = g.db_session = factory()
    return session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()


def _session_factory(settings: Settings) -> sessionmaker[Session] | None:
    # None means the process-wide engine, looked up per request so that it
    # follows dispose_engine() after a fork; an app built with another
    # database (a test) gets an engine of its own.
    if settings.database_url == get_settings().database_url:
        return None
    return sessionmaker(bind=make_engine(settings.database_url), expire_on_commit=False)


def init_db(app: Flask, settings: Settings) -> None:
    app.extensions["pineforge.sessions"] = _session_factory(settings)
    app.teardown_appcontext(_close_session)
