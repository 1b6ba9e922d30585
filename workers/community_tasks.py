"""Periodic work of the indicator catalog: recounting trending indicators."""

from __future__ import annotations

import redis

from engine.db import session_scope
from engine.library.trending import refresh_trending
from engine.logging import get_logger
from engine.settings import get_settings
from workers.celery_app import app
from workers.config import REFRESH_TRENDING_TASK

log = get_logger(__name__)

_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(get_settings().redis_url, socket_timeout=5)
    return _client


@app.task(name=REFRESH_TRENDING_TASK)
def refresh_trending_indicators() -> dict[str, int]:
    """Recount indicator use over the last 7 days into the trending set."""
    with session_scope() as session:
        counts = refresh_trending(session, _redis())
    log.info("trending_refreshed", kinds=len(counts), uses=sum(counts.values()))
    return dict(counts)
