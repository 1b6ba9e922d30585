"""Trending indicators: live bumps, the beat recount, and the 7-day window."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker

from engine import jobs
from engine.db import Job, session_scope, utcnow
from engine.library.trending import record_spec_use
from engine.library.trending import refresh_trending as _refresh_trending
from engine.settings import get_settings
from tests.community_helpers import spec_for
from workers import tasks
from workers.celery_app import app
from workers.community_tasks import refresh_trending_indicators
from workers.config import REFRESH_TRENDING_TASK, celery_config

pytest_plugins = ["tests.community_fixtures"]
pytestmark = pytest.mark.integration

URL = "/api/v1/indicators/trending"


def refresh_trending(session, redis_client):
    # Ends the read transaction too: on SQLite it would hold the write lock.
    counts = _refresh_trending(session, redis_client)
    session.commit()
    return counts


def ranking(client, auth, **params):
    response = client.get(URL, query_string=params, headers=auth)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["window_days"] == 7
    return [(item["kind"], item["uses"]) for item in body["items"]]


def test_trending_reflects_use_in_new_versions(
    client, auth, user, make_strategy, db_session
):
    make_strategy(user, "A", kinds=("ema", "rsi"), versions=2)
    make_strategy(user, "B", kinds=("ema", "ema", "atr"))
    make_strategy(user, "C", kinds=("dmi", "my_own_kind"))

    ranked = ranking(client, auth)

    # Two EMAs in one version count once; aliases fold into their kind;
    # user-defined kinds never show.
    assert ranked == [("ema", 3), ("rsi", 2), ("adx", 1), ("atr", 1)]
    item = client.get(URL, headers=auth).get_json()["items"][0]
    assert item["title"] == "Exponential moving average"
    assert ranking(client, auth, limit=2) == [("ema", 3), ("rsi", 2)]


def test_live_bumps_and_the_beat_refresh_agree(
    client, auth, user, make_strategy, db_session, redis_client
):
    refresh_trending(db_session, redis_client)  # an empty, counted window
    assert ranking(client, auth) == []

    for name, kinds in (("A", ("macd", "ema")), ("B", ("ema",)), ("C", ("bb",))):
        strategy = make_strategy(user, name, kinds=kinds)
        # What the worker and the library call after storing a version.
        record_spec_use(redis_client, strategy.versions[0].spec)
    live = ranking(client, auth)

    counts = refresh_trending_indicators()

    assert live == [("ema", 2), ("bb", 1), ("macd", 1)]
    assert ranking(client, auth) == live
    assert counts == {"ema": 2, "macd": 1, "bb": 1}


def test_refresh_drops_uses_older_than_the_window(
    client, auth, user, make_strategy, db_session, redis_client
):
    old = make_strategy(user, "Old", kinds=("cci",))
    old.versions[0].created_at = utcnow() - timedelta(days=8)
    db_session.commit()
    record_spec_use(redis_client, spec_for("Old", ("cci",)))
    make_strategy(user, "New", kinds=("mfi",))
    record_spec_use(redis_client, spec_for("New", ("mfi",)))

    refresh_trending(db_session, redis_client)

    assert ranking(client, auth) == [("mfi", 1)]


def test_a_fork_counts_as_a_new_version(
    client, auth, other_auth, user, make_strategy, db_session, redis_client
):
    source = make_strategy(user, "Source", kinds=("supertrend",))
    refresh_trending(db_session, redis_client)
    publish = f"/api/v1/strategies/{source.id}/publish"
    assert client.post(publish, headers=auth).status_code == 200

    fork = f"/api/v1/community/strategies/{source.id}/fork"
    assert client.post(fork, headers=other_auth).status_code == 201

    assert ranking(client, auth) == [("supertrend", 2)]
    refresh_trending(db_session, redis_client)
    assert ranking(client, auth) == [("supertrend", 2)]


def test_trending_keys_live_under_the_deployments_prefix(
    client, auth, user, make_strategy, redis_client
):
    make_strategy(user, "A", kinds=("wma",))

    ranking(client, auth)

    prefix = get_settings().broker_key_prefix
    assert redis_client.zscore(f"{prefix}pf:trending:7d", "wma") == 1.0


def test_beat_runs_the_trending_refresh():
    config = celery_config(get_settings())

    entry = config["beat_schedule"]["refresh-trending"]
    assert entry["task"] == REFRESH_TRENDING_TASK
    assert entry["schedule"] <= 3600
    assert refresh_trending_indicators.name == REFRESH_TRENDING_TASK


@pytest.fixture
def worker_with_llm(llm, database, redis_client):
    """A real Celery worker whose pipeline asks a fake LLM on loopback."""
    with start_worker(
        app, pool="solo", perform_ping_check=False, shutdown_timeout=30
    ) as running:
        yield running


def test_the_worker_bumps_trending_when_it_stores_a_version(
    client, auth, user, db_session, redis_client, worker_with_llm
):
    refresh_trending(db_session, redis_client)
    job, _ = jobs.create_job(db_session, user.id, "RSI below 30, long", {})
    db_session.commit()
    assert tasks.enqueue_generation(job.id)

    deadline = time.monotonic() + 30
    while True:
        with session_scope() as session:
            if session.get(Job, job.id).finished:
                break
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.1)

    assert ranking(client, auth) == [("rsi", 1)]
    refresh_trending(db_session, redis_client)
    assert ranking(client, auth) == [("rsi", 1)]
