"""Celery entry point: ``celery -A workers.celery_app worker`` (or ``beat``).

Without ``REDIS_URL`` the embedded Redis server is started on import, so the
worker, beat and the web app find the same broker.
"""

from __future__ import annotations

import gc
from typing import Any

from celery import Celery, signals

from engine.db import dispose_engine
from engine.embedded import ensure_embedded_redis
from engine.logging import configure_logging, get_logger
from engine.settings import get_settings
from workers.config import celery_config

log = get_logger(__name__)

settings = get_settings()
if settings.embedded_redis:
    ensure_embedded_redis(settings)

app = Celery(
    "pineforge",
    include=[
        "workers.tasks",
        "workers.housekeeping",
        "workers.library_tasks",
        "workers.community_tasks",
    ],
)
app.conf.update(celery_config(settings))


@signals.setup_logging.connect
def _configure_logging(**kwargs: Any) -> None:
    configure_logging(get_settings())


@signals.worker_init.connect
def _warm_parser(**kwargs: Any) -> None:
    # The Pine parser builds its tables on first use (seconds). Warming it in
    # the main process covers every pool: prefork children inherit it.
    from engine.validate import warm_parser

    warm_parser()
    # What start-up built (modules, the parser's tables, settings) lives as
    # long as the process: move it out of the collector's sight, so that the
    # collections every job triggers do not walk it again and again.
    gc.collect()
    gc.freeze()


@signals.worker_process_init.connect
def _forget_parent_connections(**kwargs: Any) -> None:
    dispose_engine(close=False)


@signals.worker_ready.connect
def _sweep_once(**kwargs: Any) -> None:
    # Jobs orphaned while no worker was up are picked up at once, not only at
    # the next beat tick (and even when no beat is running).
    from workers.tasks import run_sweep

    try:
        run_sweep()
    except Exception:
        log.exception("startup_sweep_failed")
    finally:
        dispose_engine()
