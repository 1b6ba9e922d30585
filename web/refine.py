"""``POST /api/v1/strategies/<id>/generate``: refine a strategy by instruction.

A refinement is a generation job of kind ``refine``: the same plan limits and
credits, the same polling, and on success a new version of this strategy
(source ``refine``) instead of a new strategy. The job starts from the version
that is current when it is submitted.
"""

from __future__ import annotations

from flask import Blueprint

from engine.accounts.admission import admit_generation
from engine.errors import Conflict
from engine.jobs import create_job
from engine.logging import bind_log_context, get_logger
from web.auth import current_user, require_user
from web.db import db_session
from web.library_schemas import RefineRequest
from web.operations import operation
from web.schemas import JobAccepted
from web.strategies import check_delivery
from web.strategy_access import owned_strategy, strategy_route
from web.submissions import (
    IDEMPOTENCY_HEADERS,
    accepted,
    idempotency_key,
    refuse_reused_key,
)
from workers.tasks import enqueue_generation

bp = Blueprint("refine", __name__, url_prefix="/api/v1")
log = get_logger(__name__)


@bp.post("/strategies/<strategy_id>/generate")
@require_user
@strategy_route
@operation(
    "Refine a strategy with an instruction; a new version (asynchronously)",
    tag="strategies",
    body=RefineRequest,
    responses={202: JobAccepted, 200: JobAccepted},
    errors=(404, 409, 429),
    headers=IDEMPOTENCY_HEADERS,
    description=(
        "The current spec is the starting point: an LLM sees it in its prompt; "
        "the offline composer applies simple edits ('add a 2% trailing stop', "
        "'only short below the 200 EMA', 'change RSI length to 21') and refuses "
        "others with a coded error on the job. Costs what a generation costs."
    ),
)
def refine(strategy_id: str, body: RefineRequest):
    session = db_session()
    strategy = owned_strategy(session, strategy_id)
    options = body.options.model_dump(mode="json", exclude_none=True)
    check_delivery(options)
    key = idempotency_key()
    job, created = create_job(
        session, current_user().id, body.instruction, options, key, kind="refine"
    )
    if not created:
        refuse_reused_key(job, body.instruction, options)
        if job.kind != "refine" or job.strategy_id != strategy.id:
            raise Conflict(
                code="IDEMPOTENCY_KEY_REUSED",
                message="This Idempotency-Key was used with a different request.",
                details={"job_id": str(job.id)},
            )
        return accepted(job, 200)

    job.strategy_id, job.base_version = strategy.id, strategy.current_version
    admission = admit_generation(session, current_user(), job.id)
    session.commit()
    bind_log_context(job_id=str(job.id))
    enqueued = enqueue_generation(job.id, admission.queue_priority)
    log.info("refine_submitted", enqueued=enqueued, base_version=job.base_version)
    return accepted(job, 202)
