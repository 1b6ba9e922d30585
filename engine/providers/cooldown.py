"""A failure breaker per provider, kept in Redis so every worker shares it.

Each failed call increments a counter that lives for one window. When the
counter reaches the threshold, a cooldown key is set for the cooldown period
and every worker skips that provider until it expires. A success clears the
counter. Redis trouble never fails a job: the breaker then simply stays open.
"""

from __future__ import annotations

import redis

from engine.logging import get_logger

log = get_logger(__name__)

_PREFIX = "pineforge:llm:"


class Cooldown:
    """Shared provider cooldown state; `redis_client=None` turns it off."""

    def __init__(
        self,
        redis_client: redis.Redis | None,
        *,
        threshold: int,
        window_seconds: int,
        cooldown_seconds: int,
    ) -> None:
        self._redis = redis_client
        self.threshold = threshold
        self.window_seconds = window_seconds
        self.cooldown_seconds = cooldown_seconds

    @classmethod
    def from_settings(cls, redis_client, settings) -> Cooldown:
        """Build from `ProviderSettings` (threshold, window, duration)."""
        return cls(
            redis_client,
            threshold=settings.llm_cooldown_threshold,
            window_seconds=settings.llm_cooldown_window_seconds,
            cooldown_seconds=settings.llm_cooldown_seconds,
        )

    def is_cooling(self, key: str | None) -> bool:
        """True while the provider behind `key` is being skipped."""
        if self._redis is None or key is None:
            return False
        try:
            return bool(self._redis.exists(_PREFIX + "cooldown:" + key))
        except redis.RedisError:
            log.warning("llm.cooldown_unavailable", provider=key)
            return False

    def record_failure(self, key: str | None) -> bool:
        """Count one failed call; return True when this one started a cooldown."""
        if self._redis is None or key is None:
            return False
        failures = _PREFIX + "failures:" + key
        try:
            pipe = self._redis.pipeline()
            # Create the counter with the window's TTL once; INCR keeps the TTL.
            pipe.set(failures, 0, ex=self.window_seconds, nx=True)
            pipe.incr(failures)
            _, count = pipe.execute()
            if count < self.threshold:
                return False
            pipe = self._redis.pipeline()
            pipe.set(_PREFIX + "cooldown:" + key, count, ex=self.cooldown_seconds)
            pipe.delete(failures)
            pipe.execute()
        except redis.RedisError:
            log.warning("llm.cooldown_unavailable", provider=key)
            return False
        return True

    def record_success(self, key: str | None) -> None:
        """Forget earlier failures of a provider that answered."""
        if self._redis is None or key is None:
            return
        try:
            self._redis.delete(_PREFIX + "failures:" + key)
        except redis.RedisError:
            log.warning("llm.cooldown_unavailable", provider=key)
