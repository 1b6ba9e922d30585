"""Every error the API returns, in the one body of DESIGN.md.

Handlers are registered once, on the app: a ``PineForgeError`` answers with its
own status and body; werkzeug's HTTP errors (unknown route, wrong method, body
too large, malformed JSON) are translated to coded ones; a database or broker
that does not answer becomes 503; a value the database refuses to store is a
coded 422; anything else is logged with its traceback (for a database error,
its frames only: the driver's message may quote values) and answered with a
bare 500 that names only the request id.
"""

from __future__ import annotations

import traceback
from typing import Any

import structlog
from flask import Flask, Response, current_app, g, jsonify
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from engine.errors import DependencyUnavailable, InvalidRequest, PineForgeError

log = structlog.get_logger(__name__)

#: Codes for the HTTP errors werkzeug raises before a view runs.
HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    408: "REQUEST_TIMEOUT",
    409: "CONFLICT",
    411: "LENGTH_REQUIRED",
    413: "PAYLOAD_TOO_LARGE",
    414: "URI_TOO_LONG",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
    431: "HEADERS_TOO_LARGE",
}

HTTP_MESSAGES = {
    400: "The request could not be understood.",
    404: "The resource does not exist.",
    405: "This method is not allowed on this resource.",
    413: "The request body is too large.",
    415: "The request body must be JSON (Content-Type: application/json).",
}


class MalformedJson(PineForgeError):
    """The body is not JSON at all; a wrong shape is a VALIDATION_ERROR."""

    http_status = 400
    default_code = "MALFORMED_JSON"
    default_message = "The request body is not valid JSON."


class UnsupportedMediaType(PineForgeError):
    http_status = 415
    default_code = "UNSUPPORTED_MEDIA_TYPE"
    default_message = HTTP_MESSAGES[415]


def error_response(error: PineForgeError) -> Response:
    """The JSON response for a coded error (used by handlers and by views)."""
    response = jsonify(error.to_body())
    response.status_code = error.http_status
    if error.http_status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="pineforge"'
    return response


def _request_details() -> dict[str, Any]:
    request_id = g.get("request_id")
    return {"request_id": request_id} if request_id else {}


def handle_pineforge_error(error: PineForgeError) -> Response:
    # An outage is expected now and then; any other 5xx is a surprise.
    if isinstance(error, DependencyUnavailable):
        log.warning("request_failed", code=error.code, status=error.http_status)
    elif error.http_status >= 500:
        log.error("request_failed", code=error.code, status=error.http_status)
    return error_response(error)


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    code = HTTP_CODES.get(status, "HTTP_ERROR")
    message = HTTP_MESSAGES.get(status) or error.description or code
    body = {"status": "error", "code": code, "message": message, "details": {}}
    if status == 405 and getattr(error, "valid_methods", None):
        body["details"]["allowed"] = sorted(error.valid_methods)
    if status == 413 and current_app.config.get("MAX_CONTENT_LENGTH"):
        body["details"]["limit_bytes"] = current_app.config["MAX_CONTENT_LENGTH"]
    response = jsonify(body)
    response.status_code = status

    # Keep headers werkzeug computed (Allow on 405) but not its HTML type.
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def handle_dependency_down(error: Exception) -> Response:
    # The client learns which kind of dependency failed, never the driver text.
    redis_errors = (RedisConnectionError, RedisTimeoutError)
    kind = "broker" if isinstance(error, redis_errors) else "database"
    log.error("dependency_unavailable", dependency=kind, error=type(error).__name__)
    details = {"dependency": kind, **_request_details()}
    return error_response(DependencyUnavailable(details=details))


def handle_unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    log.exception("unhandled_exception", error=type(error).__name__)
    return error_response(PineForgeError(details=_request_details()))


def _is_connection_failure(error: DBAPIError) -> bool:
    return bool(getattr(error, "connection_invalidated", False)) or isinstance(
        error, OperationalError
    )


def handle_database_error(error: DBAPIError) -> Response:
    if _is_connection_failure(error):
        return handle_dependency_down(error)
    if isinstance(error, DataError):
        # A value the database cannot store (a NUL, a number out of range)
        # that input validation let through; never the statement or values.
        sqlstate = getattr(error.orig, "sqlstate", None)
        log.warning("database_refused_value", sqlstate=sqlstate)
        message = "The request holds a value that cannot be stored."
        return error_response(
            InvalidRequest(message=message, details=_request_details())
        )
    # The driver's message may quote stored values (a unique key's DETAIL):
    # log where it happened and what kind of error, never the message.
    log.error(
        "unhandled_database_error",
        error=type(error).__name__,
        sqlstate=getattr(error.orig, "sqlstate", None),
        where="".join(traceback.format_tb(error.__traceback__)),
    )
    return error_response(PineForgeError(details=_request_details()))


def init_errors(app: Flask) -> None:
    """Register the handlers once, for the whole app (blueprints included)."""
    app.register_error_handler(PineForgeError, handle_pineforge_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(RedisConnectionError, handle_dependency_down)
    app.register_error_handler(RedisTimeoutError, handle_dependency_down)
    app.register_error_handler(Exception, handle_unexpected)
