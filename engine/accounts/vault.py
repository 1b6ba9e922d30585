"""The key vault: AES-256-GCM for the secrets users hand us.

Every sealed value carries the id of the master key that sealed it, so master
keys can be rotated: settings list several keys, the first one seals, all of
them open, and :meth:`Vault.reseal` moves a value to the active key. The
associated data binds a sealed value to its owner and provider, so a blob copied
onto another user's row (or another provider) fails to open instead of leaking.

Stored form: ``key_id`` in its own column, ``blob = nonce(12) || ciphertext || tag``.
Keys come from ``PINEFORGE_VAULT_KEYS="k2:<base64>,k1:<base64>"``. Outside
production, with none set, one key is generated into ``<var>/vault.keys``
(mode 0600); production refuses to start without keys.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from engine.accounts.config import AccountsSettings, get_accounts_settings
from engine.errors import PineForgeError
from engine.settings import Settings, get_settings

KEY_BYTES = 32
NONCE_BYTES = 12
KEY_FILE_NAME = "vault.keys"
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_AAD_VERSION = "pineforge-vault/1"


class VaultError(PineForgeError):
    """The vault cannot do its work; never says which key or value."""

    http_status = 500
    default_code = "VAULT_ERROR"
    default_message = "A stored secret could not be used."


class VaultMisconfigured(VaultError):
    default_code = "VAULT_MISCONFIGURED"
    default_message = "The key vault is not configured."


class SealedValueInvalid(VaultError):
    default_code = "SEALED_VALUE_INVALID"
    default_message = "A stored secret could not be opened."


@dataclass(frozen=True)
class Sealed:
    """A sealed secret as stored: the sealing key's id and the GCM blob."""

    key_id: str
    blob: bytes


def _associated_data(key_id: str, owner: str, provider: str) -> bytes:
    # JSON keeps the fields unambiguous whatever characters they hold.
    return json.dumps([_AAD_VERSION, key_id, owner, provider]).encode()


class Vault:
    """Seal and open short secrets under a ring of named master keys."""

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise VaultMisconfigured(message="The key vault has no keys.")
        self._ring: dict[str, AESGCM] = {}
        for key_id, key in keys:
            if not _KEY_ID.match(key_id) or len(key) != KEY_BYTES:
                raise VaultMisconfigured(message="A vault key is malformed.")
            if key_id in self._ring:
                raise VaultMisconfigured(message="Vault key ids must be unique.")
            self._ring[key_id] = AESGCM(key)
        self.active_key_id = keys[0][0]

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Ids of every key that can open, the active one first."""
        return tuple(self._ring)

    def seal(self, secret: str, *, owner: str, provider: str) -> Sealed:
        """Encrypt ``secret`` for ``owner``/``provider`` under the active key."""
        nonce = os.urandom(NONCE_BYTES)
        aad = _associated_data(self.active_key_id, owner, provider)
        sealed = self._ring[self.active_key_id].encrypt(nonce, secret.encode(), aad)
        return Sealed(self.active_key_id, nonce + sealed)

    def open(self, sealed: Sealed, *, owner: str, provider: str) -> str:
        """Decrypt a sealed value; any mismatch raises :class:`SealedValueInvalid`.

        A wrong owner or provider, a tampered blob and a retired key id all fail
        the same way, so an error never tells which one it was.
        """
        cipher = self._ring.get(sealed.key_id)
        if cipher is None or len(sealed.blob) <= NONCE_BYTES:
            raise SealedValueInvalid()
        nonce, body = sealed.blob[:NONCE_BYTES], sealed.blob[NONCE_BYTES:]
        aad = _associated_data(sealed.key_id, owner, provider)
        try:
            return cipher.decrypt(nonce, body, aad).decode()
        except (InvalidTag, UnicodeDecodeError) as exc:
            raise SealedValueInvalid() from exc

    def needs_reseal(self, key_id: str) -> bool:
        """True when a value sealed under ``key_id`` should move to the active key."""
        return key_id != self.active_key_id

    def reseal(self, sealed: Sealed, *, owner: str, provider: str) -> Sealed:
        """Return ``sealed`` under the active key (unchanged if already there)."""
        if not self.needs_reseal(sealed.key_id):
            return sealed
        secret = self.open(sealed, owner=owner, provider=provider)
        return self.seal(secret, owner=owner, provider=provider)


def parse_vault_keys(text: str) -> list[tuple[str, bytes]]:
    """Parse ``"id:<base64>,id:<base64>"`` into ``(id, key)`` pairs, in order."""
    keys: list[tuple[str, bytes]] = []
    for item in re.split(r"[,\s]+", text.strip()):
        if not item:
            continue
        key_id, sep, encoded = item.partition(":")
        if not sep:
            raise VaultMisconfigured(message="Vault keys must be written id:base64.")
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise VaultMisconfigured(message="A vault key is not base64.") from exc
        keys.append((key_id, key))
    return keys


def new_key_entry(key_id: str | None = None) -> str:
    """Return a fresh ``id:<base64>`` entry to put first in ``PINEFORGE_VAULT_KEYS``."""
    key_id = key_id or "k" + datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    if not _KEY_ID.match(key_id):
        raise VaultMisconfigured(message="A vault key id may hold A-Z a-z 0-9 _ -.")
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def _local_key_file(var_dir: Path) -> str:
    """Read ``<var>/vault.keys``, creating it once with mode 0600."""
    path = var_dir / KEY_FILE_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"{KEY_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(new_key_entry("local1") + "\n")
        # Linking either wins or finds a complete file left by a racing process.
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    return path.read_text()


def load_vault(
    settings: Settings | None = None, accounts: AccountsSettings | None = None
) -> Vault:
    """Build the vault from settings; fail fast in production without keys."""
    settings = settings or get_settings()
    accounts = accounts or get_accounts_settings()
    configured = accounts.vault_keys.get_secret_value() if accounts.vault_keys else ""
    if configured.strip():
        return Vault(parse_vault_keys(configured))
    if settings.env == "production":
        raise VaultMisconfigured(message="production requires PINEFORGE_VAULT_KEYS")
    return Vault(parse_vault_keys(_local_key_file(settings.var_dir)))


@lru_cache(maxsize=1)
def get_vault() -> Vault:
    """Return the process-wide vault, built from settings on first use."""
    return load_vault()
