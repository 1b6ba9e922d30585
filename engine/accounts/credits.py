"""The credits ledger: grant, reserve, capture, refund (and admin adjust).

Every movement is a :class:`CreditEntry`; ``credit_balances`` keeps the running
balance, which a CHECK keeps from going below zero. Each write first locks the
user's balance row (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite every
transaction already holds the write lock from ``BEGIN IMMEDIATE``), so parallel
submissions queue up on that row and the last ones find the balance spent.

A job moves money at most once per kind (unique ``job_id, kind``): a reserve
takes credits from the balance, then exactly one of capture (spent) or refund
(given back) settles it. A monthly grant carries its period ``YYYY-MM``, unique
per user, so a beat task that runs twice grants once.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.accounts.audit import AuditAction, record
from engine.accounts.plans import get_plan
from engine.db.accounts_models import CreditBalance, CreditEntry, EntryKind
from engine.db.base import utcnow
from engine.db.models import User
from engine.errors import Conflict, InvalidRequest

MAX_AMOUNT = 10_000_000


class InsufficientCredits(Conflict):
    default_code = "INSUFFICIENT_CREDITS"
    default_message = "Not enough credits for this request."


def period_of(moment: datetime | None = None) -> str:
    """The grant period (``YYYY-MM``, UTC) that ``moment`` falls in."""
    return (moment or utcnow()).strftime("%Y-%m")


def _check_amount(amount: int) -> None:
    if not 0 < amount <= MAX_AMOUNT:
        raise InvalidRequest(message="A credit amount must be a positive number.")


def lock_balance(session: Session, user_id: uuid.UUID) -> CreditBalance:
    """Create the user's balance row if missing, then lock it until commit.

    Every ledger write of a user goes through here first, which serialises
    them; callers that must check something else atomically with the ledger
    (the jobs-at-once limit) take the same lock.
    """
    session.flush()
    values = {"user_id": user_id, "balance": 0, "updated_at": utcnow()}
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        module = postgresql if dialect == "postgresql" else sqlite
        session.execute(
            module.insert(CreditBalance)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["user_id"])
        )
    elif session.get(CreditBalance, user_id) is None:
        session.add(CreditBalance(**values))
        session.flush()

    query = (
        select(CreditBalance)
        .where(CreditBalance.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalars(query).one()


def _write(
    session: Session,
    row: CreditBalance,
    kind: EntryKind,
    amount: int,
    delta: int,
    **fields: object,
) -> CreditEntry:
    if row.balance + delta < 0:
        raise InsufficientCredits(details={"balance": row.balance, "needed": amount})
    row.balance += delta
    row.updated_at = utcnow()
    entry = CreditEntry(
        user_id=row.user_id,
        kind=kind,
        amount=amount,
        delta=delta,
        balance_after=row.balance,
        **fields,
    )
    session.add(entry)
    session.flush()
    return entry


def balance_of(session: Session, user_id: uuid.UUID) -> int:
    """The user's current balance (0 before any entry)."""
    row = session.get(CreditBalance, user_id, populate_existing=True)
    return row.balance if row else 0


def grant_credits(
    session: Session, user_id: uuid.UUID, amount: int, *, reason: str = "grant"
) -> CreditEntry:
    """Add ``amount`` credits to the user's balance."""
    _check_amount(amount)
    row = lock_balance(session, user_id)
    return _write(session, row, EntryKind.GRANT, amount, amount, reason=reason)


def _grant_period(
    session: Session, row: CreditBalance, plan_name: str | None, period: str
) -> CreditEntry | None:
    exists = session.scalar(
        select(CreditEntry.id).where(
            CreditEntry.user_id == row.user_id, CreditEntry.period == period
        )
    )
    plan = get_plan(plan_name)
    if exists is not None or plan.monthly_credits <= 0:
        return None
    amount, reason = plan.monthly_credits, f"monthly {plan.name}"
    return _write(
        session, row, EntryKind.GRANT, amount, amount, period=period, reason=reason
    )


def grant_monthly_credits(
    session: Session, user: User, now: datetime | None = None
) -> CreditEntry | None:
    """Grant the plan's monthly credits for the current period, once.

    Returns the new entry, or None when this period was already granted.
    """
    row = lock_balance(session, user.id)
    return _grant_period(session, row, user.plan, period_of(now))


def grant_monthly_credits_to_all(
    session: Session, now: datetime | None = None, limit: int = 500
) -> int:
    """Grant this period's credits to up to ``limit`` users who lack them.

    Returns how many were granted; the beat task commits and calls again
    until it returns 0, so one run never holds many row locks at once.
    """
    period = period_of(now)
    granted = select(CreditEntry.user_id).where(CreditEntry.period == period)
    users = session.scalars(
        select(User).where(User.id.not_in(granted)).order_by(User.id).limit(limit)
    ).all()
    count = 0
    for user in users:
        row = lock_balance(session, user.id)
        if _grant_period(session, row, user.plan, period) is not None:
            count += 1
    return count


def reserve_credits(
    session: Session,
    user: User,
    job_id: uuid.UUID,
    amount: int,
    now: datetime | None = None,
) -> CreditEntry | None:
    """Hold ``amount`` credits for a job, or raise :class:`InsufficientCredits`.

    Call it in the transaction that inserts the job. The current period's
    monthly grant is made first if the beat task has not made it yet. An
    ``amount`` of 0 reserves nothing and returns None; a second reserve for
    the same job returns the first.
    """
    row = lock_balance(session, user.id)
    _grant_period(session, row, user.plan, period_of(now))
    existing = _entry(session, job_id, EntryKind.RESERVE)
    if existing is not None or amount == 0:
        return existing
    _check_amount(amount)
    return _write(session, row, EntryKind.RESERVE, amount, -amount, job_id=job_id)


def _entry(session: Session, job_id: uuid.UUID, kind: EntryKind) -> CreditEntry | None:
    query = select(CreditEntry).where(
        CreditEntry.job_id == job_id, CreditEntry.kind == kind
    )
    return session.scalar(query)


def _settle(
    session: Session, job_id: uuid.UUID, kind: EntryKind, reason: str | None
) -> CreditEntry | None:
    reserve = _entry(session, job_id, EntryKind.RESERVE)
    if reserve is None:
        return None

    # Capture and refund exclude each other; the lock orders racing settlers.
    row = lock_balance(session, reserve.user_id)
    settled = session.scalar(
        select(CreditEntry).where(
            CreditEntry.job_id == job_id,
            CreditEntry.kind.in_([EntryKind.CAPTURE, EntryKind.REFUND]),
        )
    )
    if settled is not None:
        return settled if settled.kind == kind else None
    delta = reserve.amount if kind == EntryKind.REFUND else 0
    return _write(
        session, row, kind, reserve.amount, delta, job_id=job_id, reason=reason
    )


def capture_credits(
    session: Session, job_id: uuid.UUID, *, own_key: bool = False
) -> CreditEntry | None:
    """Spend a finished job's reservation (the worker calls this on success).

    With ``own_key=True`` (the job was served by the user's own provider key)
    the reservation is refunded instead: such jobs cost no platform credits.
    Returns the settling entry, or None when there is nothing to capture (no
    reservation, or it was already refunded). Repeating it is harmless.
    """
    if own_key:
        return refund_credits(session, job_id, reason="own key")
    return _settle(session, job_id, EntryKind.CAPTURE, None)


def refund_credits(
    session: Session, job_id: uuid.UUID, *, reason: str | None = "job failed"
) -> CreditEntry | None:
    """Give a failed or cancelled job's reservation back, at most once.

    Returns the refund entry, or None when there is nothing to refund (no
    reservation, or it was already captured).
    """
    return _settle(session, job_id, EntryKind.REFUND, reason)


def adjust_credits(
    session: Session,
    user_id: uuid.UUID,
    delta: int,
    *,
    reason: str,
    actor_id: uuid.UUID | None = None,
) -> CreditEntry:
    """An operator's correction (positive or negative), audited."""
    _check_amount(abs(delta))
    row = lock_balance(session, user_id)
    entry = _write(
        session, row, EntryKind.ADJUST, abs(delta), delta, reason=reason[:200]
    )
    details = {"delta": delta, "reason": reason[:200], "actor": str(actor_id or "")}
    record(session, user_id, AuditAction.CREDITS_ADJUSTED, details=details)
    return entry


def ledger_page(
    session: Session, user_id: uuid.UUID, *, limit: int = 50, offset: int = 0
) -> list[CreditEntry]:
    """A user's ledger entries, newest first."""
    query = (
        select(CreditEntry)
        .where(CreditEntry.user_id == user_id)
        .order_by(CreditEntry.created_at.desc(), CreditEntry.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(session.scalars(query))
