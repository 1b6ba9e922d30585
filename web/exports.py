"""``/api/v1/strategies/<id>/export``: download a version, or have it emailed.

The download is immediate. Email goes through an ``export`` job on the
``default`` queue, so the request never waits on a mail server; the job says
whether it went out. Scripts are only ever mailed to the account's own address.
"""

from __future__ import annotations

from flask import Blueprint, Response

from engine.db import Job
from engine.errors import Conflict
from engine.jobs import create_job
from engine.library.exports import (
    allowed_recipient,
    script_filename,
    with_final_newline,
)
from engine.library.versions import find_version
from engine.logging import bind_log_context, get_logger
from web.auth import current_user, require_user
from web.db import db_session
from web.library_schemas import ExportRequest
from web.operations import RawResponse, operation
from web.schemas import ExportQuery, JobAccepted
from web.strategy_access import owned_strategy, pick_version, strategy_route
from web.submissions import IDEMPOTENCY_HEADERS, accepted, idempotency_key
from workers.library_tasks import enqueue_export

bp = Blueprint("exports", __name__, url_prefix="/api/v1")
log = get_logger(__name__)


@bp.get("/strategies/<strategy_id>/export")
@require_user
@strategy_route
@operation(
    "Download a strategy's Pine Script as a .pine file",
    tag="strategies",
    query=ExportQuery,
    responses={200: RawResponse("text/plain", "The Pine Script v6 source")},
    errors=(404,),
)
def export_strategy(strategy_id: str, query: ExportQuery):
    strategy = owned_strategy(db_session(), strategy_id)
    version = pick_version(strategy, query.version)

    response = Response(with_final_newline(version.code), mimetype="text/plain")
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    filename = script_filename(strategy.name)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.post("/strategies/<strategy_id>/export")
@require_user
@strategy_route
@operation(
    "Email a version's Pine Script as an attachment (asynchronously)",
    tag="strategies",
    body=ExportRequest,
    responses={202: JobAccepted, 200: JobAccepted},
    errors=(404, 409),
    headers=IDEMPOTENCY_HEADERS,
    description="Answers 202 with an `export` job to poll. Only the account's "
    "own address is accepted (422 EMAIL_NOT_ALLOWED otherwise); the default "
    "version is the current one.",
)
def email_export(strategy_id: str, body: ExportRequest):
    session = db_session()
    strategy = owned_strategy(session, strategy_id)
    number = body.version or strategy.current_version
    find_version(session, strategy.id, number)
    recipient = allowed_recipient(current_user(), body.email)

    options = {"deliver": {"email": recipient}}
    request_text = f"email version {number} of strategy {strategy.id}"
    key = idempotency_key()
    job, created = create_job(
        session, current_user().id, request_text, options, key, kind="export"
    )
    if not created:
        _refuse_other_job(job, request_text)
        return accepted(job, 200)

    job.strategy_id, job.base_version = strategy.id, number
    session.commit()
    bind_log_context(job_id=str(job.id))
    enqueued = enqueue_export(job.id)
    log.info("export_submitted", enqueued=enqueued, version=number)
    return accepted(job, 202)


def _refuse_other_job(job: Job, request_text: str) -> None:
    if job.kind != "export" or job.request != request_text:
        raise Conflict(
            code="IDEMPOTENCY_KEY_REUSED",
            message="This Idempotency-Key was used with a different request.",
            details={"job_id": str(job.id)},
        )
