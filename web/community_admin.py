"""Community moderation for admins: open reports, hiding and showing again."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from engine.library import community
from engine.library import community_queries as queries
from web.admin import require_admin
from web.auth import current_user, require_user
from web.catalog_schemas import PageQuery
from web.community_common import (
    next_url,
    public_route,
    publication_body,
    strategy_id_of,
)
from web.community_schemas import HideRequest, PublicationView, ReportPage
from web.db import db_session
from web.operations import operation

bp = Blueprint("community_admin", __name__, url_prefix="/api/v1")
TAG = "community"


def _set_hidden(strategy_id: str, hidden: bool, reason: str | None) -> Response:
    session = db_session()
    row = community.set_hidden(
        session, current_user().id, strategy_id_of(strategy_id), hidden, reason
    )
    session.commit()
    return jsonify(publication_body(row))


@bp.post("/community/strategies/<strategy_id>/hide")
@require_user
@require_admin
@public_route
@operation(
    "Hide a published strategy from the community (admins)",
    tag=TAG,
    body=HideRequest,
    body_optional=True,
    responses={200: PublicationView},
    errors=(403, 404),
)
def hide_strategy(strategy_id: str, body: HideRequest):
    return _set_hidden(strategy_id, True, body.reason or None)


@bp.post("/community/strategies/<strategy_id>/unhide")
@require_user
@require_admin
@public_route
@operation(
    "Show a hidden strategy in the community again (admins)",
    tag=TAG,
    responses={200: PublicationView},
    errors=(403, 404),
)
def unhide_strategy(strategy_id: str):
    return _set_hidden(strategy_id, False, None)


@bp.get("/community/reports")
@require_user
@require_admin
@operation(
    "Open reports, newest first (admins)",
    tag=TAG,
    query=PageQuery,
    responses={200: ReportPage},
    errors=(403,),
)
def list_reports(query: PageQuery):
    page = queries.open_reports(db_session(), query.page, query.size)
    items = [
        {
            "id": str(report.id),
            "strategy_id": str(report.strategy_id),
            "strategy_name": name,
            "hidden": hidden_at is not None,
            "reporter": handle,
            "reason": report.reason,
            "created_at": report.created_at.isoformat(),
        }
        for report, name, hidden_at, handle in page.items
    ]
    return jsonify(
        items=items,
        page=page.page,
        size=page.size,
        next=next_url("community_admin.list_reports", page),
    )
