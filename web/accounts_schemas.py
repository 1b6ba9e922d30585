"""Request and response models of the accounts routes (auth and users).

Like web/schemas.py, the same models validate input and feed the OpenAPI
document. Secrets only ever travel inward: no response model has a field that
could carry a provider key or a stored token.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

Client = Literal["browser", "api"]
Provider = Literal["openai", "anthropic", "openrouter"]
Handle = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9_]{3,32}$")
]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- requests


class GoogleSignIn(_Strict):
    """An ID token obtained by a single-page or mobile client."""

    id_token: Annotated[str, StringConstraints(min_length=20, max_length=8192)]
    nonce: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    client: Client = Field(
        "api",
        description="`browser` gets the refresh token as an httpOnly cookie, "
        "`api` in the body.",
    )


class RefreshBody(_Strict):
    """API clients send the refresh token in the body; browsers send none."""

    refresh_token: Annotated[str, StringConstraints(min_length=20, max_length=4096)]


class TokenCreate(_Strict):
    name: Annotated[Line, StringConstraints(max_length=120)] = "api"


class ProfilePatch(_Strict):
    """Fields to change; omitted ones stay as they are, null clears."""

    handle: Handle | None = None
    display_name: Annotated[Line, StringConstraints(max_length=120)] | None = None
    bio: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None
    ) = None
    avatar_url: AnyHttpUrl | None = Field(
        None, description="An https URL of at most 500 characters."
    )

    @field_validator("avatar_url")
    @classmethod
    def _https_only(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        if value is not None and (value.scheme != "https" or len(str(value)) > 500):
            raise ValueError("must be an https URL of at most 500 characters")
        return value


class ApiKeyCreate(_Strict):
    provider: Provider
    api_key: Annotated[str, StringConstraints(strip_whitespace=True, max_length=512)]


class PageQuery(_Strict):
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=100_000)


# ---------------------------------------------------------------- responses


class Profile(BaseModel):
    """The signed-in user's profile."""

    id: str
    email: str
    handle: str | None = None
    display_name: str | None = None
    bio: str | None = None
    avatar_url: str | None = None
    plan: str
    role: str
    created_at: dt.datetime


class TokenPair(BaseModel):
    """An access token, and the refresh token for API clients."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    refresh_token: str | None = Field(
        None, description="Only for `api` clients; browsers get a cookie."
    )
    refresh_expires_at: dt.datetime
    csrf_token: str | None = Field(
        None, description="Browsers: send it as X-CSRF-Token on refresh and logout."
    )
    user: Profile | None = None


class LoggedOut(BaseModel):
    """Logout result."""

    status: Literal["ok"] = "ok"
    revoked_families: int


class LoggedOutEverywhere(BaseModel):
    """Sign-out-everywhere result."""

    status: Literal["ok"] = "ok"
    revoked_families: int
    revoked_personal_tokens: int


class PersonalToken(BaseModel):
    """A personal access token, without the token itself."""

    id: str
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None


class PersonalTokenCreated(PersonalToken):
    """A new personal access token: ``token`` is shown this once."""

    token: str


class PersonalTokenList(BaseModel):
    """Your personal access tokens."""

    items: list[PersonalToken]


class ApiKey(BaseModel):
    """A stored provider key: never the key, only its last four characters."""

    id: str
    provider: Provider
    last4: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None = None


class ApiKeyList(BaseModel):
    """Your stored provider keys."""

    items: list[ApiKey]


class LedgerEntry(BaseModel):
    id: str
    kind: Literal["grant", "reserve", "capture", "refund", "adjust"]
    amount: int
    delta: int
    balance_after: int
    job_id: str | None = None
    period: str | None = None
    reason: str | None = None
    created_at: dt.datetime


class Credits(BaseModel):
    """Balance, plan allowance and one page of the ledger (newest first)."""

    balance: int
    plan: str
    monthly_credits: int
    items: list[LedgerEntry]
    limit: int
    offset: int
    next: str | None = None


class AuditEntry(BaseModel):
    id: str
    action: str
    ip: str | None = None
    user_agent: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    created_at: dt.datetime


class AuditPage(BaseModel):
    """Your own audit trail, newest first."""

    items: list[AuditEntry]
    limit: int
    offset: int
    next: str | None = None
