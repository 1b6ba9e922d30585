"""``/api/v1/jobs``: where a generation job stands, read from the database.

A job belongs to one user. Someone else's job, an unknown id and an id that is
not even a UUID all get the same 404, so nobody can learn that a job exists.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, jsonify, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from engine.db import Job, StrategyVersion
from engine.errors import NotFound
from web.auth import current_user, require_user
from web.db import db_session
from web.operations import operation
from web.schemas import (
    ErrorInfo,
    JobListQuery,
    JobPage,
    JobResult,
    JobView,
    dump,
)

bp = Blueprint("jobs", __name__, url_prefix="/api/v1")

#: Keys left out of a job body when they have nothing to say.
OPTIONAL_KEYS = ("result", "error", "accounting")


def parse_id(raw: str, what: str) -> uuid.UUID:
    """A path id as a UUID; anything else is simply not found."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound(message=f"{what} not found.") from None


def status_url(job: Job) -> str:
    return url_for("jobs.get_job", job_id=str(job.id))


def _result(session: Session, job: Job) -> JobResult | None:
    if job.strategy_id is None or job.version_id is None:
        return None
    version = session.get(StrategyVersion, job.version_id)
    if version is None:
        return None
    strategy_id = str(job.strategy_id)
    return JobResult(
        strategy_id=strategy_id,
        version=version.number,
        strategy_url=url_for("strategies.get_strategy", strategy_id=strategy_id),
        export_url=url_for(
            "exports.export_strategy",
            strategy_id=strategy_id,
            version=version.number,
        ),
    )


def _error(job: Job) -> ErrorInfo | None:
    if job.error_code is None:
        return None
    return ErrorInfo(
        code=job.error_code,
        message=job.error_message or "The job failed.",
        details=job.error_details or {},
    )


def job_body(session: Session, job: Job) -> dict[str, Any]:
    """The JSON body describing ``job`` (status, progress, result or error)."""
    view = JobView(
        id=str(job.id),
        status=job.status,
        stage=job.stage,
        progress=job.progress,
        attempts=job.attempts,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        result=_result(session, job),
        error=_error(job),
        accounting=job.accounting,
    )
    body = dump(view)
    for key in OPTIONAL_KEYS:
        if body[key] is None:
            del body[key]
    return body


def owned_job(session: Session, raw_id: str) -> Job:
    """The current user's job with this id, or NotFound."""
    job_id = parse_id(raw_id, "Job")
    job = session.scalar(
        select(Job).where(Job.id == job_id, Job.user_id == current_user().id)
    )
    if job is None:
        raise NotFound(message="Job not found.")
    return job


@bp.get("/jobs/<job_id>")
@require_user
@operation(
    "Read a job's status, progress and result or error",
    tag="jobs",
    responses={200: JobView},
    errors=(404,),
)
def get_job(job_id: str):
    session = db_session()
    return jsonify(job_body(session, owned_job(session, job_id)))


def _load_result_versions(session: Session, jobs: list[Job]) -> list[StrategyVersion]:
    # One query for every result's version; job_body then finds each one in
    # the session's identity map instead of asking per job. The identity map
    # holds rows weakly, so the caller keeps the returned list alive.
    version_ids = {job.version_id for job in jobs if job.version_id is not None}
    if not version_ids:
        return []
    return list(
        session.scalars(
            select(StrategyVersion)
            .where(StrategyVersion.id.in_(version_ids))
            .options(load_only(StrategyVersion.id, StrategyVersion.number))
        )
    )


@bp.get("/jobs")
@require_user
@operation(
    "List your jobs, newest first",
    tag="jobs",
    query=JobListQuery,
    responses={200: JobPage},
)
def list_jobs(query: JobListQuery):
    session = db_session()
    statement = select(Job).where(Job.user_id == current_user().id)
    if query.status is not None:
        statement = statement.where(Job.status == query.status)
    statement = (
        statement.order_by(Job.created_at.desc(), Job.id.desc())
        .offset(query.offset)
        .limit(query.limit + 1)
    )
    jobs = list(session.scalars(statement))

    has_more = len(jobs) > query.limit
    next_url = None
    if has_more:
        offset = query.offset + query.limit
        params: dict[str, Any] = {"limit": query.limit, "offset": offset}
        if query.status is not None:
            params["status"] = query.status
        next_url = url_for("jobs.list_jobs", **params)
    jobs = jobs[: query.limit]
    loaded = _load_result_versions(session, jobs)
    items = [job_body(session, job) for job in jobs]
    del loaded
    return jsonify(
        {"items": items, "limit": query.limit, "offset": query.offset, "next": next_url}
    )
