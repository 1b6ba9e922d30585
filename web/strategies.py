"""``/api/v1/strategies``: submit an idea, read a strategy, download its script.

Submitting writes the job row and commits before the message is sent, so a
worker never looks for a job that is not there yet.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounts.admission import admit_generation
from engine.db import Strategy, StrategyVersion
from engine.errors import Conflict, InvalidRequest, NotFound
from engine.jobs import create_job
from engine.logging import bind_log_context, get_logger
from web.auth import current_user, require_user
from web.db import db_session
from web.jobs import parse_id, status_url
from web.operations import RawResponse, operation
from web.schemas import (
    ExportQuery,
    GenerateRequest,
    JobAccepted,
    StrategyQuery,
    StrategyView,
    VersionSummary,
    dump,
)
from workers.tasks import enqueue_generation

IDEMPOTENCY_HEADER = "Idempotency-Key"
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")
IDEMPOTENCY_SCHEMA = {
    "type": "string",
    "pattern": _IDEMPOTENCY_KEY.pattern,
    "description": "Repeat a submission safely: the same key returns the first job.",
}
MAX_SLUG_LENGTH = 60

bp = Blueprint("strategies", __name__, url_prefix="/api/v1")
log = get_logger(__name__)


def _idempotency_key() -> str | None:
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


def _accepted(job: Any, status: int) -> Response:
    url = status_url(job)
    body = JobAccepted(job_id=str(job.id), status=job.status, status_url=url)
    response = jsonify(dump(body))
    response.status_code = status
    response.headers["Location"] = url
    return response


@bp.post("/strategies/generate")
@require_user
@operation(
    "Turn a plain-language idea into a Pine Script strategy (asynchronously)",
    tag="strategies",
    body=GenerateRequest,
    responses={202: JobAccepted, 200: JobAccepted},
    errors=(409,),
    headers={IDEMPOTENCY_HEADER: IDEMPOTENCY_SCHEMA},
    description=(
        "Answers 202 with the job to poll. With an `Idempotency-Key` header "
        "(1-128 visible ASCII characters) a repeat answers 200 with the first job; "
        "the same key with a different body is a 409."
    ),
)
def generate(body: GenerateRequest):
    key = _idempotency_key()
    options = body.options.model_dump(mode="json", exclude_none=True)
    session = db_session()
    job, created = create_job(session, current_user().id, body.request, options, key)

    if not created:
        if job.request != body.request or (job.options or {}) != options:
            raise Conflict(
                code="IDEMPOTENCY_KEY_REUSED",
                message="This Idempotency-Key was used with a different request.",
                details={"job_id": str(job.id)},
            )
        return _accepted(job, 200)

    admit_generation(session, current_user(), job.id)
    session.commit()
    bind_log_context(job_id=str(job.id))
    # A refused message still answers 202: the committed job stays queued and
    # the sweeper sends it again, so a broker outage delays it, never loses it.
    enqueued = enqueue_generation(job.id)
    log.info("job_submitted", enqueued=enqueued)
    return _accepted(job, 202)


def owned_strategy(session: Session, raw_id: str) -> Strategy:
    """The current user's live strategy with this id, or NotFound."""
    strategy_id = parse_id(raw_id, "Strategy")
    strategy = session.scalar(
        select(Strategy).where(
            Strategy.id == strategy_id,
            Strategy.user_id == current_user().id,
            Strategy.deleted_at.is_(None),
        )
    )
    if strategy is None:
        raise NotFound(message="Strategy not found.")
    return strategy


def pick_version(strategy: Strategy, number: int | None) -> StrategyVersion:
    """The requested version (default: the current one), or NotFound."""
    wanted = number or strategy.current_version
    for version in strategy.versions:
        if version.number == wanted:
            return version
    raise NotFound(
        message=f"Version {wanted} of this strategy does not exist.",
        details={"version": wanted},
    )


def slugify(name: str) -> str:
    """A file name stem from a strategy name: ascii, lowercase, dashes."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:MAX_SLUG_LENGTH].rstrip("-") or "strategy"


@bp.get("/strategies/<strategy_id>")
@require_user
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
            "strategies.export_strategy",
            strategy_id=str(strategy.id),
            version=version.number,
        ),
    )
    return jsonify(dump(view))


@bp.get("/strategies/<strategy_id>/export")
@require_user
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
    code = version.code if version.code.endswith("\n") else version.code + "\n"

    response = Response(code, mimetype="text/plain")
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    filename = f"{slugify(strategy.name)}.pine"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
