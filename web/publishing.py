"""``/api/v1/strategies/<id>/publish``: owners share a version, or stop sharing."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from engine.library import community
from web.auth import current_user, require_user
from web.community_common import publication_body, strategy_id_of
from web.community_schemas import PublicationView, PublishRequest
from web.db import db_session
from web.operations import operation
from web.strategy_access import strategy_route

bp = Blueprint("publishing", __name__, url_prefix="/api/v1")
TAG = "community"


@bp.post("/strategies/<strategy_id>/publish")
@require_user
@strategy_route
@operation(
    "Publish a version of your strategy to the community",
    tag=TAG,
    body=PublishRequest,
    body_optional=True,
    responses={200: PublicationView},
    errors=(404,),
)
def publish_strategy(strategy_id: str, body: PublishRequest):
    session = db_session()
    row = community.publish(
        session, current_user().id, strategy_id_of(strategy_id), body.version
    )
    session.commit()
    return jsonify(publication_body(row))


@bp.delete("/strategies/<strategy_id>/publish")
@require_user
@strategy_route
@operation(
    "Make your strategy private again (likes are kept for a later publish)",
    tag=TAG,
    responses={},
    errors=(404,),
)
def unpublish_strategy(strategy_id: str):
    session = db_session()
    community.unpublish(session, current_user().id, strategy_id_of(strategy_id))
    session.commit()
    return Response(status=204)
