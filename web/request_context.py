"""Per-request plumbing: a request id in every log line, and a body size limit.

A request id comes from ``X-Request-ID`` when the caller sent a sane one, else
it is made here; it is bound to the log context, echoed in the response header
and named in a 500 body so a user's report can be matched to the log. Each
request ends with one INFO line (method, path, status, duration).
"""

from __future__ import annotations

import re
import time
import uuid

from flask import Flask, Response, g, request

from engine.errors import PayloadTooLarge
from engine.logging import (
    bind_log_context,
    clear_log_context,
    configure_logging,
    get_logger,
)
from engine.settings import Settings

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")

log = get_logger(__name__)


def _start_request() -> None:
    g.started = time.perf_counter()
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
    clear_log_context()
    bind_log_context(request_id=g.request_id)


def _check_body_size() -> None:
    # A declared length is refused before any byte is read; a chunked body is
    # cut off by MAX_CONTENT_LENGTH while it is read.
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        raise PayloadTooLarge(details={"limit_bytes": limit})


def _finish_request(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("started")
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
    log.info(
        "request",
        method=request.method,
        path=request.path,
        status=response.status_code,
        duration_ms=duration_ms,
    )
    return response


def _end_request(_exc: BaseException | None) -> None:
    clear_log_context()


def init_request_context(app: Flask, settings: Settings) -> None:
    """JSON logs with request ids, and the request size limit."""
    configure_logging(settings)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.before_request(_start_request)
    app.before_request(_check_body_size)
    app.after_request(_finish_request)
    app.teardown_request(_end_request)
