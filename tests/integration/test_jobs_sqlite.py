"""The embedded default: the same state machine on a SQLite file."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy.orm import sessionmaker

from engine import jobs
from engine.db import Job, JobStatus, User, make_engine, upgrade_database, utcnow
from engine.settings import get_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def sqlite_sessions(tmp_path):
    url = f"sqlite:///{tmp_path / 'pineforge.db'}"
    upgrade_database(url)
    engine = make_engine(url)
    yield sessionmaker(bind=engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture
def sqlite_job(sqlite_sessions):
    with sqlite_sessions() as session:
        owner = User(email="embedded@example.com")
        session.add(owner)
        session.flush()
        job, _ = jobs.create_job(session, owner.id, "EMA cross", {"tf": "4h"}, "k1")
        session.commit()
    return job


def test_timestamps_come_back_aware_utc(sqlite_sessions, sqlite_job):
    with sqlite_sessions() as session:
        claimed = jobs.claim_job(session, sqlite_job.id)
        session.commit()

    assert claimed.lease_expires_at.utcoffset() == timedelta(0)
    assert claimed.options == {"tf": "4h"}


def test_parallel_claims_on_sqlite_have_one_winner(sqlite_sessions, sqlite_job):
    def claim(_):
        with sqlite_sessions() as session:
            job = jobs.claim_job(session, sqlite_job.id)
            session.commit()
            return job is not None

    with ThreadPoolExecutor(max_workers=4) as pool:
        wins = list(pool.map(claim, range(8)))

    assert wins.count(True) == 1


def test_repeat_key_on_sqlite_returns_the_first_job(sqlite_sessions, sqlite_job):
    with sqlite_sessions() as session:
        again, created = jobs.create_job(
            session, sqlite_job.user_id, "different", {}, "k1"
        )

    assert (again.id, created) == (sqlite_job.id, False)


def test_sweep_on_sqlite_requeues_then_gives_up(sqlite_sessions, sqlite_job):
    settings = get_settings()
    now = utcnow()
    step = timedelta(seconds=settings.job_lease_seconds + 1)

    with sqlite_sessions() as session:
        jobs.claim_job(session, sqlite_job.id, now)
        assert jobs.sweep_jobs(session, now + step).requeue == [sqlite_job.id]
        for _ in range(settings.job_max_attempts - 1):
            now += step
            assert jobs.claim_job(session, sqlite_job.id, now) is not None
        result = jobs.sweep_jobs(session, now + step)
        session.commit()
        status = session.get(Job, sqlite_job.id).status

    assert result.lost == [sqlite_job.id]
    assert status == JobStatus.FAILED
