"""Reading the community: the public list, one strategy, reports for admins.

Each read is a fixed number of statements however many rows it shows: the
page itself (publication, author and strategy in one join), then one statement
each for the kinds on the page and, for a signed-in viewer, their likes.
Pages are numbered; one row past the page tells whether another follows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from engine.db.community_models import (
    PublishedIndicator,
    StrategyFork,
    StrategyLike,
    StrategyPublication,
    StrategyReport,
)
from engine.db.models import Strategy, StrategyVersion, User
from engine.errors import NotFound
from engine.library.community import NOT_FOUND, live_filter

Sort = Literal["recent", "likes", "forks"]
MAX_TERMS = 5

_P = StrategyPublication
SORT_ORDER = {
    "recent": (_P.published_at.desc(), _P.strategy_id.desc()),
    "likes": (_P.like_count.desc(), _P.published_at.desc(), _P.strategy_id.desc()),
    "forks": (_P.fork_count.desc(), _P.published_at.desc(), _P.strategy_id.desc()),
}


@dataclass(frozen=True)
class CommunityItem:
    """One public strategy as a list shows it."""

    strategy_id: uuid.UUID
    name: str
    description: str
    version: int
    author_handle: str | None
    author_name: str | None
    like_count: int
    fork_count: int
    published_at: datetime
    kinds: list[str] = field(default_factory=list)
    liked: bool | None = None


@dataclass(frozen=True)
class Page:
    """One page of a list; ``has_more`` says whether another follows."""

    items: list[Any]
    page: int
    size: int
    has_more: bool


def like_pattern(term: str) -> str:
    """``%term%`` for LIKE with the wildcards of ``term`` escaped (by ``\\``)."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_public(
    session: Session,
    *,
    text: str | None = None,
    indicator: str | None = None,
    sort: Sort = "recent",
    page: int = 1,
    size: int = 20,
    author_id: uuid.UUID | None = None,
    viewer_id: uuid.UUID | None = None,
) -> Page:
    """Public strategies matching every word of ``text`` and the indicator kind."""
    statement = (
        select(_P, User.handle, User.display_name)
        .join(Strategy, Strategy.id == _P.strategy_id)
        .join(User, User.id == _P.user_id)
        .where(live_filter())
    )
    if author_id is not None:
        statement = statement.where(_P.user_id == author_id)
    for term in (text or "").casefold().split()[:MAX_TERMS]:
        statement = statement.where(_P.search_text.like(like_pattern(term), "\\"))
    if indicator:
        statement = statement.where(
            exists().where(
                PublishedIndicator.strategy_id == _P.strategy_id,
                PublishedIndicator.kind == indicator,
            )
        )
    statement = (
        statement.order_by(*SORT_ORDER[sort]).offset((page - 1) * size).limit(size + 1)
    )
    rows = session.execute(statement).all()

    ids = [row[0].strategy_id for row in rows[:size]]
    kinds = kinds_by_strategy(session, ids)
    liked = liked_by(session, viewer_id, ids)
    items = [
        CommunityItem(
            strategy_id=publication.strategy_id,
            name=publication.name,
            description=publication.description,
            version=publication.version_number,
            author_handle=handle,
            author_name=display_name,
            like_count=publication.like_count,
            fork_count=publication.fork_count,
            published_at=publication.published_at,
            kinds=kinds.get(publication.strategy_id, []),
            liked=None if viewer_id is None else publication.strategy_id in liked,
        )
        for publication, handle, display_name in rows[:size]
    ]
    return Page(items, page, size, has_more=len(rows) > size)


def kinds_by_strategy(
    session: Session, ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    """The published indicator kinds of each strategy, sorted (one statement)."""
    if not ids:
        return {}
    found: dict[uuid.UUID, list[str]] = {}
    rows = session.execute(
        select(PublishedIndicator.strategy_id, PublishedIndicator.kind)
        .where(PublishedIndicator.strategy_id.in_(ids))
        .order_by(PublishedIndicator.kind)
    )
    for strategy_id, kind in rows:
        found.setdefault(strategy_id, []).append(kind)
    return found


def liked_by(
    session: Session, viewer_id: uuid.UUID | None, ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of ``ids`` the viewer likes (one statement, none for nobody)."""
    if viewer_id is None or not ids:
        return set()
    return set(
        session.scalars(
            select(StrategyLike.strategy_id).where(
                StrategyLike.user_id == viewer_id, StrategyLike.strategy_id.in_(ids)
            )
        )
    )


@dataclass(frozen=True)
class CommunityDetail:
    """One public strategy with its published spec and code."""

    item: CommunityItem
    spec: dict[str, Any]
    code: str
    forked_from: StrategyFork | None


def public_detail(
    session: Session, strategy_id: uuid.UUID, viewer_id: uuid.UUID | None = None
) -> CommunityDetail:
    """A public strategy's published version, or NotFound."""
    row = session.execute(
        select(_P, User.handle, User.display_name, StrategyVersion, StrategyFork)
        .join(Strategy, Strategy.id == _P.strategy_id)
        .join(User, User.id == _P.user_id)
        .join(
            StrategyVersion,
            (StrategyVersion.strategy_id == _P.strategy_id)
            & (StrategyVersion.number == _P.version_number),
        )
        .outerjoin(StrategyFork, StrategyFork.strategy_id == _P.strategy_id)
        .where(_P.strategy_id == strategy_id, live_filter())
    ).first()
    if row is None:
        raise NotFound(message=NOT_FOUND)

    publication, handle, display_name, version, link = row
    item = CommunityItem(
        strategy_id=publication.strategy_id,
        name=publication.name,
        description=publication.description,
        version=publication.version_number,
        author_handle=handle,
        author_name=display_name,
        like_count=publication.like_count,
        fork_count=publication.fork_count,
        published_at=publication.published_at,
        kinds=kinds_by_strategy(session, [strategy_id]).get(strategy_id, []),
        liked=None
        if viewer_id is None
        else strategy_id in liked_by(session, viewer_id, [strategy_id]),
    )
    return CommunityDetail(item, version.spec, version.code, link)


def user_by_handle(session: Session, handle: str) -> User:
    """The user with this handle, or NotFound."""
    user = session.scalar(select(User).where(User.handle == handle))
    if user is None:
        raise NotFound(message="No user has this handle.")
    return user


def open_reports(session: Session, page: int = 1, size: int = 20) -> Page:
    """Unresolved reports, newest first, with the strategy and the reporter."""
    rows = session.execute(
        select(StrategyReport, _P.name, _P.hidden_at, User.handle)
        .join(_P, _P.strategy_id == StrategyReport.strategy_id)
        .join(User, User.id == StrategyReport.user_id)
        .where(StrategyReport.resolved_at.is_(None))
        .order_by(StrategyReport.created_at.desc(), StrategyReport.id.desc())
        .offset((page - 1) * size)
        .limit(size + 1)
    ).all()
    return Page(list(rows[:size]), page, size, has_more=len(rows) > size)
