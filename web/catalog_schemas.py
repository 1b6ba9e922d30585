"""Request and response models of the indicator catalog API.

The definitions users send are the engine's own models
(``engine.library.custom_indicators``, ``engine.library.overrides``), so the
OpenAPI document shows exactly what is checked.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IndicatorListQuery(_Strict):
    category: str | None = Field(None, max_length=32)
    q: str | None = Field(
        None, max_length=100, description="Words to find in kind, title, description"
    )
    source: Literal["all", "builtin", "custom"] = "all"
    page: int = Field(1, ge=1, le=1000)
    size: int = Field(50, ge=1, le=200)


class PageQuery(_Strict):
    page: int = Field(1, ge=1, le=1000)
    size: int = Field(20, ge=1, le=100)


class TrendingQuery(_Strict):
    limit: int = Field(10, ge=1, le=50)


class ParamView(BaseModel):
    name: str
    type: str
    default: bool | int | float | str
    title: str
    min: float | None = None
    max: float | None = None
    step: float | None = None


class IndicatorView(BaseModel):
    """One catalog entry: a built-in (with any override) or one of your own."""

    kind: str
    title: str
    category: str
    description: str
    builtin: bool
    overridden: bool = Field(description="A built-in an admin has changed.")
    pine_call: str
    params: list[ParamView]
    outputs: list[str]
    overlay: bool
    id: str | None = Field(None, description="Your own indicators only.")
    template: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


class IndicatorPage(BaseModel):
    items: list[IndicatorView]
    page: int
    size: int
    next: str | None = None


class CategoryCount(BaseModel):
    category: str
    count: int


class CategoryList(BaseModel):
    """Categories of the catalog you see, with how many entries each has."""

    items: list[CategoryCount]


class TrendingKind(BaseModel):
    kind: str
    title: str
    category: str
    uses: int = Field(description="New strategy versions using it in the window.")


class TrendingList(BaseModel):
    """Built-in indicators by use in new strategy versions."""

    window_days: int
    items: list[TrendingKind]
