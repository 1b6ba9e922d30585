"""``/api/v1/indicators``: the catalog, its categories, trending kinds, and
admins' changes to the built-ins (your own indicators: ``web.custom_indicators``).

Reads come from the Redis-cached catalog (``engine.library.catalog_store``);
every write commits first and then drops the part of the cache it changed, so
the next read, from anyone, sees the change.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import redis
from flask import Blueprint, Flask, jsonify

from engine.library.catalog_store import CatalogStore, builtin_entry
from engine.library.overrides import OverridePatch, update_override
from engine.library.trending import WINDOW, trending
from engine.settings import Settings
from web import custom_indicators
from web.admin import require_admin
from web.auth import current_user, require_user
from web.catalog_common import catalog_store, indicator_body, next_url, shared_redis
from web.catalog_schemas import (
    CategoryList,
    IndicatorListQuery,
    IndicatorPage,
    IndicatorView,
    TrendingList,
    TrendingQuery,
)
from web.db import db_session
from web.operations import operation

bp = Blueprint("indicators", __name__, url_prefix="/api/v1")
TAG = "indicators"


def init_indicators(app: Flask, settings: Settings) -> None:
    """Register the catalog routes with a catalog store on the app's Redis."""
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
    app.extensions["pineforge.redis"] = client
    app.extensions["pineforge.catalog"] = CatalogStore(
        client, settings.broker_key_prefix
    )
    app.register_blueprint(bp)
    app.register_blueprint(custom_indicators.bp)


def _matches(entry: dict[str, Any], query: IndicatorListQuery) -> bool:
    if query.source != "all" and entry["builtin"] != (query.source == "builtin"):
        return False
    if query.category and entry["category"] != query.category:
        return False
    haystack = " ".join((entry["kind"], entry["title"], entry["description"]))
    return all(
        word in haystack.casefold() for word in (query.q or "").casefold().split()
    )


@bp.get("/indicators")
@require_user
@operation(
    "List the indicator catalog: built-ins (as admins tuned them) and your own",
    tag=TAG,
    query=IndicatorListQuery,
    responses={200: IndicatorPage},
)
def list_indicators(query: IndicatorListQuery):
    entries = catalog_store().entries(db_session(), current_user().id)
    found = [entry for entry in entries if _matches(entry, query)]
    start = (query.page - 1) * query.size
    page = found[start : start + query.size]
    has_more = len(found) > start + query.size
    return jsonify(
        items=[indicator_body(entry) for entry in page],
        page=query.page,
        size=query.size,
        next=next_url("indicators.list_indicators", query, has_more),
    )


@bp.get("/indicators/categories")
@require_user
@operation(
    "List the categories of the catalog you see, with their sizes",
    tag=TAG,
    responses={200: CategoryList},
)
def list_categories():
    entries = catalog_store().entries(db_session(), current_user().id)
    counts = Counter(entry["category"] for entry in entries)
    items = [{"category": name, "count": counts[name]} for name in sorted(counts)]
    return jsonify(items=items)


@bp.get("/indicators/trending")
@require_user
@operation(
    "Built-in indicators most used by new strategy versions in the last 7 days",
    tag=TAG,
    query=TrendingQuery,
    responses={200: TrendingList},
)
def list_trending(query: TrendingQuery):
    session = db_session()
    by_kind = {entry["kind"]: entry for entry in catalog_store().builtins(session)}
    items = [
        {
            "kind": kind,
            "title": by_kind[kind]["title"],
            "category": by_kind[kind]["category"],
            "uses": uses,
        }
        for kind, uses in trending(session, shared_redis(), query.limit)
        if kind in by_kind
    ]
    return jsonify(window_days=WINDOW.days, items=items)


@bp.patch("/indicators/<kind>")
@require_user
@require_admin
@operation(
    "Change a built-in indicator's description, category or parameter bounds",
    tag=TAG,
    body=OverridePatch,
    responses={200: IndicatorView},
    errors=(403, 404),
    description=(
        "Admins only. Bounds may only narrow the built-in's; a key set to null "
        "goes back to the built-in value."
    ),
)
def update_builtin_indicator(kind: str, body: OverridePatch):
    session = db_session()
    entry = update_override(session, kind, body, current_user().id)
    session.commit()
    catalog_store().drop_builtins()
    return jsonify(indicator_body(builtin_entry(entry)))
