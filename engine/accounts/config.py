"""Settings of the accounts part: tokens, sign-in, vault keys, plans, limits.

A separate pydantic-settings class on the same ``PINEFORGE_`` prefix as
:mod:`engine.settings`, so the accounts part adds its variables without touching
the shared settings object. Read once through :func:`get_accounts_settings`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class AccountsSettings(BaseSettings):
    """Validated accounts configuration."""

    model_config = SettingsConfigDict(
        env_prefix="PINEFORGE_", extra="ignore", hide_input_in_errors=True
    )

    #: ``"k2:<base64 32 bytes>,k1:<base64 32 bytes>"``; the first key seals.
    vault_keys: SecretStr | None = None

    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    #: ``None`` means "secure unless embedded or test".
    cookie_secure: bool | None = None
    #: ``None`` only for a browser app on another site (needs secure cookies).
    cookie_samesite: Literal["Strict", "Lax", "None"] = "Strict"

    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    google_discovery_url: str = (
        "https://accounts.google.com/.well-known/openid-configuration"
    )
    #: Issuer spellings accepted besides the one in the discovery document
    #: (Google signs some ID tokens with the scheme-less form).
    google_extra_issuers: str = "accounts.google.com"
    #: The callback URL registered with Google; unset derives it from the request.
    google_redirect_uri: str | None = None
    #: Where the browser lands after ``/auth/callback``; unset answers JSON.
    login_redirect_url: str | None = None

    #: Comma-separated origins allowed to call the API from a browser.
    cors_origins: str = ""
    auth_rate_limit: str = "20/minute"

    #: JSON object merged over :data:`engine.accounts.plans.DEFAULT_PLANS`.
    plans: dict[str, dict[str, Any]] = Field(default_factory=dict)
    credits_per_job: int = Field(default=1, ge=0, le=1000)

    def cors_origin_list(self) -> list[str]:
        """The allowed browser origins, without blanks or trailing slashes."""
        return [
            origin.strip().rstrip("/")
            for origin in self.cors_origins.split(",")
            if origin.strip()
        ]

    def extra_issuer_list(self) -> list[str]:
        """Issuer spellings accepted in addition to the discovered one."""
        return [item.strip() for item in self.google_extra_issuers.split(",") if item]


@lru_cache(maxsize=1)
def get_accounts_settings() -> AccountsSettings:
    """Return the process-wide accounts settings, read once."""
    return AccountsSettings()


def reset_accounts_settings() -> None:
    """Forget the cached accounts settings (tests change the environment)."""
    get_accounts_settings.cache_clear()
