"""Tables of the indicator catalog: users' own indicators and admin overrides.

Same ``Base`` (and naming convention) as :mod:`engine.db.models`;
``migrations/versions/0004_community.py`` creates exactly this schema.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db.base import Base, utcnow


class CustomIndicator(Base):
    """A user-defined indicator: parameters, outputs and a Pine template."""

    __tablename__ = "custom_indicators"
    # The unique pair also serves a user's list, which is ordered by kind.
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(80))
    category: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    params: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    outputs: Mapped[list[str]] = mapped_column(JSON, default=list)
    overlay: Mapped[bool] = mapped_column(default=False)
    template: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class IndicatorOverride(Base):
    """An admin's changes to a built-in: text, category, parameter defaults/bounds."""

    __tablename__ = "indicator_overrides"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    description: Mapped[str | None] = mapped_column(String(500))
    category: Mapped[str | None] = mapped_column(String(32))
    #: ``{param: {"default": .., "min": .., "max": ..}}``, only the keys changed.
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
