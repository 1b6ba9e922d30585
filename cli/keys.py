"""``keys new`` and ``keys rotate``: the vault's master keys.

Rotation is two steps: put a new entry first in ``PINEFORGE_VAULT_KEYS`` (keep
the old ones after it), then run ``pineforge keys rotate`` to re-seal every
stored user key under the new one. After that the old entries can go.
"""

from __future__ import annotations

import click

from cli.services import prepare_local_services
from engine.accounts.api_keys import rotate_keys
from engine.accounts.vault import get_vault, new_key_entry
from engine.db import session_scope
from engine.settings import get_settings

BATCH = 200


@click.group()
def keys() -> None:
    """Master keys of the vault that seals users' provider keys."""


@keys.command("new")
@click.option("--id", "key_id", help="Key id (default: k + a timestamp).")
def keys_new(key_id: str | None) -> None:
    """Print a fresh key entry to put first in PINEFORGE_VAULT_KEYS."""
    click.echo(new_key_entry(key_id))


@keys.command("rotate")
def keys_rotate() -> None:
    """Re-seal every stored user key under the active (first) master key."""
    prepare_local_services(get_settings(), redis=False)
    vault = get_vault()
    total = 0
    while True:
        with session_scope() as session:
            moved = rotate_keys(session, vault=vault, batch=BATCH)
        total += moved
        if moved < BATCH:
            break
    click.echo(f"re-sealed {total} key(s) under {vault.active_key_id}")
