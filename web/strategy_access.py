"""Finding the current user's strategy behind a ``<strategy_id>`` in the path.

Someone else's strategy, a deleted one, an unknown id and an id that is not a
UUID all get the same 404, so nobody can learn that a strategy exists.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import g
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.db import Strategy, StrategyVersion
from engine.errors import NotFound
from web.auth import current_user
from web.db import db_session
from web.jobs import parse_id


def owned_strategy(session: Session, raw_id: str) -> Strategy:
    """The current user's live strategy with this id, or NotFound.

    Looked up once per request: `strategy_route` checks it before the body is
    read, and the view gets the same row again for free.
    """
    found = g.setdefault("owned_strategies", {})
    if raw_id in found:
        return found[raw_id]
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
    found[raw_id] = strategy
    return strategy


def strategy_route(view: Callable[..., Any]) -> Callable[..., Any]:
    """Answer 404 for someone else's ``<strategy_id>`` before reading the input.

    Goes between ``@require_user`` and ``@operation``, so another user's id is
    not found whatever body or query comes with it.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        owned_strategy(db_session(), kwargs["strategy_id"])
        return view(*args, **kwargs)

    return wrapper


def pick_version(strategy: Strategy, number: int | None) -> StrategyVersion:
    """The requested version (default: the current one), or NotFound."""
    wanted = number or strategy.current_version
    for version in strategy.versions:
        if version.number == wanted:
            return version
    raise NotFound(
        code="VERSION_NOT_FOUND",
        message=f"Version {wanted} of this strategy does not exist.",
        details={"version": wanted},
    )
