"""Structured logging: JSON lines through structlog, stdlib loggers included.

Callers bind ``request_id``, ``user_id`` and ``job_id`` with :func:`log_context`
(or :func:`bind_log_context`); every line logged in that context carries them.
Severity policy: an expected failure or a fallback is WARNING (no traceback),
a surprise is ERROR with one traceback.

Never pass a key, token, password or prompt body as a field; the redaction
processor below is a safety net, not permission.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog

from engine.settings import Settings

CONTEXT_KEYS = ("request_id", "user_id", "job_id")
REDACTED = "[redacted]"

_SENSITIVE_NAMES = frozenset(
    {
        "authorization",
        "cookie",
        "password",
        "prompt",
        "prompt_body",
        "raw_response",
        "secret",
        "secret_key",
        "sentry_dsn",
        "smtp_url",
        "system_prompt",
        "token",
        "user_prompt",
    }
)
_SENSITIVE_SUFFIXES = ("_token", "_secret", "_password", "api_key", "apikey")


def redact_sensitive_fields(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor that blanks fields whose names look secret."""
    for key in list(event_dict):
        name = key.lower()
        if name in _SENSITIVE_NAMES or name.endswith(_SENSITIVE_SUFFIXES):
            event_dict[key] = REDACTED
    return event_dict


#: Libraries whose INFO lines are one per request or per task.
_CHATTY_LOGGERS = (
    "httpx",
    "httpx2",
    "httpcore",
    "celery.worker.strategy",
    "celery.app.trace",
)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted.

    Test runners and daemonisers swap ``sys.stderr``; a handler that kept the
    stream it was created with would write to a closed file.
    """

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_logging(settings: Settings) -> None:
    """Route structlog and stdlib logging to one stderr handler.

    Idempotent: calling it again replaces our handler instead of adding one;
    handlers installed by others (a test runner, a server) are left alone.
    """
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_sensitive_fields,
    ]
    if settings.log_json:
        renderer: Any = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )

    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = _StderrHandler()
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # SQL statements may carry parameters; keep them out unless asked for.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    # A line per HTTP request, task received and task succeeded repeats what
    # our own job lines say (llm.attempt, job_claimed, job_succeeded) at a cost
    # the worker pays on every job; their warnings and errors still come, and
    # at DEBUG everything does.
    chatty_level = logging.NOTSET if root.level <= logging.DEBUG else logging.WARNING
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(chatty_level)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """Return a structlog logger named after the calling module."""
    return structlog.get_logger(name)


def bind_log_context(**values: Any) -> None:
    """Bind fields (e.g. ``request_id``) to every later line in this context."""
    structlog.contextvars.bind_contextvars(**values)


def clear_log_context() -> None:
    """Drop every field bound with :func:`bind_log_context`."""
    structlog.contextvars.clear_contextvars()


@contextmanager
def log_context(**values: Any) -> Iterator[None]:
    """Bind fields for the duration of a ``with`` block, then restore."""
    with structlog.contextvars.bound_contextvars(**values):
        yield
