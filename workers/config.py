"""Celery configuration derived from PineForge settings."""

from __future__ import annotations

from typing import Any

from kombu import Queue

from engine.settings import Settings

GENERATE_TASK = "pineforge.generate"
SWEEP_TASK = "pineforge.sweep_jobs"
GRANT_CREDITS_TASK = "pineforge.grant_monthly_credits"
PURGE_TOKENS_TASK = "pineforge.purge_expired_tokens"
REFRESH_TRENDING_TASK = "pineforge.refresh_trending"
EXPORT_EMAIL_TASK = "pineforge.export_email"
RESULT_EMAIL_TASK = "pineforge.result_email"
PURGE_STRATEGIES_TASK = "pineforge.purge_deleted_strategies"

HOUR = 3600.0
TRENDING_INTERVAL = 900.0

#: Slow I/O work (LLM calls) stays apart from quick housekeeping.
GENERATE_QUEUE = "generate"
DEFAULT_QUEUE = "default"


def celery_config(settings: Settings) -> dict[str, Any]:
    """Return the Celery settings for one PineForge deployment."""
    transport_options: dict[str, Any] = {
        "visibility_timeout": settings.broker_visibility_timeout,
        # Plans map to priorities 0 (first) .. 9; one Redis list per level.
        "priority_steps": list(range(10)),
        "sep": ":",
    }
    if settings.broker_key_prefix:
        transport_options["global_keyprefix"] = settings.broker_key_prefix

    return {
        "broker_url": settings.broker_url,
        "broker_transport_options": transport_options,
        "broker_connection_retry_on_startup": True,
        "task_ignore_result": True,
        "result_backend": None,
        "task_serializer": "json",
        "accept_content": ["json"],
        "timezone": "UTC",
        "enable_utc": True,
        # A message is acknowledged only after its task ran, and given back when
        # the worker dies, so a lost worker never loses a job.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_concurrency": settings.worker_concurrency,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "worker_hijack_root_logger": False,
        "task_default_queue": DEFAULT_QUEUE,
        "task_queues": (
            Queue(DEFAULT_QUEUE, routing_key=DEFAULT_QUEUE),
            Queue(GENERATE_QUEUE, routing_key=GENERATE_QUEUE),
        ),
        "task_routes": {GENERATE_TASK: {"queue": GENERATE_QUEUE}},
        "beat_schedule": {
            "sweep-jobs": {
                "task": SWEEP_TASK,
                "schedule": float(settings.sweep_interval_seconds),
                "options": {"expires": float(settings.sweep_interval_seconds)},
            },
            # Hourly, so a new period's grant lands soon after it starts;
            # reserving credits also makes the grant on demand.
            "grant-monthly-credits": {
                "task": GRANT_CREDITS_TASK,
                "schedule": HOUR,
                "options": {"expires": HOUR},
            },
            "purge-expired-tokens": {
                "task": PURGE_TOKENS_TASK,
                "schedule": 24 * HOUR,
                "options": {"expires": HOUR},
            },
            # Soft-deleted strategies are kept 30 days; daily is precise enough.
            "purge-deleted-strategies": {
                "task": PURGE_STRATEGIES_TASK,
                "schedule": 24 * HOUR,
                "options": {"expires": HOUR},
            },
            # Live bumps keep it current; the recount drops uses past 7 days.
            "refresh-trending": {
                "task": REFRESH_TRENDING_TASK,
                "schedule": TRENDING_INTERVAL,
                "options": {"expires": TRENDING_INTERVAL},
            },
        },
        "beat_schedule_filename": str(settings.var_dir / "celerybeat-schedule"),
    }
