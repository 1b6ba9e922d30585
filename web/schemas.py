"""Request and response models of the API.

The same models validate what comes in and are turned into the OpenAPI
document (web/openapi.py), so the document cannot drift from the checks.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

_SYMBOL = r"^[A-Za-z0-9_.:!/\-]{1,40}$"
_TIMEFRAME = re.compile(r"^(?:[1-9]\d{0,3}|[1-9]?\d{0,2}[SDWM])$")

Symbol = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=_SYMBOL),
    Field(description="Chart symbol", examples=["BINANCE:BTCUSDT"]),
]
JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]
Timeframe = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=_TIMEFRAME.pattern),
    Field(
        description="TradingView timeframe: 1, 15, 240, 1D, 1W ...", examples=["240"]
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- requests


class DeliveryOptions(_Strict):
    """Where the finished script goes besides the job result."""

    # Limitation: no webhook delivery yet (it needs signing and an outbound
    # address filter); a webhook_url is refused rather than stored and ignored.
    email: bool | Email = Field(
        False,
        description="Mail the .pine file: true for the account's address, or that "
        "address itself (no other is accepted).",
    )


class GenerateOptions(_Strict):
    """Hints that narrow the request; the text itself stays authoritative."""

    symbol: Symbol | None = None
    timeframe: Timeframe | None = None
    deliver: DeliveryOptions | None = None


class GenerateRequest(_Strict):
    """A plain-language trading idea to turn into a Pine Script strategy."""

    request: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
    ] = Field(examples=["EMA 9 / EMA 21 crossover, 1.5% stop loss and 3% take profit"])
    options: GenerateOptions = Field(default_factory=GenerateOptions)


class JobListQuery(_Strict):
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=100_000)
    status: JobStatus | None = None


class ExportQuery(_Strict):
    version: int | None = Field(None, ge=1, le=1_000_000)


class StrategyQuery(_Strict):
    version: int | None = Field(None, ge=1, le=1_000_000)


# ---------------------------------------------------------------- responses


class JobAccepted(BaseModel):
    job_id: str
    status: JobStatus
    status_url: str


class JobResult(BaseModel):
    strategy_id: str
    version: int
    strategy_url: str
    export_url: str


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class JobView(BaseModel):
    id: str
    status: JobStatus
    stage: str | None = None
    progress: int = Field(0, ge=0, le=100)
    attempts: int = 0
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    result: JobResult | None = None
    error: ErrorInfo | None = None
    accounting: dict[str, Any] | None = None


class JobPage(BaseModel):
    items: list[JobView]
    limit: int
    offset: int
    next: str | None = None


class VersionSummary(BaseModel):
    number: int
    created_at: dt.datetime
    source: str | None = None
    provider: str | None = None


class StrategyView(BaseModel):
    id: str
    name: str
    description: str | None = None
    current_version: int
    version: int = Field(description="The version whose spec and code are shown.")
    spec: dict[str, Any]
    code: str
    versions: list[VersionSummary]
    export_url: str


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]
    broker: Literal["ok"]


class ErrorBody(BaseModel):
    """The body of every error response."""

    status: Literal["error"]
    code: str = Field(examples=["VALIDATION_ERROR"])
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


def dump(model: BaseModel) -> dict[str, Any]:
    """JSON-ready data for a response model."""
    return model.model_dump(mode="json", exclude_none=False)
