"""Which built-in indicators new strategy versions use, over the last 7 days.

The scores live in one Redis sorted set: kind -> number of versions created in
the window that use it (a version using two EMAs counts once for ``ema``).
Two writers keep it, and count the same way:

* ``record_use`` bumps it live, right after a version is stored;
* ``refresh_trending`` (a beat task) recounts the window from the database and
  swaps the result in, so uses older than 7 days drop out.

User-defined kinds are private to their owner and never counted.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.catalog import CATALOG
from engine.db.base import utcnow
from engine.db.models import StrategyVersion
from engine.logging import get_logger
from engine.settings import get_settings

log = get_logger(__name__)

WINDOW = timedelta(days=7)
TRENDING_KEY = "pf:trending:7d"
REFRESHED_KEY = "pf:trending:refreshed_at"
#: Versions read per round trip while recounting.
SCAN_BATCH = 500

# Built-in kinds and aliases only: never a user's extra catalog.
_BUILTIN_KINDS = {kind: kind for kind in CATALOG} | {
    alias: entry.kind for entry in CATALOG.values() for alias in entry.aliases
}


def _key(name: str, prefix: str | None) -> str:
    return (get_settings().broker_key_prefix if prefix is None else prefix) + name


def kinds_in_spec(spec: Mapping[str, Any] | None) -> set[str]:
    """The distinct built-in kinds a stored spec uses (aliases resolved)."""
    kinds = set()
    for use in (spec or {}).get("indicators") or []:
        kind = use.get("kind") if isinstance(use, Mapping) else None
        if isinstance(kind, str) and kind in _BUILTIN_KINDS:
            kinds.add(_BUILTIN_KINDS[kind])
    return kinds


def record_use(
    client: redis.Redis | None, kinds: Iterable[str], prefix: str | None = None
) -> None:
    """Count one new version using ``kinds``; call after the version committed.

    Never raises: trending is a nicety, and a Redis outage must not fail the
    work that stored the version. Non-built-in kinds are ignored.
    """
    counted = kinds_in_spec({"indicators": [{"kind": kind} for kind in kinds]})
    if client is None or not counted:
        return
    try:
        with client.pipeline(transaction=True) as pipe:
            for kind in sorted(counted):
                pipe.zincrby(_key(TRENDING_KEY, prefix), 1, kind)
            pipe.execute()
    except redis.RedisError as exc:
        log.warning("trending_record_failed", error=type(exc).__name__)


def record_spec_use(
    client: redis.Redis | None, spec: Mapping[str, Any], prefix: str | None = None
) -> None:
    """``record_use`` for the kinds of one stored spec."""
    record_use(client, kinds_in_spec(spec), prefix)


def count_window(session: Session, now: datetime | None = None) -> Counter[str]:
    """Versions per built-in kind created within ``WINDOW`` before ``now``."""
    since = (now or utcnow()) - WINDOW
    rows = session.execute(
        select(StrategyVersion.spec)
        .where(StrategyVersion.created_at >= since)
        .execution_options(yield_per=SCAN_BATCH)
    )
    counts: Counter[str] = Counter()
    for (spec,) in rows:
        counts.update(kinds_in_spec(spec))
    return counts


def refresh_trending(
    session: Session,
    client: redis.Redis,
    now: datetime | None = None,
    prefix: str | None = None,
) -> Counter[str]:
    """Recount the window from the database and replace the sorted set."""
    counts = count_window(session, now)
    key = _key(TRENDING_KEY, prefix)
    staging = f"{key}:staging"
    # Limitation: a live bump that lands between the count above and the swap
    # below is lost until the next refresh; the window is recounted each time.
    with client.pipeline(transaction=True) as pipe:
        pipe.delete(staging)
        if counts:
            pipe.zadd(staging, dict(counts))
            pipe.rename(staging, key)
        else:
            pipe.delete(key)
        pipe.set(_key(REFRESHED_KEY, prefix), str(time.time()))
        pipe.execute()
    return counts


def trending(
    session: Session,
    client: redis.Redis,
    limit: int = 10,
    prefix: str | None = None,
) -> list[tuple[str, int]]:
    """The most used kinds, most first (ties by name); at most ``limit``.

    A window that was never counted (a fresh deployment, a flushed Redis) is
    counted on the spot, so the first reader does not see an empty list.
    """
    if not client.exists(_key(REFRESHED_KEY, prefix)):
        refresh_trending(session, client, prefix=prefix)
    scores = client.zrange(_key(TRENDING_KEY, prefix), 0, -1, withscores=True)
    ranked = sorted(
        ((member.decode(), int(score)) for member, score in scores if score > 0),
        key=lambda item: (-item[1], item[0]),
    )
    return ranked[:limit]
