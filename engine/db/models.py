"""The PineForge tables as typed SQLAlchemy models.

Portable across PostgreSQL and SQLite: UUID keys, JSON documents and aware UTC
timestamps. ``migrations/versions`` must create exactly this schema; the
migration test compares the two.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db.base import Base, utcnow


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED_STATUSES = frozenset(
    {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}
)


class VersionSource(StrEnum):
    GENERATE = "generate"
    MANUAL = "manual"
    REFINE = "refine"
    FORK = "fork"


def _in(values: type[StrEnum]) -> str:
    return ", ".join(f"'{member.value}'" for member in values)


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(120))
    handle: Mapped[str | None] = mapped_column(String(64), unique=True)
    plan: Mapped[str] = mapped_column(String(32), default="free")
    role: Mapped[str] = mapped_column(String(32), default="user")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccessToken(Base):
    """A personal access token; only its SHA-256 digest is stored."""

    __tablename__ = "access_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    #: The sign-in family it was made under; revoking that family revokes it.
    #: No foreign key: families are purged when they expire, tokens live on.
    family_id: Mapped[uuid.UUID | None] = mapped_column(index=True)


class Strategy(Base):
    __tablename__ = "strategies"
    __table_args__ = (
        Index(None, "user_id", "created_at"),
        Index(None, "user_id", "updated_at"),
        Index(None, "user_id", "name"),
        Index(None, "deleted_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    current_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None]

    versions: Mapped[list[StrategyVersion]] = relationship(
        back_populates="strategy",
        order_by="StrategyVersion.number",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    #: Written in SQL by engine.library.strategies; read here for lists.
    indicators: Mapped[list[StrategyIndicator]] = relationship(
        viewonly=True, order_by="StrategyIndicator.kind"
    )


class StrategyIndicator(Base):
    """One indicator kind the strategy's current version uses (for filtering)."""

    __tablename__ = "strategy_indicators"

    strategy_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("strategies.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)


class StrategyVersion(Base):
    """One immutable revision of a strategy: its spec and the code rendered from it."""

    __tablename__ = "strategy_versions"
    __table_args__ = (
        UniqueConstraint("strategy_id", "number"),
        # Labels are unique per strategy; NULL (no label) never collides.
        Index(None, "strategy_id", "label", unique=True),
        CheckConstraint(f"source IN ({_in(VersionSource)})", name="source"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    strategy_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("strategies.id", ondelete="CASCADE")
    )
    number: Mapped[int]
    spec: Mapped[dict[str, Any]]
    code: Mapped[str] = mapped_column(Text)
    prompt_version: Mapped[str | None] = mapped_column(String(64))
    provider: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(16), default=VersionSource.GENERATE)
    label: Mapped[str | None] = mapped_column(String(40))
    #: The version this one was derived from (edited, refined or reverted).
    parent_number: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    strategy: Mapped[Strategy] = relationship(back_populates="versions")


class Job(Base):
    """One unit of background work; its status is only ever read from here."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key"),
        Index(None, "status", "lease_expires_at"),
        Index(None, "user_id", "created_at"),
        CheckConstraint(f"status IN ({_in(JobStatus)})", name="status"),
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(32), default="generate")
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    stage: Mapped[str | None] = mapped_column(String(64))
    progress: Mapped[int] = mapped_column(default=0)
    request: Mapped[str] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))

    attempts: Mapped[int] = mapped_column(default=0)
    lease_expires_at: Mapped[datetime | None]
    deadline_at: Mapped[datetime | None]
    enqueued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    error_details: Mapped[dict[str, Any] | None]

    strategy_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("strategies.id", ondelete="SET NULL"), index=True
    )
    version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("strategy_versions.id", ondelete="SET NULL"), index=True
    )
    #: Refine: the version the instruction applies to. Export: the version sent.
    base_version: Mapped[int | None]
    #: Set once the result went out by email, so a redelivered task sends none.
    delivered_at: Mapped[datetime | None]
    prompt_version: Mapped[str | None] = mapped_column(String(64))
    provider: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(128))
    accounting: Mapped[dict[str, Any] | None]

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def finished(self) -> bool:
        """True once the job reached a terminal status."""
        return self.status in FINISHED_STATUSES
