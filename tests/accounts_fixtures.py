"""Fixtures of the accounts tests (loaded with ``pytest_plugins``)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.orm import Session

from engine.accounts.config import reset_accounts_settings
from engine.accounts.vault import get_vault
from engine.db import Job, User

#: A plan whose numbers tests can reason about.
TEST_PLANS = {
    "tiny": {
        "monthly_credits": 5,
        "jobs_at_once": 100,
        "queued_limit": 100,
        "requests_per_minute": 1000,
        "queue_priority": 5,
    },
    "narrow": {
        "monthly_credits": 100,
        "jobs_at_once": 1,
        "queued_limit": 3,
        "requests_per_minute": 1000,
        "queue_priority": 5,
    },
    "burst": {
        "monthly_credits": 100,
        "jobs_at_once": 100,
        "queued_limit": 100,
        "requests_per_minute": 3,
        "queue_priority": 5,
    },
}


@pytest.fixture
def accounts_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Test plans in settings; caches forgotten before and after."""
    monkeypatch.setenv("PINEFORGE_PLANS", json.dumps(TEST_PLANS))
    reset_accounts_settings()
    get_vault.cache_clear()
    yield
    reset_accounts_settings()
    get_vault.cache_clear()


@pytest.fixture
def make_user(db_session: Session, accounts_settings: None) -> Callable[..., User]:
    """Factory of committed users: ``make_user(plan="tiny")``."""

    def make(plan: str = "free", role: str = "user") -> User:
        user = User(
            email=f"{secrets.token_hex(5)}@example.com",
            display_name="Tester",
            plan=plan,
            role=role,
        )
        db_session.add(user)
        db_session.commit()
        return user

    return make


@pytest.fixture
def make_job(db_session: Session) -> Callable[[User], Job]:
    """Factory of committed queued jobs owned by a user."""

    def make(owner: User) -> Job:
        job = Job(user_id=owner.id, request="EMA 9/21 cross", options={})
        db_session.add(job)
        db_session.commit()
        return job

    return make
