"""Parallel submissions against a small balance, on real databases, with threads."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from engine.accounts.admission import TooManyActiveJobs, admit_generation
from engine.accounts.credits import InsufficientCredits, balance_of, capture_credits
from engine.accounts.plans import get_plan
from engine.db import Job, User, get_sessionmaker, make_engine, upgrade_database
from engine.db.accounts_models import CreditEntry

pytest_plugins = ["tests.accounts_fixtures"]

SUBMISSIONS = 20


def _submit_all(factory: sessionmaker, user_id) -> Counter:
    outcomes: Counter = Counter()
    barrier = threading.Barrier(SUBMISSIONS)
    lock = threading.Lock()

    def submit() -> None:
        # Start together; the transactions then contend for the balance row.
        barrier.wait(timeout=30)
        with factory() as session:
            user = session.get(User, user_id)
            job = Job(user_id=user_id, request="RSI 14 below 30", options={})
            session.add(job)
            session.flush()
            try:
                admit_generation(session, user, job.id)
                session.commit()
                outcome = "admitted"
            except InsufficientCredits:
                session.rollback()
                outcome = "refused"
        with factory() as session:
            if outcome == "admitted":
                capture_credits(session, job.id)
                session.commit()
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=submit) for _ in range(SUBMISSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def _assert_exactly_five_captured(factory: sessionmaker, user_id, outcomes) -> None:
    assert outcomes == Counter(admitted=5, refused=SUBMISSIONS - 5)
    with factory() as session:
        kinds = Counter(
            session.scalars(
                select(CreditEntry.kind).where(CreditEntry.user_id == user_id)
            )
        )
        jobs = session.scalars(select(Job.id).where(Job.user_id == user_id)).all()
        assert kinds == Counter(grant=1, reserve=5, capture=5)
        assert len(jobs) == 5
        assert balance_of(session, user_id) == 0


def test_twenty_parallel_submissions_against_five_credits_capture_five(make_user):
    user = make_user(plan="tiny")
    factory = get_sessionmaker()

    outcomes = _submit_all(factory, user.id)

    _assert_exactly_five_captured(factory, user.id, outcomes)


def test_parallel_submissions_on_sqlite_capture_five(tmp_path, accounts_settings):
    url = f"sqlite:///{tmp_path / 'credits.db'}"
    upgrade_database(url)
    engine = make_engine(url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as session:
        user = User(email="race@example.com", plan="tiny")
        session.add(user)
        session.commit()

    try:
        outcomes = _submit_all(factory, user.id)
        _assert_exactly_five_captured(factory, user.id, outcomes)
    finally:
        engine.dispose()


def test_queued_limit_holds_under_parallel_submissions(make_user):
    user = make_user(plan="narrow")
    factory = get_sessionmaker()
    results: list[str] = []
    barrier = threading.Barrier(8)

    def submit() -> None:
        barrier.wait(timeout=30)
        with factory() as session:
            job = Job(user_id=user.id, request="EMA cross", options={})
            session.add(job)
            session.flush()
            try:
                admit_generation(session, session.get(User, user.id), job.id)
                session.commit()
                results.append("admitted")
            except TooManyActiveJobs:
                session.rollback()
                results.append("limited")

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert results.count("admitted") == get_plan("narrow").queued_limit
