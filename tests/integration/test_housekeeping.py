"""Beat housekeeping and key rotation, on the real database."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import func, select

from cli.main import main
from engine.accounts.api_keys import open_key, store_key
from engine.accounts.config import reset_accounts_settings
from engine.accounts.credits import balance_of
from engine.accounts.plans import get_plan
from engine.accounts.refresh import start_family
from engine.accounts.vault import get_vault, new_key_entry
from engine.db import utcnow
from engine.db.accounts_models import CreditEntry, RefreshFamily, UserApiKey
from workers.housekeeping import grant_monthly_credits, purge_expired_tokens

pytest_plugins = ["tests.accounts_fixtures"]


def test_monthly_grant_gives_each_user_their_plan_credits_once(make_user, db_session):
    free, pro = make_user(plan="free"), make_user(plan="pro")

    grant_monthly_credits()
    grant_monthly_credits()

    db_session.expire_all()
    assert balance_of(db_session, free.id) == get_plan("free").monthly_credits
    assert balance_of(db_session, pro.id) == get_plan("pro").monthly_credits
    grants = db_session.scalar(
        select(func.count()).select_from(CreditEntry).where(CreditEntry.kind == "grant")
    )
    assert grants == 2


def test_expired_refresh_families_are_purged_and_live_ones_kept(make_user, db_session):
    user = make_user()
    start_family(db_session, user.id, "api", utcnow() - timedelta(days=400))
    start_family(db_session, user.id, "api", utcnow())
    db_session.commit()

    assert purge_expired_tokens() == 1

    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(RefreshFamily)) == 1


def _use_vault_keys(monkeypatch, entries: str) -> None:
    monkeypatch.setenv("PINEFORGE_VAULT_KEYS", entries)
    reset_accounts_settings()
    get_vault.cache_clear()


def test_keys_rotate_reseals_every_key_under_the_new_master_key(
    make_user, db_session, monkeypatch
):
    old_entry, new_entry = new_key_entry("kold"), new_key_entry("knew")
    _use_vault_keys(monkeypatch, old_entry)
    user = make_user()
    store_key(db_session, user.id, "openai", "sk-test-rotation-1234")
    db_session.commit()

    _use_vault_keys(monkeypatch, f"{new_entry},{old_entry}")

    result = CliRunner().invoke(main, ["keys", "rotate"])

    assert result.exit_code == 0, result.output
    assert "re-sealed 1 key(s) under knew" in result.output
    db_session.expire_all()
    row = db_session.scalar(select(UserApiKey).where(UserApiKey.user_id == user.id))
    assert row.key_id == "knew"
    assert open_key(db_session, user.id, "openai") == "sk-test-rotation-1234"
    monkeypatch.delenv("PINEFORGE_VAULT_KEYS")
    reset_accounts_settings()
    get_vault.cache_clear()
