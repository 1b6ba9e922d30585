"""The credits ledger on the real database: each entry once, never negative."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from engine.accounts.credits import (
    InsufficientCredits,
    adjust_credits,
    balance_of,
    capture_credits,
    grant_credits,
    grant_monthly_credits,
    grant_monthly_credits_to_all,
    ledger_page,
    refund_credits,
    reserve_credits,
)
from engine.accounts.plans import change_plan
from engine.db.accounts_models import AuditEvent, CreditBalance, CreditEntry
from engine.errors import InvalidRequest

pytest_plugins = ["tests.accounts_fixtures"]

JUNE = datetime(2030, 6, 15, tzinfo=UTC)
JULY = datetime(2030, 7, 1, tzinfo=UTC)


def test_grant_adds_to_balance_and_writes_an_entry(db_session, make_user):
    user = make_user()
    entry = grant_credits(db_session, user.id, 7, reason="welcome")
    db_session.commit()

    assert balance_of(db_session, user.id) == 7
    assert (entry.kind, entry.delta, entry.balance_after) == ("grant", 7, 7)


def test_reserve_grants_the_period_first_then_holds_credits(
    db_session, make_user, make_job
):
    user = make_user(plan="tiny")
    job = make_job(user)

    entry = reserve_credits(db_session, user, job.id, 2, now=JUNE)
    db_session.commit()

    assert entry.delta == -2
    assert balance_of(db_session, user.id) == 3
    kinds = [item.kind for item in ledger_page(db_session, user.id)]
    assert sorted(kinds) == ["grant", "reserve"]


def test_reserve_beyond_balance_is_refused_and_changes_nothing(
    db_session, make_user, make_job
):
    user = make_user(plan="tiny")
    reserve_credits(db_session, user, make_job(user).id, 5, now=JUNE)
    db_session.commit()

    with pytest.raises(InsufficientCredits) as caught:
        reserve_credits(db_session, user, make_job(user).id, 1, now=JUNE)
    db_session.rollback()

    assert caught.value.http_status == 409
    assert balance_of(db_session, user.id) == 0


def test_second_reserve_for_one_job_returns_the_first(db_session, make_user, make_job):
    user = make_user(plan="tiny")
    job = make_job(user)
    first = reserve_credits(db_session, user, job.id, 1, now=JUNE)
    again = reserve_credits(db_session, user, job.id, 1, now=JUNE)
    db_session.commit()

    assert again.id == first.id
    assert balance_of(db_session, user.id) == 4


def test_capture_spends_the_reservation_once(db_session, make_user, make_job):
    user = make_user(plan="tiny")
    job = make_job(user)
    reserve_credits(db_session, user, job.id, 2, now=JUNE)

    first = capture_credits(db_session, job.id)
    second = capture_credits(db_session, job.id)
    db_session.commit()

    assert first.id == second.id
    assert (first.kind, first.amount, first.delta) == ("capture", 2, 0)
    assert balance_of(db_session, user.id) == 3
    assert refund_credits(db_session, job.id) is None


def test_refund_gives_back_once_and_blocks_a_later_capture(
    db_session, make_user, make_job
):
    user = make_user(plan="tiny")
    job = make_job(user)
    reserve_credits(db_session, user, job.id, 2, now=JUNE)

    refund = refund_credits(db_session, job.id)
    assert refund_credits(db_session, job.id).id == refund.id
    assert capture_credits(db_session, job.id) is None
    db_session.commit()

    assert balance_of(db_session, user.id) == 5


def test_job_served_by_own_key_costs_nothing(db_session, make_user, make_job):
    user = make_user(plan="tiny")
    job = make_job(user)
    reserve_credits(db_session, user, job.id, 1, now=JUNE)

    entry = capture_credits(db_session, job.id, own_key=True)
    db_session.commit()

    assert (entry.kind, entry.reason) == ("refund", "own key")
    assert balance_of(db_session, user.id) == 5


def test_settling_a_job_without_reservation_is_a_no_op(db_session, make_user, make_job):
    job = make_job(make_user())
    assert capture_credits(db_session, job.id) is None
    assert refund_credits(db_session, job.id) is None


def test_monthly_grant_happens_once_per_period(db_session, make_user):
    user = make_user(plan="tiny")

    assert grant_monthly_credits(db_session, user, JUNE).amount == 5
    assert grant_monthly_credits(db_session, user, JUNE) is None
    assert grant_monthly_credits(db_session, user, JULY).period == "2030-07"
    db_session.commit()

    assert balance_of(db_session, user.id) == 10


def test_grant_to_all_skips_users_already_granted(db_session, make_user):
    granted, missing = make_user(plan="tiny"), make_user(plan="free")
    grant_monthly_credits(db_session, granted, JUNE)
    db_session.commit()

    assert grant_monthly_credits_to_all(db_session, JUNE) == 1
    assert grant_monthly_credits_to_all(db_session, JUNE) == 0
    db_session.commit()
    assert balance_of(db_session, granted.id) == 5
    assert balance_of(db_session, missing.id) == 100


def test_adjustment_below_zero_is_refused_and_a_valid_one_audited(
    db_session, make_user
):
    user = make_user()
    grant_credits(db_session, user.id, 3)
    with pytest.raises(InsufficientCredits):
        adjust_credits(db_session, user.id, -4, reason="chargeback")

    adjust_credits(db_session, user.id, -3, reason="chargeback")
    db_session.commit()

    assert balance_of(db_session, user.id) == 0
    actions = db_session.scalars(select(AuditEvent.action)).all()
    assert actions == ["credits_adjusted"]


def test_database_refuses_a_second_entry_of_one_kind_for_a_job(
    db_session, make_user, make_job
):
    user = make_user(plan="tiny")
    job = make_job(user)
    reserve_credits(db_session, user, job.id, 1, now=JUNE)
    db_session.commit()

    db_session.add(
        CreditEntry(
            user_id=user.id,
            kind="reserve",
            amount=1,
            delta=-1,
            balance_after=0,
            job_id=job.id,
        )
    )
    with pytest.raises(IntegrityError):
        db_session.commit()
    db_session.rollback()


def test_database_refuses_a_negative_balance(db_session, make_user):
    user = make_user()
    grant_credits(db_session, user.id, 1)
    db_session.commit()

    with pytest.raises(IntegrityError):
        db_session.execute(
            update(CreditBalance)
            .where(CreditBalance.user_id == user.id)
            .values(balance=-1)
        )
        db_session.commit()
    db_session.rollback()
    count = db_session.scalar(select(func.count()).select_from(CreditEntry))
    assert count == 1


def test_plan_change_is_audited_and_unknown_plans_refused(db_session, make_user):
    user = make_user()
    with pytest.raises(InvalidRequest):
        change_plan(db_session, user, "platinum")
    change_plan(db_session, user, "pro")
    db_session.commit()

    event = db_session.scalars(select(AuditEvent)).one()
    assert (user.plan, event.action, event.details["from"]) == (
        "pro",
        "plan_changed",
        "free",
    )
