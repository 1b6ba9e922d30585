"""What every job-submitting endpoint shares: the Idempotency-Key and the 202.

Generation, refinement and email export all insert a job, commit, then send
the message; the answer names the job and where to poll it.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Response, jsonify, request

from engine.errors import Conflict, InvalidRequest
from web.jobs import status_url
from web.schemas import JobAccepted, dump

IDEMPOTENCY_HEADER = "Idempotency-Key"
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")
IDEMPOTENCY_SCHEMA = {
    "type": "string",
    "pattern": _IDEMPOTENCY_KEY.pattern,
    "description": "Repeat a submission safely: the same key returns the first job.",
}
IDEMPOTENCY_HEADERS = {IDEMPOTENCY_HEADER: IDEMPOTENCY_SCHEMA}


def idempotency_key() -> str | None:
    """The request's Idempotency-Key, checked for shape (None when absent)."""
    raw = request.headers.get(IDEMPOTENCY_HEADER)
    if raw is None:
        return None
    if not _IDEMPOTENCY_KEY.match(raw.strip()):
        error = {
            "in": "header",
            "field": IDEMPOTENCY_HEADER,
            "message": "must be 1 to 128 visible ASCII characters",
            "type": "idempotency_key",
        }
        raise InvalidRequest(details={"errors": [error]})
    return raw.strip()


def refuse_reused_key(job: Any, request_text: str, options: dict[str, Any]) -> None:
    """A repeated key must come with the same body; otherwise 409."""
    if job.request != request_text or (job.options or {}) != options:
        raise Conflict(
            code="IDEMPOTENCY_KEY_REUSED",
            message="This Idempotency-Key was used with a different request.",
            details={"job_id": str(job.id)},
        )


def accepted(job: Any, status: int) -> Response:
    """The answer to a submission: the job, its status and where to poll it."""
    url = status_url(job)
    body = JobAccepted(job_id=str(job.id), status=job.status, status_url=url)
    response = jsonify(dump(body))
    response.status_code = status
    response.headers["Location"] = url
    return response
