"""Request and response models of the strategy library API.

Strategies, their versions, refinement and export. Like ``web/schemas.py``,
the same models validate requests and write the OpenAPI document.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from engine.library.listing import SORTS
from web.schemas import Email, GenerateOptions

Sort = Literal[SORTS]  # type: ignore[valid-type]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
SPEC_DESCRIPTION = (
    "A strategy spec: the JSON the LLM or the offline composer writes "
    "(`settings`, `indicators`, `long`/`short`, `risk`, ...). It is validated "
    "and rendered; an invalid one is a 422 SPEC_INVALID listing each problem."
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- requests


class StrategyCreate(_Strict):
    """A strategy written by hand: no LLM, no credits."""

    spec: dict[str, Any] = Field(description=SPEC_DESCRIPTION)
    name: Name | None = Field(None, description="Defaults to the spec's name.")
    description: Description | None = None


class StrategyUpdate(_Strict):
    """Rename, describe, or give a new spec (which makes a new version)."""

    name: Name | None = None
    description: Description | None = None
    spec: dict[str, Any] | None = Field(None, description=SPEC_DESCRIPTION)


class StrategyListQuery(_Strict):
    page: int | None = Field(None, ge=1, le=100_000, description="1-based page")
    size: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(
        None, max_length=500, description="`next_cursor` of the previous page"
    )
    indicator: str | None = Field(
        None, pattern=r"^[A-Za-z][A-Za-z0-9_]{0,31}$", description="Indicator kind"
    )
    q: str | None = Field(
        None, min_length=1, max_length=100, description="Text in name or description"
    )
    sort: Sort = Field("-updated", description="A leading '-' sorts descending")


class VersionListQuery(_Strict):
    page: int = Field(1, ge=1, le=100_000)
    size: int = Field(20, ge=1, le=100)


class DiffQuery(_Strict):
    from_version: int = Field(alias="from", ge=1, le=1_000_000)
    to_version: int = Field(alias="to", ge=1, le=1_000_000)


class LabelBody(_Strict):
    label: str = Field(min_length=1, max_length=40, examples=["baseline"])


class RefineRequest(_Strict):
    """An instruction that changes the strategy's current version."""

    instruction: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)
    ] = Field(examples=["add a 2% trailing stop", "only short below the 200 EMA"])
    options: GenerateOptions = Field(default_factory=GenerateOptions)


class ExportRequest(_Strict):
    """Send a version's script by email, as an attachment."""

    delivery: Literal["email"]
    email: Email | None = Field(
        None, description="Only the account's own address is accepted."
    )
    version: int | None = Field(None, ge=1, le=1_000_000)


# ---------------------------------------------------------------- responses


class StrategySummary(BaseModel):
    id: str
    name: str
    description: str
    current_version: int
    indicators: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime
    url: str


class StrategyPage(BaseModel):
    items: list[StrategySummary]
    size: int
    page: int | None = None
    total: int | None = None
    next_cursor: str | None = None
    next: str | None = None


class VersionInfo(BaseModel):
    number: int
    created_at: dt.datetime
    source: str
    provider: str | None = None
    model: str | None = None
    prompt_version: str | None = None
    label: str | None = None
    parent_number: int | None = None


class VersionDetail(VersionInfo):
    spec: dict[str, Any]
    code: str


class VersionPage(BaseModel):
    items: list[VersionInfo]
    page: int
    size: int
    total: int


class SpecChange(BaseModel):
    path: str
    op: Literal["added", "removed", "changed"]
    old: Any = None
    new: Any = None


class VersionDiffView(BaseModel):
    from_version: int = Field(serialization_alias="from")
    to_version: int = Field(serialization_alias="to")
    changes: list[SpecChange]
    code_diff: str


def dump_aliased(model: BaseModel) -> dict[str, Any]:
    """JSON-ready data using serialization aliases (``from``/``to``)."""
    return model.model_dump(mode="json", by_alias=True)
