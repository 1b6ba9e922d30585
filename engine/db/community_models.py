"""Tables of the community: published strategies, likes, reports and forks.

A strategy is private until it has a live publication row. Unpublishing keeps
the row (and its likes) but marks it, so publishing again does not start from
zero; an admin's hide outlasts both. Counters sit on the publication row and
move in the same transaction as the like or fork that changes them.
``migrations/versions/0004_community.py`` creates exactly this schema.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.db.base import Base, utcnow


def _strategy_fk(ondelete: str = "CASCADE") -> ForeignKey:
    return ForeignKey("strategies.id", ondelete=ondelete)


def _user_fk(ondelete: str = "CASCADE") -> ForeignKey:
    return ForeignKey("users.id", ondelete=ondelete)


class StrategyPublication(Base):
    """One strategy's public face: which version, a text snapshot, counters."""

    __tablename__ = "strategy_publications"
    __table_args__ = (
        Index(None, "published_at"),
        Index(None, "like_count", "published_at"),
        Index(None, "fork_count", "published_at"),
        Index(None, "user_id", "published_at"),
        # A trigram GIN index on PostgreSQL (see the migration); plain elsewhere.
        Index(None, "search_text"),
        CheckConstraint("like_count >= 0", name="like_count"),
        CheckConstraint("fork_count >= 0", name="fork_count"),
    )

    strategy_id: Mapped[uuid.UUID] = mapped_column(_strategy_fk(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(_user_fk())
    version_number: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    #: Lowercased name, description, author handle and indicator kinds.
    search_text: Mapped[str] = mapped_column(String(1000), default="")
    like_count: Mapped[int] = mapped_column(default=0)
    fork_count: Mapped[int] = mapped_column(default=0)
    report_count: Mapped[int] = mapped_column(default=0)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    unpublished_at: Mapped[datetime | None]
    hidden_at: Mapped[datetime | None]
    hidden_reason: Mapped[str | None] = mapped_column(String(200))
    hidden_by: Mapped[uuid.UUID | None] = mapped_column(_user_fk("SET NULL"))


class PublishedIndicator(Base):
    """One indicator kind the published version uses (the community filter)."""

    __tablename__ = "published_indicators"

    strategy_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("strategy_publications.strategy_id", ondelete="CASCADE"),
        primary_key=True,
    )
    kind: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)


class StrategyLike(Base):
    """One user's like of one strategy; the primary key makes it one each."""

    __tablename__ = "strategy_likes"

    strategy_id: Mapped[uuid.UUID] = mapped_column(_strategy_fk(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(_user_fk(), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StrategyReport(Base):
    """A user's report of a published strategy, until an admin acts on it."""

    __tablename__ = "strategy_reports"
    __table_args__ = (
        UniqueConstraint("strategy_id", "user_id"),
        Index(None, "resolved_at", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    strategy_id: Mapped[uuid.UUID] = mapped_column(_strategy_fk())
    user_id: Mapped[uuid.UUID] = mapped_column(_user_fk(), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]


class StrategyFork(Base):
    """The link from a fork back to the published strategy it was copied from."""

    __tablename__ = "strategy_forks"

    strategy_id: Mapped[uuid.UUID] = mapped_column(_strategy_fk(), primary_key=True)
    source_strategy_id: Mapped[uuid.UUID | None] = mapped_column(
        _strategy_fk("SET NULL"), index=True
    )
    source_version: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
