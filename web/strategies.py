"""``/api/v1/strategies``: submit an idea, or keep a library of strategies by hand.

Submitting writes the job row and commits before the message is sent, so a
worker never looks for a job that is not there yet. Creating from a spec, a
new spec in an update and a revert are free: no LLM, no credits, just
validation and rendering. Deleting is soft; a restore within 30 days undoes it.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, jsonify, url_for

from engine.accounts.admission import admit_generation
from engine.db import Strategy, utcnow
from engine.errors import InvalidRequest
from engine.jobs import create_job
from engine.library.exports import allowed_recipient
from engine.library.listing import StrategyFilter, list_strategies
from engine.library.strategies import (
    append_version,
    create_strategy,
    manual_version,
    restore_strategy,
    soft_delete,
)
from engine.library.trending import record_spec_use
from engine.logging import bind_log_context, get_logger
from web.auth import current_user, require_user
from web.catalog_common import shared_redis, user_catalog
from web.db import db_session
from web.jobs import parse_id
from web.library_schemas import (
    StrategyCreate,
    StrategyListQuery,
    StrategyPage,
    StrategySummary,
    StrategyUpdate,
)
from web.operations import operation
from web.schemas import (
    GenerateRequest,
    JobAccepted,
    StrategyQuery,
    StrategyView,
    VersionSummary,
    dump,
)
from web.strategy_access import owned_strategy, pick_version, strategy_route
from web.submissions import (
    IDEMPOTENCY_HEADERS,
    accepted,
    idempotency_key,
    refuse_reused_key,
)
from workers.tasks import enqueue_generation

bp = Blueprint("strategies", __name__, url_prefix="/api/v1")
log = get_logger(__name__)


def check_delivery(options: dict[str, Any]) -> None:
    """Refuse ``deliver.email`` to anyone but the account itself (422)."""
    email = (options.get("deliver") or {}).get("email")
    if email:
        allowed_recipient(current_user(), email)


@bp.post("/strategies/generate")
@require_user
@operation(
    "Turn a plain-language idea into a Pine Script strategy (asynchronously)",
    tag="strategies",
    body=GenerateRequest,
    responses={202: JobAccepted, 200: JobAccepted},
    errors=(409,),
    headers=IDEMPOTENCY_HEADERS,
    description=(
        "Answers 202 with the job to poll. With an `Idempotency-Key` header "
        "(1-128 visible ASCII characters) a repeat answers 200 with the first job; "
        "the same key with a different body is a 409. With `options.deliver.email` "
        "the script is also mailed to the account when the job succeeds."
    ),
)
def generate(body: GenerateRequest):
    key = idempotency_key()
    options = body.options.model_dump(mode="json", exclude_none=True)
    check_delivery(options)
    session = db_session()
    job, created = create_job(session, current_user().id, body.request, options, key)

    if not created:
        refuse_reused_key(job, body.request, options)
        return accepted(job, 200)

    admission = admit_generation(session, current_user(), job.id)
    session.commit()
    bind_log_context(job_id=str(job.id))
    # A refused message still answers 202: the committed job stays queued and
    # the sweeper sends it again, so a broker outage delays it, never loses it.
    enqueued = enqueue_generation(job.id, admission.queue_priority)
    log.info("job_submitted", enqueued=enqueued)
    return accepted(job, 202)


def summary(strategy: Strategy) -> StrategySummary:
    """A strategy as lists show it (its indicators must be loaded or loadable)."""
    return StrategySummary(
        id=str(strategy.id),
        name=strategy.name,
        description=strategy.description,
        current_version=strategy.current_version,
        indicators=[row.kind for row in strategy.indicators],
        created_at=strategy.created_at,
        updated_at=strategy.updated_at,
        url=url_for("strategies.get_strategy", strategy_id=str(strategy.id)),
    )


def _summary_response(strategy: Strategy, status: int = 200) -> Response:
    response = jsonify(dump(summary(strategy)))
    response.status_code = status
    if status == 201:
        response.headers["Location"] = url_for(
            "strategies.get_strategy", strategy_id=str(strategy.id)
        )
    return response


@bp.post("/strategies")
@require_user
@operation(
    "Create a strategy from a spec written by hand (no LLM, no credits)",
    tag="strategies",
    body=StrategyCreate,
    responses={201: StrategySummary},
    description="The spec is validated, rendered and checked; it becomes version "
    "1 with source `manual`.",
)
def create(body: StrategyCreate):
    session = db_session()
    with user_catalog():
        first = manual_version(body.spec)
    strategy, _version = create_strategy(
        session,
        current_user().id,
        first,
        name=body.name,
        description=body.description,
    )
    session.commit()
    record_spec_use(shared_redis(), first.spec)
    log.info("strategy_created", strategy_id=str(strategy.id))
    return _summary_response(strategy, 201)


@bp.get("/strategies")
@require_user
@operation(
    "List your strategies: filter by indicator or text, sort, paginate",
    tag="strategies",
    query=StrategyListQuery,
    responses={200: StrategyPage},
    description="Numbered pages (`page`, `size`, with `total`) or a keyset "
    "`cursor` taken from the previous page's `next_cursor`.",
)
def list_own(query: StrategyListQuery):
    if query.cursor is not None and query.page is not None:
        raise InvalidRequest(
            code="PAGE_AND_CURSOR",
            message="Use either page or cursor, not both.",
        )
    wanted = StrategyFilter(indicator=query.indicator, text=query.q, sort=query.sort)
    page = list_strategies(
        db_session(),
        current_user().id,
        wanted,
        size=query.size,
        page=query.page,
        cursor=query.cursor,
    )
    next_url = None
    if page.next_cursor:
        params = query.model_dump(exclude_none=True, exclude={"page", "cursor"})
        next_url = url_for("strategies.list_own", **params, cursor=page.next_cursor)
    body = StrategyPage(
        items=[summary(strategy) for strategy in page.items],
        size=page.size,
        page=page.page,
        total=page.total,
        next_cursor=page.next_cursor,
        next=next_url,
    )
    return jsonify(dump(body))


@bp.get("/strategies/<strategy_id>")
@require_user
@strategy_route
@operation(
    "Read a strategy: spec and code of one version, and every version",
    tag="strategies",
    query=StrategyQuery,
    responses={200: StrategyView},
    errors=(404,),
)
def get_strategy(strategy_id: str, query: StrategyQuery):
    strategy = owned_strategy(db_session(), strategy_id)
    version = pick_version(strategy, query.version)
    view = StrategyView(
        id=str(strategy.id),
        name=strategy.name,
        description=strategy.description,
        current_version=strategy.current_version,
        version=version.number,
        spec=version.spec,
        code=version.code,
        versions=[
            VersionSummary(
                number=item.number,
                created_at=item.created_at,
                source=item.source,
                provider=item.provider,
            )
            for item in strategy.versions
        ],
        export_url=url_for(
            "exports.export_strategy",
            strategy_id=str(strategy.id),
            version=version.number,
        ),
    )
    return jsonify(dump(view))


@bp.patch("/strategies/<strategy_id>")
@require_user
@strategy_route
@operation(
    "Rename or describe a strategy; a new spec makes a new version",
    tag="strategies",
    body=StrategyUpdate,
    responses={200: StrategySummary},
    errors=(404,),
)
def update(strategy_id: str, body: StrategyUpdate):
    if body.name is None and body.description is None and body.spec is None:
        raise InvalidRequest(
            code="EMPTY_UPDATE", message="Send a name, a description or a spec."
        )
    session = db_session()
    strategy = owned_strategy(session, strategy_id)
    new = None
    if body.spec is not None:
        with user_catalog():
            new = manual_version(body.spec, parent_number=strategy.current_version)
        append_version(session, strategy, new)
    if body.name is not None:
        strategy.name = body.name
    if body.description is not None:
        strategy.description = body.description
    strategy.updated_at = utcnow()
    session.commit()
    if new is not None:
        record_spec_use(shared_redis(), new.spec)
    return _summary_response(strategy)


@bp.delete("/strategies/<strategy_id>")
@require_user
@strategy_route
@operation(
    "Delete a strategy (restorable for 30 days)",
    tag="strategies",
    responses={},
    errors=(404,),
)
def delete(strategy_id: str):
    session = db_session()
    soft_delete(owned_strategy(session, strategy_id))
    session.commit()
    log.info("strategy_deleted", strategy_id=strategy_id)
    return Response(status=204)


@bp.post("/strategies/<strategy_id>/restore")
@require_user
@operation(
    "Restore a deleted strategy within 30 days",
    tag="strategies",
    responses={200: StrategySummary},
    errors=(404, 410),
    description="After 30 days the answer is 410 RESTORE_EXPIRED until the "
    "strategy is purged, then 404.",
)
def restore(strategy_id: str):
    session = db_session()
    raw_id: uuid.UUID = parse_id(strategy_id, "Strategy")
    strategy = restore_strategy(session, current_user().id, raw_id)
    session.commit()
    return _summary_response(strategy)
