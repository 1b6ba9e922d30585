"""Request and response models of the community API (and publishing)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PublishRequest(_Strict):
    """Which version to publish; without one (or without a body), the current."""

    version: int | None = Field(None, ge=1, le=1_000_000)


class CommunityQuery(_Strict):
    q: str | None = Field(
        None, max_length=100, description="Words to find in name, description, author"
    )
    indicator: str | None = Field(
        None, max_length=32, description="Only strategies using this indicator kind"
    )
    sort: Literal["recent", "likes", "forks"] = "recent"
    page: int = Field(1, ge=1, le=1000)
    size: int = Field(20, ge=1, le=100)


class UserStrategiesQuery(_Strict):
    sort: Literal["recent", "likes", "forks"] = "recent"
    page: int = Field(1, ge=1, le=1000)
    size: int = Field(20, ge=1, le=100)


class ReportRequest(_Strict):
    reason: Reason


class HideRequest(_Strict):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = (
        ""
    )


class PublicationView(BaseModel):
    """Where a strategy stands in the community."""

    strategy_id: str
    version: int
    published: bool
    hidden: bool
    published_at: dt.datetime
    community_url: str


class Author(BaseModel):
    handle: str | None = None
    display_name: str | None = None


class CommunityStrategy(BaseModel):
    """A public strategy as lists show it."""

    id: str
    name: str
    description: str
    version: int
    author: Author
    indicators: list[str]
    like_count: int
    fork_count: int
    published_at: dt.datetime
    liked: bool | None = Field(None, description="Only when you send a token.")
    url: str


class CommunityPage(BaseModel):
    items: list[CommunityStrategy]
    page: int
    size: int
    next: str | None = None


class ForkLink(BaseModel):
    strategy_id: str | None = Field(description="None once the source is purged.")
    version: int
    url: str | None = None


class CommunityStrategyDetail(CommunityStrategy):
    """A public strategy with its published spec and code."""

    spec: dict[str, Any]
    code: str
    forked_from: ForkLink | None = None


class UserStrategies(BaseModel):
    """A user's public strategies."""

    user: Author
    items: list[CommunityStrategy]
    page: int
    size: int
    next: str | None = None


class LikeState(BaseModel):
    liked: bool
    like_count: int


class ForkCreated(BaseModel):
    """Your private copy of a public strategy."""

    strategy_id: str
    version: int
    strategy_url: str
    forked_from: ForkLink


class ReportAccepted(BaseModel):
    reported: bool
    first_report: bool


class ReportView(BaseModel):
    id: str
    strategy_id: str
    strategy_name: str
    hidden: bool
    reporter: str | None
    reason: str
    created_at: dt.datetime


class ReportPage(BaseModel):
    """Open reports, newest first."""

    items: list[ReportView]
    page: int
    size: int
    next: str | None = None
