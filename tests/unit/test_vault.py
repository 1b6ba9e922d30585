"""The key vault: AES-256-GCM with key ids, owner binding and rotation."""

from __future__ import annotations

import base64
import os
import stat

import pytest

from engine.accounts.config import AccountsSettings
from engine.accounts.vault import (
    Sealed,
    SealedValueInvalid,
    Vault,
    VaultMisconfigured,
    load_vault,
    new_key_entry,
    parse_vault_keys,
)
from engine.settings import Settings

SECRET = "sk-test-0123456789abcdefghij"


def _key() -> bytes:
    return os.urandom(32)


def _vault(*ids: str) -> Vault:
    return Vault([(key_id, _key()) for key_id in ids or ("k1",)])


def test_sealed_value_opens_for_its_owner_and_provider():
    vault = _vault()
    sealed = vault.seal(SECRET, owner="u1", provider="openai")

    assert sealed.key_id == "k1"
    assert SECRET.encode() not in sealed.blob
    assert vault.open(sealed, owner="u1", provider="openai") == SECRET


def test_same_secret_seals_differently_each_time():
    vault = _vault()
    first = vault.seal(SECRET, owner="u1", provider="openai")
    second = vault.seal(SECRET, owner="u1", provider="openai")
    assert first.blob != second.blob


@pytest.mark.parametrize(("owner", "provider"), [("u2", "openai"), ("u1", "anthropic")])
def test_sealed_value_moved_to_another_owner_or_provider_fails(owner, provider):
    vault = _vault()
    sealed = vault.seal(SECRET, owner="u1", provider="openai")
    with pytest.raises(SealedValueInvalid):
        vault.open(sealed, owner=owner, provider=provider)


def test_tampered_blob_fails_to_open():
    vault = _vault()
    sealed = vault.seal(SECRET, owner="u1", provider="openai")
    flipped = bytearray(sealed.blob)
    flipped[-1] ^= 1
    with pytest.raises(SealedValueInvalid):
        vault.open(Sealed("k1", bytes(flipped)), owner="u1", provider="openai")


def test_relabelled_key_id_fails_to_open():
    key = _key()
    vault = Vault([("k2", key), ("k1", key)])
    sealed = vault.seal(SECRET, owner="u1", provider="openai")
    with pytest.raises(SealedValueInvalid):
        vault.open(Sealed("k1", sealed.blob), owner="u1", provider="openai")


def test_unknown_key_id_fails_without_naming_it():
    vault = _vault()
    with pytest.raises(SealedValueInvalid) as caught:
        vault.open(Sealed("gone", b"x" * 40), owner="u1", provider="openai")
    assert "gone" not in str(caught.value)


def test_reseal_moves_old_values_to_the_active_key():
    old_key, new_key = _key(), _key()
    old = Vault([("k1", old_key)])
    sealed = old.seal(SECRET, owner="u1", provider="openai")

    rotated = Vault([("k2", new_key), ("k1", old_key)])
    assert rotated.needs_reseal(sealed.key_id)
    resealed = rotated.reseal(sealed, owner="u1", provider="openai")

    assert resealed.key_id == "k2"
    assert (
        Vault([("k2", new_key)]).open(resealed, owner="u1", provider="openai") == SECRET
    )
    assert rotated.reseal(resealed, owner="u1", provider="openai") is resealed


def test_parse_keys_keeps_order_and_first_is_active():
    text = f"{new_key_entry('k2')},{new_key_entry('k1')}"
    vault = Vault(parse_vault_keys(text))
    assert vault.key_ids == ("k2", "k1")
    assert vault.active_key_id == "k2"


@pytest.mark.parametrize(
    "text",
    [
        "k1",
        "k1:not*base64",
        "k1:" + base64.b64encode(b"short").decode(),
        "bad id:" + base64.b64encode(bytes(32)).decode(),
    ],
)
def test_malformed_key_settings_are_refused(text):
    with pytest.raises(VaultMisconfigured):
        Vault(parse_vault_keys(text))


def test_duplicate_key_ids_are_refused():
    with pytest.raises(VaultMisconfigured):
        Vault([("k1", _key()), ("k1", _key())])


def test_production_without_keys_fails_fast(tmp_path):
    settings = Settings(
        env="production",
        var_dir=tmp_path,
        secret_key="x" * 40,
        DATABASE_URL="postgresql://db/x",
        REDIS_URL="redis://r",
    )
    with pytest.raises(VaultMisconfigured):
        load_vault(settings, AccountsSettings(vault_keys=None))
    assert not (tmp_path / "vault.keys").exists()


def test_embedded_default_creates_one_private_key_file(tmp_path):
    settings = Settings(env="embedded", var_dir=tmp_path)
    first = load_vault(settings, AccountsSettings(vault_keys=None))
    second = load_vault(settings, AccountsSettings(vault_keys=None))

    path = tmp_path / "vault.keys"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    sealed = first.seal(SECRET, owner="u1", provider="openai")
    assert second.open(sealed, owner="u1", provider="openai") == SECRET


def test_configured_keys_win_over_the_key_file(tmp_path):
    settings = Settings(env="embedded", var_dir=tmp_path)
    accounts = AccountsSettings(vault_keys=new_key_entry("prod7"))
    assert load_vault(settings, accounts).active_key_id == "prod7"
    assert not (tmp_path / "vault.keys").exists()
