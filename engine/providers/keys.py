"""Where provider API keys come from.

A `KeySource` maps a user to their provider secrets. The platform's own keys
come from settings; a user's own keys will come from the encrypted vault of
the accounts work, behind the same interface. The pipeline puts a user's own
keys first in the chain when there are any.
"""

from __future__ import annotations

from typing import Protocol

from engine.providers.config import ProviderSettings


class KeySource(Protocol):
    """Provider secrets for one user, as {provider name: secret}."""

    def keys_for(self, user_id: str | None) -> dict[str, str]:
        """Return the secrets available for `user_id` (may be empty)."""
        ...


class NoUserKeys:
    """A source for users who have stored no keys of their own."""

    def keys_for(self, user_id: str | None) -> dict[str, str]:
        """Always empty."""
        return {}


class PlatformKeys:
    """The platform's keys from `PINEFORGE_<PROVIDER>__API_KEY`, for everyone."""

    def __init__(self, settings: ProviderSettings) -> None:
        self._settings = settings

    def keys_for(self, user_id: str | None = None) -> dict[str, str]:
        """Every configured platform key, whoever asks."""
        keys = {}
        for name in self._settings.llm_providers:
            secret = self._settings.provider(name).api_key
            if secret is not None and secret.get_secret_value():
                keys[name] = secret.get_secret_value()
        return keys
