"""The claim records the stage a job will spend its time in.

With a provider to call that is the model call, so the worker writes no
separate stage update before it; with none it is prompting, before the
offline composer.
"""

from __future__ import annotations

import pytest

from engine.db import Job, JobStatus
from engine.providers.config import get_provider_settings
from workers import tasks

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.accounts_fixtures"]


@pytest.fixture
def no_provider(monkeypatch):
    monkeypatch.setenv("PINEFORGE_LLM_PROVIDERS", "")
    get_provider_settings.cache_clear()
    yield
    get_provider_settings.cache_clear()


def _row(db_session, job) -> Job:
    db_session.expire_all()
    return db_session.get(Job, job.id)


def test_with_a_provider_the_claim_records_the_model_call(
    db_session, make_user, make_job, llm
):
    job = make_job(make_user())

    claim = tasks._claim(job.id)
    claimed = _row(db_session, job)
    tasks._run(claim)

    assert (claimed.stage, claimed.progress) == ("calling_llm", 30)
    assert _row(db_session, job).status == JobStatus.SUCCEEDED
    assert llm.count() == 1


def test_without_a_provider_the_claim_records_prompting(
    db_session, make_user, make_job, no_provider
):
    job = make_job(make_user())

    claim = tasks._claim(job.id)
    claimed = _row(db_session, job)
    tasks._run(claim)

    assert (claimed.stage, claimed.progress) == ("prompting", 10)
    finished = _row(db_session, job)
    assert (finished.status, finished.provider) == (JobStatus.SUCCEEDED, "offline")
