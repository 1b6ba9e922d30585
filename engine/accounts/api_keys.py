"""Users' own provider keys, sealed by the vault.

Only :func:`open_key` and :class:`VaultKeySource` ever hold a key in clear,
in memory, for the call that needs it. Everything else sees
:class:`ApiKeyInfo`: provider, last four characters, created and last used.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounts.audit import AuditAction, record
from engine.accounts.vault import Sealed, Vault, get_vault
from engine.db.accounts_models import UserApiKey
from engine.db.base import utcnow
from engine.errors import InvalidRequest, NotFound

#: Provider name -> the prefix its keys start with (catches pasting slips).
PROVIDER_KEY_PREFIXES = {
    "openai": "sk-",
    "anthropic": "sk-ant-",
    "openrouter": "sk-or-",
}
PROVIDERS = tuple(PROVIDER_KEY_PREFIXES)
_KEY_SHAPE = re.compile(r"^[\x21-\x7e]{20,512}$")


@dataclass(frozen=True)
class ApiKeyInfo:
    """What may be shown about a stored key."""

    id: uuid.UUID
    provider: str
    last4: str
    created_at: datetime
    last_used_at: datetime | None


def _info(row: UserApiKey) -> ApiKeyInfo:
    return ApiKeyInfo(row.id, row.provider, row.last4, row.created_at, row.last_used_at)


def _sealed(row: UserApiKey) -> Sealed:
    return Sealed(row.key_id, bytes(row.sealed))


def check_key(provider: str, secret: str) -> None:
    """Refuse an unknown provider or a value that cannot be that provider's key."""
    if provider not in PROVIDER_KEY_PREFIXES:
        raise InvalidRequest(
            message="Unknown provider.", details={"allowed": list(PROVIDERS)}
        )
    if not _KEY_SHAPE.match(secret) or not secret.startswith(
        PROVIDER_KEY_PREFIXES[provider]
    ):
        # Never echo the value back, not even in part.
        raise InvalidRequest(
            message=f"That does not look like a {provider} API key.",
            details={"field": "api_key"},
        )


def store_key(
    session: Session,
    user_id: uuid.UUID,
    provider: str,
    secret: str,
    *,
    vault: Vault | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> ApiKeyInfo:
    """Seal and store a user's key for ``provider``, replacing an older one."""
    secret = secret.strip()
    check_key(provider, secret)
    sealed = (vault or get_vault()).seal(secret, owner=str(user_id), provider=provider)

    row = session.scalar(
        select(UserApiKey).where(
            UserApiKey.user_id == user_id, UserApiKey.provider == provider
        )
    )
    replaced = row is not None
    if row is None:
        row = UserApiKey(user_id=user_id, provider=provider)
        session.add(row)
    row.key_id, row.sealed, row.last4 = sealed.key_id, sealed.blob, secret[-4:]
    row.created_at, row.last_used_at = utcnow(), None
    session.flush()

    details = {"provider": provider, "last4": row.last4, "replaced": replaced}
    record(session, user_id, AuditAction.KEY_ADDED, ip, user_agent, details)
    return _info(row)


def list_keys(session: Session, user_id: uuid.UUID) -> list[ApiKeyInfo]:
    """The user's stored keys, by provider."""
    rows = session.scalars(
        select(UserApiKey)
        .where(UserApiKey.user_id == user_id)
        .order_by(UserApiKey.provider)
    )
    return [_info(row) for row in rows]


def delete_key(
    session: Session,
    user_id: uuid.UUID,
    key_row_id: uuid.UUID,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
) -> ApiKeyInfo:
    """Delete one of the user's keys; someone else's id is NotFound."""
    row = session.scalar(
        select(UserApiKey).where(
            UserApiKey.id == key_row_id, UserApiKey.user_id == user_id
        )
    )
    if row is None:
        raise NotFound(message="API key not found.")
    info = _info(row)
    session.delete(row)
    details = {"provider": info.provider, "last4": info.last4}
    record(session, user_id, AuditAction.KEY_REMOVED, ip, user_agent, details)
    return info


def has_own_key(session: Session, user_id: uuid.UUID) -> bool:
    """True when the user has stored at least one provider key."""
    query = select(UserApiKey.id).where(UserApiKey.user_id == user_id).limit(1)
    return session.scalar(query) is not None


def open_key(
    session: Session, user_id: uuid.UUID, provider: str, *, vault: Vault | None = None
) -> str | None:
    """The user's key for ``provider`` in clear, for one call; marks it used.

    Keep the result in a local variable only: never log it, store it or put
    it in an exception.
    """
    row = session.scalar(
        select(UserApiKey).where(
            UserApiKey.user_id == user_id, UserApiKey.provider == provider
        )
    )
    if row is None:
        return None
    secret = (vault or get_vault()).open(
        _sealed(row), owner=str(user_id), provider=provider
    )
    row.last_used_at = utcnow()
    return secret


def rotate_keys(
    session: Session, *, vault: Vault | None = None, batch: int = 200
) -> int:
    """Re-seal up to ``batch`` keys not under the active master key.

    Returns how many moved; ``pineforge keys rotate`` commits and calls again
    until 0, after which the old master key can be removed from settings.
    """
    vault = vault or get_vault()
    rows = session.scalars(
        select(UserApiKey)
        .where(UserApiKey.key_id != vault.active_key_id)
        .order_by(UserApiKey.id)
        .limit(batch)
        .with_for_update()
    ).all()
    for row in rows:
        resealed = vault.reseal(
            _sealed(row), owner=str(row.user_id), provider=row.provider
        )
        row.key_id, row.sealed = resealed.key_id, resealed.blob
    session.flush()
    return len(rows)


class VaultKeySource:
    """The provider pipeline's source of a user's own keys (``KeySource``).

    Opens a short session of its own, so no connection is held across the
    slow provider call that follows.
    """

    def __init__(
        self, session_factory: Callable[[], Session], vault: Vault | None = None
    ) -> None:
        self._session_factory = session_factory
        self._vault = vault

    def keys_for(self, user_id: str | None) -> dict[str, str]:
        """Every stored key of the user, opened, as ``{provider: secret}``."""
        if not user_id:
            return {}
        owner = uuid.UUID(str(user_id))
        vault = self._vault or get_vault()
        with self._session_factory() as session:
            rows = session.scalars(
                select(UserApiKey).where(UserApiKey.user_id == owner)
            ).all()
            keys = {
                row.provider: vault.open(
                    _sealed(row), owner=str(owner), provider=row.provider
                )
                for row in rows
            }
            if rows:  # nothing to mark, nothing to commit
                for row in rows:
                    row.last_used_at = utcnow()
                session.commit()
        return keys
