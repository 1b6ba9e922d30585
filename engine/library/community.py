"""Sharing strategies: publish, like, fork, report, and admins hiding.

A strategy is public only while its publication row is live: published, not
unpublished, not hidden by an admin, and the strategy itself not deleted. Every
community route goes through ``visible_publication``, so anything else is a
plain 404 and nobody learns that a private strategy exists.

Like and fork counters move in the same transaction as the row that changes
them, guarded by the row's insert or delete actually happening, so a repeated
like (or a race of two) counts once. Functions flush and never commit.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.db.base import utcnow
from engine.db.community_models import (
    PublishedIndicator,
    StrategyFork,
    StrategyLike,
    StrategyPublication,
    StrategyReport,
)
from engine.db.models import Strategy, StrategyVersion, User, VersionSource
from engine.errors import NotFound
from engine.library.strategies import NewVersion, create_strategy, indicator_kinds

MAX_SEARCH_TEXT = 1000
NOT_FOUND = "Strategy not found."


def live_filter() -> Any:
    """The SQL condition of a publication anyone may see."""
    return (
        StrategyPublication.unpublished_at.is_(None)
        & StrategyPublication.hidden_at.is_(None)
        & Strategy.deleted_at.is_(None)
    )


def visible_publication(
    session: Session, strategy_id: uuid.UUID, *, lock: bool = False
) -> StrategyPublication:
    """The live publication of a strategy, or NotFound."""
    statement = (
        select(StrategyPublication)
        .join(Strategy, Strategy.id == StrategyPublication.strategy_id)
        .where(StrategyPublication.strategy_id == strategy_id, live_filter())
    )
    if lock:
        statement = statement.with_for_update(of=StrategyPublication)
    found = session.scalar(statement)
    if found is None:
        raise NotFound(message=NOT_FOUND)
    return found


def publish(
    session: Session,
    user_id: uuid.UUID,
    strategy_id: uuid.UUID,
    version_number: int | None = None,
) -> StrategyPublication:
    """Make one version of the user's strategy public (default: the current one).

    Publishing again switches the version and refreshes the text; likes and
    forks stay, and an admin's hide stays in force.
    """
    strategy = session.scalar(
        select(Strategy).where(
            Strategy.id == strategy_id,
            Strategy.user_id == user_id,
            Strategy.deleted_at.is_(None),
        )
    )
    if strategy is None:
        raise NotFound(message=NOT_FOUND)
    number = version_number or strategy.current_version
    version = session.scalar(
        select(StrategyVersion).where(
            StrategyVersion.strategy_id == strategy.id,
            StrategyVersion.number == number,
        )
    )
    if version is None:
        raise NotFound(
            message=f"Version {number} of this strategy does not exist.",
            details={"version": number},
        )

    kinds = [kind[:32] for kind in indicator_kinds(version.spec or {})]
    handle = session.scalar(select(User.handle).where(User.id == user_id))
    row = session.get(StrategyPublication, strategy.id)
    if row is None:
        row = StrategyPublication(strategy_id=strategy.id, user_id=user_id)
        session.add(row)
    row.version_number = number
    row.name = strategy.name
    row.description = strategy.description or ""
    row.search_text = search_text(strategy.name, row.description, handle, kinds)
    row.published_at = utcnow()
    row.unpublished_at = None
    session.flush()

    session.execute(
        delete(PublishedIndicator).where(PublishedIndicator.strategy_id == strategy.id)
    )
    for kind in kinds:
        session.add(PublishedIndicator(strategy_id=strategy.id, kind=kind))
    session.flush()
    return row


def search_text(name: str, description: str, handle: str | None, kinds: list[str]):
    """What text search matches: lowercased, one space between the parts."""
    text = " ".join([name, description, handle or "", *kinds]).casefold()
    return " ".join(text.split())[:MAX_SEARCH_TEXT]


def unpublish(session: Session, user_id: uuid.UUID, strategy_id: uuid.UUID) -> None:
    """Make the user's strategy private again; a private one stays private."""
    owned = session.scalar(
        select(Strategy.id).where(
            Strategy.id == strategy_id, Strategy.user_id == user_id
        )
    )
    if owned is None:
        raise NotFound(message=NOT_FOUND)
    session.execute(
        update(StrategyPublication)
        .where(
            StrategyPublication.strategy_id == strategy_id,
            StrategyPublication.unpublished_at.is_(None),
        )
        .values(unpublished_at=utcnow())
    )


def _insert_once(session: Session, model: type, values: dict[str, Any]) -> bool:
    """Insert a row unless its key exists; True when this call inserted it."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    # RETURNING says whether a row went in (drivers differ on rowcount here).
    table = model.__table__
    statement = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing()
        .returning(*table.primary_key.columns)
    )
    return session.execute(statement).first() is not None


def _bump(session: Session, strategy_id: uuid.UUID, column: str, by: int) -> None:
    counter = getattr(StrategyPublication, column)
    session.execute(
        update(StrategyPublication)
        .where(StrategyPublication.strategy_id == strategy_id)
        .values({column: counter + by})
        .execution_options(synchronize_session=False)
    )


def set_like(
    session: Session, user_id: uuid.UUID, strategy_id: uuid.UUID, liked: bool
) -> int:
    """Like or unlike a public strategy, idempotently; return the like count."""
    visible_publication(session, strategy_id)
    if liked:
        changed = _insert_once(
            session,
            StrategyLike,
            {"strategy_id": strategy_id, "user_id": user_id, "created_at": utcnow()},
        )
    else:
        result = session.execute(
            delete(StrategyLike).where(
                StrategyLike.strategy_id == strategy_id,
                StrategyLike.user_id == user_id,
            )
        )
        changed = result.rowcount == 1
    if changed:
        _bump(session, strategy_id, "like_count", 1 if liked else -1)
    return session.scalar(
        select(StrategyPublication.like_count).where(
            StrategyPublication.strategy_id == strategy_id
        )
    )


def fork(
    session: Session, user_id: uuid.UUID, strategy_id: uuid.UUID
) -> tuple[Strategy, StrategyVersion, StrategyFork]:
    """Copy a public strategy's published version into the user's library.

    The copy is private; its version 1 has the published spec and code with
    source ``fork``, and a ``strategy_forks`` row links it back.
    """
    source = visible_publication(session, strategy_id)
    published = session.scalar(
        select(StrategyVersion).where(
            StrategyVersion.strategy_id == strategy_id,
            StrategyVersion.number == source.version_number,
        )
    )
    if published is None:  # a version is never deleted while its strategy lives
        raise NotFound(message=NOT_FOUND)

    copy, version = create_strategy(
        session,
        user_id,
        NewVersion(
            spec=published.spec,
            code=published.code,
            source=VersionSource.FORK,
            prompt_version=published.prompt_version,
            provider=published.provider,
            model=published.model,
        ),
        name=source.name,
        description=source.description,
    )
    link = StrategyFork(
        strategy_id=copy.id,
        source_strategy_id=strategy_id,
        source_version=source.version_number,
    )
    session.add(link)
    _bump(session, strategy_id, "fork_count", 1)
    session.flush()
    return copy, version, link


def report(
    session: Session, user_id: uuid.UUID, strategy_id: uuid.UUID, reason: str
) -> bool:
    """Report a public strategy; True for a first report, False for a repeat.

    A repeat replaces the reason and reopens the report.
    """
    visible_publication(session, strategy_id)
    values = {"strategy_id": strategy_id, "user_id": user_id, "reason": reason}
    created = _insert_once(
        session, StrategyReport, {**values, "id": uuid.uuid4(), "created_at": utcnow()}
    )
    if created:
        _bump(session, strategy_id, "report_count", 1)
    else:
        session.execute(
            update(StrategyReport)
            .where(
                StrategyReport.strategy_id == strategy_id,
                StrategyReport.user_id == user_id,
            )
            .values(reason=reason, resolved_at=None)
        )
    return created


def set_hidden(
    session: Session,
    admin_id: uuid.UUID,
    strategy_id: uuid.UUID,
    hidden: bool,
    reason: str | None = None,
) -> StrategyPublication:
    """Hide a publication from the community (or show it again); admins only.

    Hiding resolves the open reports on it. The caller checks the role.
    """
    row = session.get(StrategyPublication, strategy_id)
    if row is None:
        raise NotFound(message=NOT_FOUND)
    now = utcnow()
    if hidden:
        row.hidden_at, row.hidden_by, row.hidden_reason = now, admin_id, reason
        session.execute(
            update(StrategyReport)
            .where(
                StrategyReport.strategy_id == strategy_id,
                StrategyReport.resolved_at.is_(None),
            )
            .values(resolved_at=now)
        )
    else:
        row.hidden_at = row.hidden_by = row.hidden_reason = None
    session.flush()
    return row
