"""Periodic housekeeping for accounts: monthly credit grants, expired tokens.

Each task works in small committed batches, so a large user table never holds
many row locks at once, and repeating a run does nothing new (grants are unique
per user and period).
"""

from __future__ import annotations

from engine.accounts.credits import grant_monthly_credits_to_all
from engine.accounts.refresh import purge_expired
from engine.db import in_batches, session_scope
from engine.logging import get_logger
from workers.celery_app import app
from workers.config import GRANT_CREDITS_TASK, PURGE_TOKENS_TASK

log = get_logger(__name__)

GRANT_BATCH = 500


@app.task(name=GRANT_CREDITS_TASK)
def grant_monthly_credits() -> int:
    """Give every user this period's plan credits, once per period."""
    total = in_batches(grant_monthly_credits_to_all, GRANT_BATCH)
    if total:
        log.info("monthly_credits_granted", users=total)
    return total


@app.task(name=PURGE_TOKENS_TASK)
def purge_expired_tokens() -> int:
    """Delete refresh-token families whose last token has expired."""
    with session_scope() as session:
        purged = purge_expired(session)
    if purged:
        log.info("refresh_families_purged", families=purged)
    return purged
