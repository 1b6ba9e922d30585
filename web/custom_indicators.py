"""``/api/v1/indicators/custom``: indicators users define from a Pine template.

Every write commits, then drops the owner's half of the catalog cache, so the
next catalog read shows the change.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, g, jsonify, url_for
from sqlalchemy import select

from engine.db.indicator_models import CustomIndicator
from engine.library.catalog_store import custom_entry
from engine.library.custom_indicators import CustomIndicatorDraft
from engine.library.custom_store import (
    CustomIndicatorPatch,
    create_custom,
    owned_custom,
    update_custom,
)
from web.auth import current_user, require_user
from web.catalog_common import catalog_store, indicator_body, next_url
from web.catalog_schemas import IndicatorPage, IndicatorView, PageQuery
from web.db import db_session
from web.jobs import parse_id
from web.operations import operation

bp = Blueprint("custom_indicators", __name__, url_prefix="/api/v1")
TAG = "indicators"


def indicator_route(view: Callable[..., Any]) -> Callable[..., Any]:
    """Answer 404 for someone else's ``<indicator_id>`` before reading the input."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wanted = parse_id(kwargs["indicator_id"], "Indicator")
        g.custom_indicator = owned_custom(db_session(), current_user().id, wanted)
        return view(*args, **kwargs)

    return wrapper


def _owned() -> CustomIndicator:
    return g.custom_indicator


@bp.post("/indicators/custom")
@require_user
@operation(
    "Define your own indicator from a Pine expression template",
    tag=TAG,
    body=CustomIndicatorDraft,
    responses={201: IndicatorView},
    errors=(409,),
    description=(
        "The template is one Pine expression with `{{ param }}` placeholders, "
        "e.g. `ta.ema(ta.rsi({{ source }}, {{ length }}), {{ smooth }})`. It is "
        "rendered into a small strategy and parsed and linted; a template that "
        "fails is a 422 INDICATOR_TEMPLATE_INVALID naming the problem."
    ),
)
def create_custom_indicator(body: CustomIndicatorDraft):
    session = db_session()
    user_id = current_user().id
    row = create_custom(session, user_id, body)
    session.commit()
    catalog_store().drop_user(user_id)

    response = jsonify(indicator_body(custom_entry(row)))
    response.status_code = 201
    response.headers["Location"] = url_for(
        "custom_indicators.get_custom_indicator", indicator_id=str(row.id)
    )
    return response


@bp.get("/indicators/custom")
@require_user
@operation(
    "List your own indicators, by kind",
    tag=TAG,
    query=PageQuery,
    responses={200: IndicatorPage},
)
def list_custom_indicators(query: PageQuery):
    rows = list(
        db_session().scalars(
            select(CustomIndicator)
            .where(CustomIndicator.user_id == current_user().id)
            .order_by(CustomIndicator.kind)
            .offset((query.page - 1) * query.size)
            .limit(query.size + 1)
        )
    )
    has_more = len(rows) > query.size
    return jsonify(
        items=[indicator_body(custom_entry(row)) for row in rows[: query.size]],
        page=query.page,
        size=query.size,
        next=next_url("custom_indicators.list_custom_indicators", query, has_more),
    )


@bp.get("/indicators/custom/<indicator_id>")
@require_user
@indicator_route
@operation(
    "Read one of your own indicators",
    tag=TAG,
    responses={200: IndicatorView},
    errors=(404,),
)
def get_custom_indicator(indicator_id: str):
    return jsonify(indicator_body(custom_entry(_owned())))


@bp.patch("/indicators/custom/<indicator_id>")
@require_user
@indicator_route
@operation(
    "Change one of your own indicators (its kind stays)",
    tag=TAG,
    body=CustomIndicatorPatch,
    responses={200: IndicatorView},
    errors=(404,),
)
def update_custom_indicator(indicator_id: str, body: CustomIndicatorPatch):
    session = db_session()
    row = update_custom(session, _owned(), body)
    session.commit()
    catalog_store().drop_user(row.user_id)
    return jsonify(indicator_body(custom_entry(row)))


@bp.delete("/indicators/custom/<indicator_id>")
@require_user
@indicator_route
@operation(
    "Delete one of your own indicators (stored scripts keep their code)",
    tag=TAG,
    responses={},
    errors=(404,),
)
def delete_custom_indicator(indicator_id: str):
    session = db_session()
    row = _owned()
    session.delete(row)
    session.commit()
    catalog_store().drop_user(current_user().id)
    return Response(status=204)
