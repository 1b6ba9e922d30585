"""Refresh-token families on the real database: single use, reuse, races."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.accounts.refresh import (
    RefreshTokenInvalid,
    RefreshTokenReused,
    family_of,
    purge_expired,
    revoke_family,
    rotate,
    start_family,
)
from engine.db import get_sessionmaker, utcnow
from engine.db.accounts_models import AuditEvent, RefreshFamily, RefreshToken

pytest_plugins = ["tests.accounts_fixtures"]


def test_rotation_issues_a_successor_in_the_same_family(db_session, make_user):
    user = make_user()
    first = start_family(db_session, user.id, "api")
    second = rotate(db_session, first.token_id)
    db_session.commit()

    assert second.family_id == first.family_id
    assert second.token_id != first.token_id
    assert second.user_id == user.id


def test_reused_refresh_token_revokes_family_and_is_audited(db_session, make_user):
    user = make_user()
    first = start_family(db_session, user.id, "browser")
    second = rotate(db_session, first.token_id)
    db_session.commit()

    with pytest.raises(RefreshTokenReused):
        rotate(db_session, first.token_id, ip="203.0.113.9", user_agent="curl")
    db_session.commit()

    assert family_of(db_session, first.family_id).revoked_reason == "reuse"
    with pytest.raises(RefreshTokenInvalid):
        rotate(db_session, second.token_id)
    event = db_session.scalars(select(AuditEvent)).one()
    assert (event.action, event.ip, event.user_id) == (
        "refresh_reuse",
        "203.0.113.9",
        user.id,
    )


@pytest.mark.parametrize("case", ["unknown", "expired", "revoked"])
def test_dead_refresh_tokens_are_invalid(db_session, make_user, case):
    import uuid

    issued = start_family(db_session, make_user().id, "api")
    db_session.commit()
    token_id, now = issued.token_id, utcnow()
    if case == "unknown":
        token_id = uuid.uuid4()
    elif case == "expired":
        now = issued.expires_at + timedelta(seconds=1)
    else:
        revoke_family(db_session, issued.family_id, "logout")

    with pytest.raises(RefreshTokenInvalid):
        rotate(db_session, token_id, now=now)


def test_two_racing_refreshes_with_one_token_cannot_both_win(make_user, db_session):
    issued = start_family(db_session, make_user().id, "api")
    db_session.commit()
    factory = get_sessionmaker()
    barrier = threading.Barrier(2)
    results: list[str] = []

    def refresh() -> None:
        barrier.wait(timeout=10)
        with factory() as session:
            try:
                rotate(session, issued.token_id)
                results.append("won")
            except RefreshTokenReused:
                results.append("reused")
            session.commit()

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results) == ["reused", "won"]
    assert family_of(db_session, issued.family_id).revoked_at is not None


def test_purge_forgets_families_only_after_their_last_token_expires(
    db_session, make_user
):
    issued = start_family(db_session, make_user().id, "api")
    db_session.commit()

    assert purge_expired(db_session, issued.expires_at - timedelta(seconds=1)) == 0
    assert purge_expired(db_session, issued.expires_at) == 1
    db_session.commit()
    assert db_session.scalars(select(RefreshFamily)).all() == []
    assert db_session.scalars(select(RefreshToken)).all() == []
