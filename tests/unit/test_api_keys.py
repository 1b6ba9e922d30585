"""Users' provider keys: sealed at rest, shown by last four, opened in memory."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import Uuid, bindparam, text

from engine.accounts.api_keys import (
    VaultKeySource,
    delete_key,
    list_keys,
    open_key,
    rotate_keys,
    store_key,
)
from engine.accounts.vault import SealedValueInvalid, Vault
from engine.db import get_sessionmaker
from engine.errors import InvalidRequest, NotFound

pytest_plugins = ["tests.accounts_fixtures"]

OPENAI_KEY = "sk-proj-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789wxyz"
ANTHROPIC_KEY = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz-9876"


@pytest.fixture
def vault() -> Vault:
    return Vault([("k1", os.urandom(32))])


def test_stored_key_is_listed_by_last_four_only(db_session, make_user, vault):
    user = make_user()
    store_key(db_session, user.id, "openai", OPENAI_KEY, vault=vault)
    db_session.commit()

    [info] = list_keys(db_session, user.id)
    assert (info.provider, info.last4, info.last_used_at) == ("openai", "wxyz", None)
    assert OPENAI_KEY not in repr(info)


def test_raw_rows_hold_no_key_in_clear(db_session, make_user, vault):
    user = make_user()
    store_key(db_session, user.id, "openai", OPENAI_KEY, vault=vault)
    store_key(db_session, user.id, "anthropic", ANTHROPIC_KEY, vault=vault)
    db_session.commit()

    for table in ("user_api_keys", "audit_events"):
        rows = db_session.execute(text(f"SELECT * FROM {table}")).all()
        dump = repr(rows).encode() + b"".join(
            bytes(value) for row in rows for value in row if isinstance(value, bytes)
        )
        for secret in (OPENAI_KEY, ANTHROPIC_KEY):
            assert secret.encode() not in dump
            assert secret[3:-4].encode() not in dump


def test_open_key_returns_the_clear_value_and_marks_it_used(
    db_session, make_user, vault
):
    user = make_user()
    store_key(db_session, user.id, "openai", OPENAI_KEY, vault=vault)
    assert open_key(db_session, user.id, "openai", vault=vault) == OPENAI_KEY
    assert open_key(db_session, user.id, "anthropic", vault=vault) is None
    db_session.commit()
    assert list_keys(db_session, user.id)[0].last_used_at is not None


def test_storing_again_replaces_the_providers_key(db_session, make_user, vault):
    user = make_user()
    store_key(db_session, user.id, "openai", OPENAI_KEY, vault=vault)
    store_key(db_session, user.id, "openai", OPENAI_KEY[:-4] + "1234", vault=vault)
    db_session.commit()
    assert [info.last4 for info in list_keys(db_session, user.id)] == ["1234"]


@pytest.mark.parametrize(
    ("provider", "secret"),
    [("mistral", OPENAI_KEY), ("anthropic", OPENAI_KEY), ("openai", "sk-short")],
)
def test_implausible_keys_are_refused_without_echo(
    db_session, make_user, vault, provider, secret
):
    with pytest.raises(InvalidRequest) as caught:
        store_key(db_session, make_user().id, provider, secret, vault=vault)
    assert secret not in repr(caught.value.to_body())


def test_another_users_key_id_is_not_found(db_session, make_user, vault):
    owner, other = make_user(), make_user()
    info = store_key(db_session, owner.id, "openai", OPENAI_KEY, vault=vault)
    db_session.commit()

    with pytest.raises(NotFound):
        delete_key(db_session, other.id, info.id)
    delete_key(db_session, owner.id, info.id)
    db_session.commit()
    assert list_keys(db_session, owner.id) == []


def test_a_sealed_key_copied_to_another_user_does_not_open(
    db_session, make_user, vault
):
    owner, thief = make_user(), make_user()
    store_key(db_session, owner.id, "openai", OPENAI_KEY, vault=vault)
    store_key(db_session, thief.id, "openai", OPENAI_KEY[:-4] + "0000", vault=vault)
    db_session.commit()
    statement = text(
        "UPDATE user_api_keys SET sealed = "
        "(SELECT sealed FROM user_api_keys WHERE user_id = :owner) "
        "WHERE user_id = :thief"
    ).bindparams(bindparam("owner", type_=Uuid()), bindparam("thief", type_=Uuid()))
    db_session.execute(statement, {"owner": owner.id, "thief": thief.id})
    with pytest.raises(SealedValueInvalid):
        open_key(db_session, thief.id, "openai", vault=vault)


def test_rotation_reseals_every_key_under_the_new_master_key(db_session, make_user):
    old_key, new_key = os.urandom(32), os.urandom(32)
    user = make_user()
    store_key(db_session, user.id, "openai", OPENAI_KEY, vault=Vault([("k1", old_key)]))
    db_session.commit()

    rotated = Vault([("k2", new_key), ("k1", old_key)])
    assert rotate_keys(db_session, vault=rotated) == 1
    assert rotate_keys(db_session, vault=rotated) == 0
    db_session.commit()

    only_new = Vault([("k2", new_key)])
    assert open_key(db_session, user.id, "openai", vault=only_new) == OPENAI_KEY


def test_vault_key_source_gives_the_pipeline_every_own_key(
    db_session, make_user, vault
):
    user = make_user()
    store_key(db_session, user.id, "openai", OPENAI_KEY, vault=vault)
    store_key(db_session, user.id, "anthropic", ANTHROPIC_KEY, vault=vault)
    db_session.commit()

    source = VaultKeySource(get_sessionmaker(), vault=vault)
    assert source.keys_for(str(user.id)) == {
        "openai": OPENAI_KEY,
        "anthropic": ANTHROPIC_KEY,
    }
    assert source.keys_for(None) == {}
    assert source.keys_for(str(make_user().id)) == {}
