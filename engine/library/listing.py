"""Listing a user's strategies and a strategy's versions, a page at a time.

Every list is a fixed number of statements whatever its length: the page, one
``selectinload`` for the indicator kinds, and a count when pages are numbered.
Pages are numbered (``page`` and ``size``) or follow an opaque keyset cursor
that stays stable while rows are added in front of it.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from engine.db.models import Strategy, StrategyIndicator, StrategyVersion
from engine.errors import InvalidRequest

#: Sort keys and their columns; a leading "-" means descending.
SORT_COLUMNS = {
    "updated": Strategy.updated_at,
    "created": Strategy.created_at,
    "name": Strategy.name,
}
SORTS = tuple(key for name in SORT_COLUMNS for key in (name, f"-{name}"))


@dataclass(frozen=True)
class StrategyFilter:
    """What a list shows: own live strategies, narrowed by these."""

    indicator: str | None = None
    text: str | None = None
    sort: str = "-updated"


@dataclass(frozen=True)
class Page:
    """One page of rows; ``total`` only for numbered pages."""

    items: list[Any]
    size: int
    page: int | None
    total: int | None
    next_cursor: str | None


def list_strategies(
    session: Session,
    user_id: uuid.UUID,
    wanted: StrategyFilter,
    *,
    size: int,
    page: int | None = None,
    cursor: str | None = None,
) -> Page:
    """The user's live strategies matching ``wanted``, one page of them.

    With ``cursor`` the page starts after the row it names (and no total is
    counted); otherwise ``page`` (1-based) picks it. Raises InvalidRequest
    for a cursor that is malformed or was made for another sort.
    """
    column, descending = _sort(wanted.sort)
    base = select(Strategy).where(
        Strategy.user_id == user_id, Strategy.deleted_at.is_(None)
    )
    base = _filtered(base, wanted)

    total = None
    statement = base
    if cursor is not None:
        value, last_id = _decode_cursor(cursor, wanted.sort)
        statement = statement.where(_after(column, descending, value, last_id))
    else:
        page = page or 1
        total = session.scalar(select(func.count()).select_from(base.subquery()))
        statement = statement.offset((page - 1) * size)

    order = (column.desc(), Strategy.id.desc()) if descending else (column, Strategy.id)
    statement = (
        statement.options(selectinload(Strategy.indicators))
        .order_by(*order)
        .limit(size + 1)
    )
    rows = list(session.scalars(statement))
    has_more = len(rows) > size
    rows = rows[:size]
    next_cursor = None
    if has_more and rows:
        last = rows[-1]
        next_cursor = _encode_cursor(wanted.sort, getattr(last, column.key), last.id)
    return Page(rows, size, None if cursor else page, total, next_cursor)


def list_versions(
    session: Session, strategy_id: uuid.UUID, *, page: int, size: int
) -> Page:
    """A strategy's versions, newest first, without their spec and code."""
    base = select(StrategyVersion).where(StrategyVersion.strategy_id == strategy_id)
    total = session.scalar(select(func.count()).select_from(base.subquery()))
    light = base.with_only_columns(
        *[
            column
            for column in StrategyVersion.__table__.columns
            if column.key not in ("spec", "code")
        ]
    )
    rows = session.execute(
        light.order_by(StrategyVersion.number.desc())
        .offset((page - 1) * size)
        .limit(size)
    ).all()
    return Page(list(rows), size, page, total, None)


def _sort(sort: str) -> tuple[Any, bool]:
    name = sort.removeprefix("-")
    if name not in SORT_COLUMNS:
        raise InvalidRequest(
            code="INVALID_SORT",
            message=f"Sort by one of: {', '.join(SORTS)}.",
            details={"sort": sort},
        )
    return SORT_COLUMNS[name], sort.startswith("-")


def _filtered(statement: Select, wanted: StrategyFilter) -> Select:
    if wanted.indicator:
        uses_kind = (
            select(StrategyIndicator.strategy_id)
            .where(
                StrategyIndicator.strategy_id == Strategy.id,
                StrategyIndicator.kind == wanted.indicator.casefold(),
            )
            .exists()
        )
        statement = statement.where(uses_kind)
    if wanted.text:
        # Limitation: a substring search scans the user's rows; there is no
        # portable text index for SQLite and PostgreSQL alike, and one user's
        # library is small enough that the (user_id, ...) indexes bound it.
        pattern = f"%{_escape_like(wanted.text)}%"
        statement = statement.where(
            or_(
                Strategy.name.ilike(pattern, escape="\\"),
                Strategy.description.ilike(pattern, escape="\\"),
            )
        )
    return statement


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _after(
    column: Any, descending: bool, value: Any, last_id: uuid.UUID
) -> ColumnElement[bool]:
    if descending:
        return or_(column < value, and_(column == value, Strategy.id < last_id))
    return or_(column > value, and_(column == value, Strategy.id > last_id))


def _encode_cursor(sort: str, value: Any, row_id: uuid.UUID) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([sort, value, str(row_id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> tuple[Any, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        made_for, value, row_id = json.loads(base64.urlsafe_b64decode(padded))
        row_uuid = uuid.UUID(row_id)
        if made_for != sort or not isinstance(value, str):
            raise ValueError("cursor of another sort")
        if sort.removeprefix("-") != "name":
            value = datetime.fromisoformat(value)
            if value.tzinfo is None:
                raise ValueError("naive timestamp")
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequest(
            code="INVALID_CURSOR",
            message="The cursor is not valid for this list; start from the first page.",
            details={"cursor": cursor[:100]},
        ) from None
    return value, row_uuid
