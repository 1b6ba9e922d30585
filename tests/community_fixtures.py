"""Fixtures of the catalog and community tests: admins, strategies with real
indicator kinds, and a counter of the SQL statements a request runs."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from types import SimpleNamespace

import pytest
from sqlalchemy.orm import Session

from engine.db import Strategy, StrategyVersion, User
from tests.community_helpers import spec_for
from tests.integration.conftest import PINE_CODE, bearer
from tests.library_helpers import counted_statements


@pytest.fixture
def make_strategy(db_session: Session) -> Callable[..., Strategy]:
    """Insert a strategy whose every version uses ``kinds``."""

    def make(
        owner: User,
        name: str = "EMA Cross",
        kinds: Sequence[str] = ("ema",),
        description: str = "",
        versions: int = 1,
    ) -> Strategy:
        strategy = Strategy(
            user_id=owner.id,
            name=name,
            description=description,
            current_version=versions,
        )
        for number in range(1, versions + 1):
            strategy.versions.append(
                StrategyVersion(
                    number=number,
                    spec=spec_for(name, kinds),
                    code=PINE_CODE.replace("EMA Cross", f"{name} v{number}"),
                    provider="offline",
                )
            )
        db_session.add(strategy)
        db_session.commit()
        return strategy

    return make


@pytest.fixture
def make_user(db_session: Session) -> Callable[..., User]:
    def make(handle: str | None = None, role: str = "user") -> User:
        account = User(
            email=f"{secrets.token_hex(4)}@example.com",
            handle=handle,
            display_name=(handle or "someone").title(),
            role=role,
        )
        db_session.add(account)
        db_session.commit()
        return account

    return make


@pytest.fixture
def admin_auth(db_session: Session, make_user: Callable[..., User]) -> dict[str, str]:
    return bearer(db_session, make_user("root", role="admin"))


@pytest.fixture
def statements(database: str) -> SimpleNamespace:
    """``statements.counting()`` collects the SQL run inside its block."""
    return SimpleNamespace(counting=counted_statements)
