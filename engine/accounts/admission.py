"""Admission of a generation job: the plan's limits, then the credits.

:func:`admit_generation` is the one call the submit endpoint makes, in the
transaction that inserts the job. It serialises a user's submissions on their
credit balance row, so the count of active jobs and the balance it reads cannot
be raced by a parallel submission of the same user.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Row, bindparam, exists, func, select
from sqlalchemy.orm import Session

from engine.accounts.config import get_accounts_settings
from engine.accounts.credits import lock_balance, reserve_credits
from engine.accounts.plans import Plan, get_plan
from engine.db.accounts_models import CreditBalance, UserApiKey
from engine.db.models import Job, JobStatus, User
from engine.errors import RateLimited

ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


class TooManyActiveJobs(RateLimited):
    default_code = "TOO_MANY_ACTIVE_JOBS"
    default_message = "Too many of your jobs are waiting; wait for some to finish."
    #: Seconds a client should wait before trying again.
    retry_after = 10


@dataclass(frozen=True)
class Admission:
    """What the submit endpoint needs after admitting a job."""

    plan: Plan
    credits_reserved: int

    @property
    def queue_priority(self) -> int:
        """The Celery priority to enqueue the job with (0 first, 9 last)."""
        return self.plan.queue_priority


def admit_generation(session: Session, user: User, job_id: uuid.UUID) -> Admission:
    """Check the plan's queued-jobs limit and reserve the job's credits.

    Raises :class:`TooManyActiveJobs` (429) or
    :class:`~engine.accounts.credits.InsufficientCredits` (409); the caller
    then rolls back, so the job row goes too. Every job reserves the price of
    one generation; a job later served by the user's own key gets it back
    (see :func:`~engine.accounts.credits.capture_credits`).
    """
    plan = get_plan(user.plan)
    lock_balance(session, user.id)

    active = session.scalar(
        select(func.count())
        .select_from(Job)
        .where(
            Job.user_id == user.id,
            Job.status.in_(ACTIVE_STATUSES),
            Job.id != job_id,
        )
    )
    if active >= plan.queued_limit:
        raise TooManyActiveJobs(details={"limit": plan.queued_limit, "plan": plan.name})

    cost = get_accounts_settings().credits_per_job
    entry = reserve_credits(session, user, job_id, cost)
    return Admission(plan=plan, credits_reserved=entry.amount if entry else 0)


def lock_job_owner(session: Session, job_id: uuid.UUID) -> Row | None:
    """Read a job for its claim while locking its owner's balance row.

    Returns the job's ``status``, ``user_id`` and ``kind``, the owner's
    ``plan`` and ``own_keys`` (whether they stored provider keys), or None
    when there is no such job. The lock serialises the claims of one user, so
    that the jobs-at-once check the claim makes (see
    :func:`engine.jobs.claim_job`) cannot be raced by another worker: that
    check is a later statement, which under READ COMMITTED (PostgreSQL's
    default, which we keep) sees every claim committed before the lock was
    granted. One round trip in the common case: the balance row exists once
    the user has submitted a job.
    """
    query = _owner_query()
    row = session.execute(query, {"job_id": job_id}).first()
    if row is None:
        owner = session.scalar(select(Job.user_id).where(Job.id == job_id))
        if owner is None:
            return None
        lock_balance(session, owner)
        row = session.execute(query, {"job_id": job_id}).one()
    return row


@cache
def _owner_query() -> Any:
    # Built once: every claim runs it.
    own_keys = exists().where(UserApiKey.user_id == Job.user_id)
    return (
        select(Job.status, Job.user_id, Job.kind, User.plan, own_keys.label("own_keys"))
        .join(User, User.id == Job.user_id)
        .join(CreditBalance, CreditBalance.user_id == Job.user_id)
        .where(Job.id == bindparam("job_id"))
        .with_for_update(of=CreditBalance)
    )
