"""Reuse a generated spec for the same request, options and prompt version.

The key is a digest of the normalised request (case and whitespace folded),
the options that shape the strategy, and the prompt template fingerprint, so
a changed template never serves an old answer. Only the spec (and who made
it) is stored, never model text; the script is rendered again on a hit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import redis

from engine.logging import get_logger

log = get_logger(__name__)

KEY_PREFIX = "pineforge:result:"

# Options that say where a result goes, not what it is.
_DELIVERY_OPTIONS = frozenset({"deliver", "email", "notify", "webhook_url"})


def cache_key(
    request: str,
    options: Mapping | None,
    prompt_version: str,
    owner: str | None = None,
) -> str:
    """The Redis key for one generation's inputs, scoped to the requesting user.

    Scoping keeps one user's paid (or own-key) answer from serving another
    user for free, and keeps a cache hit from telling anyone what others asked.
    """
    normalised = " ".join(request.casefold().split())
    shaping = {
        key: value
        for key, value in (options or {}).items()
        if key not in _DELIVERY_OPTIONS and value not in (None, "", [], {})
    }
    material = json.dumps(
        [str(owner or ""), normalised, shaping, prompt_version],
        sort_keys=True,
        default=str,
    )
    return KEY_PREFIX + hashlib.sha256(material.encode()).hexdigest()


class ResultCache:
    """get/put of stored generations with a TTL; a None client or TTL 0 is off."""

    def __init__(self, redis_client: redis.Redis | None, ttl_seconds: int) -> None:
        self._redis = redis_client
        self.ttl_seconds = ttl_seconds

    @property
    def enabled(self) -> bool:
        """False without a Redis client or with a TTL of zero."""
        return self._redis is not None and self.ttl_seconds > 0

    def get(self, key: str) -> dict | None:
        """The stored entry, or None on a miss (or when Redis is unreachable)."""
        if not self.enabled:
            return None
        try:
            raw = self._redis.get(key)
        except redis.RedisError:
            log.warning("result_cache.unavailable")
            return None
        if raw is None:
            return None
        try:
            entry = json.loads(raw)
        except ValueError:
            return None
        return entry if isinstance(entry, dict) else None

    def put(self, key: str, entry: dict) -> None:
        """Store an entry (JSON-ready dict) for the cache's TTL."""
        if not self.enabled:
            return
        try:
            self._redis.set(key, json.dumps(entry), ex=self.ttl_seconds)
        except redis.RedisError:
            log.warning("result_cache.unavailable")
