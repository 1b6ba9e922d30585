"""Pieces shared by the community routes: who is asking, route marks, bodies.

Community paths name public things (a published strategy, a handle), so their
views carry ``public_ids``; a strategy nobody may see is a 404 before any
input is read (``public_strategy_route``).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any

from flask import g, request, url_for

from engine.library import community
from engine.library import community_queries as queries
from engine.logging import bind_log_context
from web.auth import authenticate
from web.community_schemas import PublicationView
from web.db import db_session
from web.jobs import parse_id


def viewer_id() -> uuid.UUID | None:
    """The caller's id when a token is sent (a bad token is still a 401)."""
    if not request.headers.get("Authorization"):
        return None
    user = g.user = authenticate()
    bind_log_context(user_id=str(user.id))
    return user.id


def strategy_id_of(raw: str) -> uuid.UUID:
    """A path's strategy id; anything but a UUID is simply not found."""
    return parse_id(raw, "Strategy")


def public_route(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a route whose path names something public, not an owned resource."""
    view.public_ids = True  # type: ignore[attr-defined]
    return view


def public_strategy_route(view: Callable[..., Any]) -> Callable[..., Any]:
    """Answer 404 for a strategy nobody may see, before reading the input."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        community.visible_publication(
            db_session(), strategy_id_of(kwargs["strategy_id"])
        )
        return view(*args, **kwargs)

    return public_route(wrapper)


def community_url(strategy_id: uuid.UUID) -> str:
    """Where anyone reads a public strategy."""
    return url_for("community.get_public_strategy", strategy_id=str(strategy_id))


def item_body(item: queries.CommunityItem) -> dict[str, Any]:
    """A public strategy as lists show it (``CommunityStrategy``)."""
    return {
        "id": str(item.strategy_id),
        "name": item.name,
        "description": item.description,
        "version": item.version,
        "author": {"handle": item.author_handle, "display_name": item.author_name},
        "indicators": item.kinds,
        "like_count": item.like_count,
        "fork_count": item.fork_count,
        "published_at": item.published_at.isoformat(),
        "liked": item.liked,
        "url": community_url(item.strategy_id),
    }


def fork_link(link: Any) -> dict[str, Any] | None:
    """The link back from a fork to its source (``ForkLink``), if any."""
    if link is None:
        return None
    source = link.source_strategy_id
    return {
        "strategy_id": str(source) if source else None,
        "version": link.source_version,
        "url": community_url(source) if source else None,
    }


def next_url(endpoint: str, page: queries.Page, **params: Any) -> str | None:
    """The URL of the page after ``page``, with the same filters, if any."""
    if not page.has_more:
        return None
    values = {k: v for k, v in params.items() if v is not None}
    return url_for(endpoint, **values, page=page.page + 1, size=page.size)


def publication_body(row: Any) -> dict[str, Any]:
    """Where a strategy stands in the community (``PublicationView``)."""
    return PublicationView(
        strategy_id=str(row.strategy_id),
        version=row.version_number,
        published=row.unpublished_at is None,
        hidden=row.hidden_at is not None,
        published_at=row.published_at,
        community_url=community_url(row.strategy_id),
    ).model_dump(mode="json")
