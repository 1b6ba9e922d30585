"""A task that does nothing but say it ran: the broker's own round trip.

The bench's worker loads it with ``--include bench.noop``. Results are off in
PineForge's Celery settings, so the task answers on a Redis list instead.
"""

from __future__ import annotations

import time

import redis

from engine.settings import get_settings
from workers.celery_app import app

NOOP_TASK = "bench.noop"

# Connects on first use; its pool serves every thread of the worker.
_replies = redis.Redis.from_url(get_settings().redis_url)


@app.task(name=NOOP_TASK)
def noop(reply_key: str) -> None:
    """Push the time it ran onto ``reply_key``."""
    _replies.rpush(reply_key, time.time())
