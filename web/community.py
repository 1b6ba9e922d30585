"""``/api/v1/community``: public strategies, a user's page, likes, forks, reports.

Anyone reads; a token (optional on reads) adds whether you liked each one.
A strategy that is private, unpublished, hidden or deleted is a plain 404 on
every route here. ``init_community`` registers this blueprint with publishing
(``web.publishing``) and moderation (``web.community_admin``).
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, jsonify

from engine.library import community
from engine.library import community_queries as queries
from engine.library.trending import record_spec_use
from web import community_admin, publishing
from web.auth import current_user, require_user
from web.catalog_common import shared_redis
from web.community_common import (
    fork_link,
    item_body,
    next_url,
    public_route,
    public_strategy_route,
    strategy_id_of,
    viewer_id,
)
from web.community_schemas import (
    CommunityPage,
    CommunityQuery,
    CommunityStrategyDetail,
    ForkCreated,
    LikeState,
    ReportAccepted,
    ReportRequest,
    UserStrategies,
    UserStrategiesQuery,
)
from web.db import db_session
from web.operations import operation

bp = Blueprint("community", __name__, url_prefix="/api/v1")
TAG = "community"


def init_community(app: Flask) -> None:
    """Register the community, publishing and moderation routes."""
    app.register_blueprint(publishing.bp)
    app.register_blueprint(bp)
    app.register_blueprint(community_admin.bp)


@bp.get("/community/strategies")
@operation(
    "Search public strategies; sort by recent, likes or forks",
    tag=TAG,
    query=CommunityQuery,
    responses={200: CommunityPage},
)
def list_public_strategies(query: CommunityQuery):
    page = queries.list_public(
        db_session(),
        text=query.q,
        indicator=query.indicator,
        sort=query.sort,
        page=query.page,
        size=query.size,
        viewer_id=viewer_id(),
    )
    return jsonify(
        items=[item_body(item) for item in page.items],
        page=page.page,
        size=page.size,
        next=next_url(
            "community.list_public_strategies",
            page,
            q=query.q,
            indicator=query.indicator,
            sort=query.sort,
        ),
    )


@bp.get("/community/strategies/<strategy_id>")
@public_route
@operation(
    "Read a public strategy: its published spec and code",
    tag=TAG,
    responses={200: CommunityStrategyDetail},
    errors=(404,),
)
def get_public_strategy(strategy_id: str):
    detail = queries.public_detail(
        db_session(), strategy_id_of(strategy_id), viewer_id()
    )
    body = item_body(detail.item)
    body.update(
        spec=detail.spec, code=detail.code, forked_from=fork_link(detail.forked_from)
    )
    return jsonify(body)


@bp.get("/community/users/<handle>")
@public_route
@operation(
    "A user's public strategies",
    tag=TAG,
    query=UserStrategiesQuery,
    responses={200: UserStrategies},
    errors=(404,),
)
def list_user_strategies(handle: str, query: UserStrategiesQuery):
    session = db_session()
    author = queries.user_by_handle(session, handle)
    page = queries.list_public(
        session,
        sort=query.sort,
        page=query.page,
        size=query.size,
        author_id=author.id,
        viewer_id=viewer_id(),
    )
    return jsonify(
        user={"handle": author.handle, "display_name": author.display_name},
        items=[item_body(item) for item in page.items],
        page=page.page,
        size=page.size,
        next=next_url(
            "community.list_user_strategies", page, handle=handle, sort=query.sort
        ),
    )


# ------------------------------------------------------------ taking part


def _like(strategy_id: str, liked: bool) -> Response:
    session = db_session()
    count = community.set_like(
        session, current_user().id, strategy_id_of(strategy_id), liked
    )
    session.commit()
    return jsonify(liked=liked, like_count=count)


@bp.put("/community/strategies/<strategy_id>/like")
@require_user
@public_strategy_route
@operation(
    "Like a public strategy (again is a no-op)",
    tag=TAG,
    responses={200: LikeState},
    errors=(404,),
)
def like_strategy(strategy_id: str):
    return _like(strategy_id, True)


@bp.delete("/community/strategies/<strategy_id>/like")
@require_user
@public_strategy_route
@operation(
    "Take your like back (again is a no-op)",
    tag=TAG,
    responses={200: LikeState},
    errors=(404,),
)
def unlike_strategy(strategy_id: str):
    return _like(strategy_id, False)


@bp.post("/community/strategies/<strategy_id>/fork")
@require_user
@public_strategy_route
@operation(
    "Copy a public strategy into your library as a new private strategy",
    tag=TAG,
    responses={201: ForkCreated},
    errors=(404,),
)
def fork_strategy(strategy_id: str):
    session = db_session()
    copy, version, link = community.fork(
        session, current_user().id, strategy_id_of(strategy_id)
    )
    session.commit()
    record_spec_use(shared_redis(), version.spec)

    strategy_url = f"/api/v1/strategies/{copy.id}"
    body = ForkCreated(
        strategy_id=str(copy.id),
        version=version.number,
        strategy_url=strategy_url,
        forked_from=fork_link(link),
    )
    response = jsonify(body.model_dump(mode="json"))
    response.status_code = 201
    response.headers["Location"] = strategy_url
    return response


@bp.post("/community/strategies/<strategy_id>/report")
@require_user
@public_strategy_route
@operation(
    "Report a public strategy to the admins",
    tag=TAG,
    body=ReportRequest,
    responses={201: ReportAccepted, 200: ReportAccepted},
    errors=(404,),
    description="201 for your first report of it, 200 when you report it again.",
)
def report_strategy(strategy_id: str, body: ReportRequest):
    session = db_session()
    first = community.report(
        session, current_user().id, strategy_id_of(strategy_id), body.reason
    )
    session.commit()
    response = jsonify(reported=True, first_report=first)
    response.status_code = 201 if first else 200
    return response
