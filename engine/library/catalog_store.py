"""The catalog a user sees: built-ins with admin overrides, plus their own.

Both halves are cached in Redis as plain entries. Every change drops the cache
of the half it touched: built-in overrides drop the shared half, a user's own
indicators drop that user's. Keys carry a generation number that a change bumps
*after* its commit, so a reader that loaded old rows just before a change can
only store them under the generation nobody reads any more.

Redis is a cache here, never the truth: when it is unreachable, entries come
straight from the database.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.catalog import CATALOG, IndicatorDef, ParamDef
from engine.db.indicator_models import CustomIndicator
from engine.library.custom_indicators import CustomIndicatorFields, to_indicator_def
from engine.library.overrides import builtin_definitions
from engine.logging import get_logger

log = get_logger(__name__)

CACHE_PREFIX = "pf:catalog:"
CACHE_TTL_SECONDS = 3600
BUILTINS = "builtins"


def param_data(param: ParamDef) -> dict[str, Any]:
    """A parameter as JSON-ready data (every field, ``None`` for no bound)."""
    return {
        "name": param.name,
        "type": param.type,
        "default": param.default,
        "title": param.title,
        "min": param.min,
        "max": param.max,
        "step": param.step,
    }


def builtin_entry(entry: IndicatorDef) -> dict[str, Any]:
    """A built-in (overrides applied) as a catalog entry."""
    base = CATALOG[entry.kind]
    return {
        "kind": entry.kind,
        "title": entry.title,
        "category": entry.category,
        "description": entry.description,
        "builtin": True,
        "overridden": entry != base,
        "pine_call": entry.pine_call,
        "params": [param_data(p) for p in entry.params],
        "outputs": list(entry.output_names()),
        "overlay": entry.overlay,
    }


def custom_entry(row: CustomIndicator) -> dict[str, Any]:
    """A user-defined indicator as a catalog entry (with what rebuilds it)."""
    fields = custom_fields(row)
    entry = to_indicator_def(row.kind, fields)
    return {
        "id": str(row.id),
        "kind": row.kind,
        "title": row.name,
        "category": row.category,
        "description": row.description,
        "builtin": False,
        "overridden": False,
        "pine_call": "custom",
        "params": [param_data(p) for p in entry.params],
        "outputs": list(row.outputs),
        "overlay": row.overlay,
        "template": row.template,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "definition": fields.model_dump(mode="json"),
    }


def custom_fields(row: CustomIndicator) -> CustomIndicatorFields:
    """The stored definition of a user-defined indicator, validated again."""
    return CustomIndicatorFields.model_validate(
        {
            "name": row.name,
            "category": row.category,
            "description": row.description,
            "params": row.params,
            "outputs": row.outputs,
            "overlay": row.overlay,
            "template": row.template,
        }
    )


class CatalogStore:
    """Reads the catalog through the Redis cache; drops it on changes."""

    def __init__(
        self,
        client: redis.Redis | None,
        prefix: str = "",
        ttl_seconds: int = CACHE_TTL_SECONDS,
    ) -> None:
        self._redis = client
        self._prefix = f"{prefix}{CACHE_PREFIX}"
        self._ttl = ttl_seconds

    def builtins(self, session: Session) -> list[dict[str, Any]]:
        """Built-in entries with overrides, cached for everyone."""
        return self._cached(
            BUILTINS, lambda: [builtin_entry(e) for e in builtin_definitions(session)]
        )

    def customs(self, session: Session, user_id: uuid.UUID) -> list[dict[str, Any]]:
        """A user's own entries, ordered by kind, cached per user."""

        def load() -> list[dict[str, Any]]:
            """The user's rows, as entries."""
            rows = session.scalars(
                select(CustomIndicator)
                .where(CustomIndicator.user_id == user_id)
                .order_by(CustomIndicator.kind)
            )
            return [custom_entry(row) for row in rows]

        return self._cached(f"user:{user_id}", load)

    def entries(self, session: Session, user_id: uuid.UUID) -> list[dict[str, Any]]:
        """The whole catalog one user sees: built-ins first, then their own."""
        return self.builtins(session) + self.customs(session, user_id)

    def definitions(self, session: Session, user_id: uuid.UUID) -> list[IndicatorDef]:
        """What ``extra_indicators`` needs so a user's specs see this catalog.

        Overridden built-ins and the user's own indicators; untouched
        built-ins are left to the catalog itself.
        """
        found = [
            _builtin_definition(entry)
            for entry in self.builtins(session)
            if entry["overridden"]
        ]
        for entry in self.customs(session, user_id):
            fields = CustomIndicatorFields.model_validate(entry["definition"])
            found.append(to_indicator_def(entry["kind"], fields))
        return found

    def drop_builtins(self) -> None:
        """Forget the built-in half; call after committing an override."""
        self._drop(BUILTINS)

    def drop_user(self, user_id: uuid.UUID) -> None:
        """Forget one user's half; call after committing a change to their own."""
        self._drop(f"user:{user_id}")

    def _cached(
        self, scope: str, load: Callable[[], list[dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        if self._redis is None:
            return load()
        try:
            # The generation is read before the rows: see the module docstring.
            generation = int(self._redis.get(self._prefix + scope + ":gen") or 0)
            key = f"{self._prefix}{scope}:{generation}"
            raw = self._redis.get(key)
        except redis.RedisError as exc:
            log.warning("catalog_cache_unavailable", error=type(exc).__name__)
            return load()
        if raw is not None:
            return json.loads(raw)

        entries = load()
        try:
            self._redis.set(key, json.dumps(entries), ex=self._ttl)
        except redis.RedisError as exc:
            log.warning("catalog_cache_unavailable", error=type(exc).__name__)
        return entries

    def _drop(self, scope: str) -> None:
        if self._redis is None:
            return
        # The counter never expires: were it to lapse back to a number in use
        # before, a reader could find an old entry stored under that number.
        try:
            generation = self._redis.incr(self._prefix + scope + ":gen")
            self._redis.delete(f"{self._prefix}{scope}:{generation - 1}")
        except redis.RedisError as exc:
            # Limitation: with Redis down at this moment the old entries live
            # until their TTL runs out; the change itself is committed.
            log.warning("catalog_cache_drop_failed", error=type(exc).__name__)


def _builtin_definition(entry: dict[str, Any]) -> IndicatorDef:
    base = CATALOG[entry["kind"]]
    return IndicatorDef(
        kind=base.kind,
        title=base.title,
        category=entry["category"],
        description=entry["description"],
        pine_call=base.pine_call,
        family=base.family,
        params=tuple(ParamDef(**param) for param in entry["params"]),
        outputs=base.outputs,
        overlay=base.overlay,
        aliases=base.aliases,
    )
