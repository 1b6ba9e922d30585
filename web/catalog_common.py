"""Pieces shared by the catalog routes: the cached store, bodies, next links,
and ``user_catalog`` for any view that validates or renders a user's spec."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from flask import current_app, url_for

from engine.catalog import extra_indicators
from engine.library.catalog_store import CatalogStore
from web.auth import current_user
from web.catalog_schemas import IndicatorView
from web.db import db_session
from web.schemas import dump


def catalog_store() -> CatalogStore:
    """The app's cached catalog."""
    return current_app.extensions["pineforge.catalog"]


def shared_redis() -> redis.Redis:
    """The app's Redis client for counters and caches."""
    return current_app.extensions["pineforge.redis"]


def indicator_body(entry: dict[str, Any]) -> dict[str, Any]:
    """A catalog entry as the API shows it (``IndicatorView``)."""
    return dump(IndicatorView.model_validate(entry))


def next_url(endpoint: str, query: Any, has_more: bool) -> str | None:
    """The URL of the next page with the same filters, when there is one."""
    if not has_more:
        return None
    params = query.model_dump(exclude_none=True)
    return url_for(endpoint, **{**params, "page": query.page + 1})


@contextmanager
def user_catalog(user_id: uuid.UUID | None = None) -> Iterator[None]:
    """Inside the block, specs may use the user's own indicators (default: the
    caller's) and see built-ins as admins tuned them: wrap ``parse_spec`` and
    ``render_strategy`` in it."""
    owner = user_id or current_user().id
    with extra_indicators(catalog_store().definitions(db_session(), owner)):
        yield
