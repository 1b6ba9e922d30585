"""The strategy spec: the only thing an LLM or the offline composer produces.

A spec is JSON that these pydantic models validate. Every number and length is
bounded and unknown fields are rejected, so a spec that validates can always be
rendered. Pine Script is never part of a spec; the renderer writes it.

Shape::

    StrategySpec
      settings     ChartSettings (overlay, capital, currency, sizing, costs...)
      indicators   [IndicatorUse(id, kind, params, timeframe?)]
      long/short   SideRules(entry: Condition, exit: Condition?)
      risk         Risk(stop?, take_profit?, trailing?)
      session      SessionWindow?      date_range  DateRange?
      alerts       Alerts

    Condition = cross | compare | trend | all | any | not   (recursive)
    Operand   = indicator output | price source | number    (optional bar offset)
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from engine.catalog import PRICE_SOURCES, get_indicator

SPEC_SCHEMA_VERSION = 1
MAX_INDICATORS = 16
MAX_CONDITION_DEPTH = 5
MAX_CONDITION_NODES = 40
MAX_OFFSET = 500

PriceSource = Literal[
    "open", "high", "low", "close", "volume", "hl2", "hlc3", "ohlc4", "hlcc4"
]
Currency = Literal[
    "NONE", "USD", "EUR", "GBP", "JPY", "CHF", "AUD", "CAD", "NZD", "CNY", "HKD",
    "SGD", "INR", "KRW", "BRL", "MXN", "TRY", "ZAR", "SEK", "NOK", "PLN", "USDT",
    "BTC", "ETH",
]  # fmt: skip

_TIMEFRAME = re.compile(r"^(?:[1-9]\d{0,3}|(?:[1-9]\d{0,2})?[SDWM])$")
_SESSION = re.compile(r"^([01]\d|2[0-3])([0-5]\d)-([01]\d|2[0-3])([0-5]\d)$")
_TIMEZONE = re.compile(r"^(?:exchange|UTC|GMT[+-]\d{1,2}|[A-Za-z_]+/[A-Za-z_/+-]+)$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- settings


class Sizing(_Model):
    """How big each entry is: percent of equity, a fixed quantity or cash."""

    type: Literal["percent_of_equity", "fixed", "cash"] = "percent_of_equity"
    value: float = Field(100.0, gt=0, le=1_000_000_000)

    @model_validator(mode="after")
    def _percent_at_most_100(self) -> Sizing:
        if self.type == "percent_of_equity" and self.value > 100:
            raise ValueError("percent_of_equity sizing must be at most 100")
        return self


class ChartSettings(_Model):
    """Everything the `strategy()` declaration carries."""

    overlay: bool = True
    initial_capital: float = Field(10_000.0, gt=0, le=1_000_000_000)
    currency: Currency = "NONE"
    sizing: Sizing = Sizing()
    commission_percent: float = Field(0.0, ge=0, le=10)
    slippage_ticks: int = Field(0, ge=0, le=1000)
    pyramiding: int = Field(0, ge=0, le=100)
    process_orders_on_close: bool = False


# -------------------------------------------------------------- indicators


ParamValue = Union[bool, int, float, str]  # noqa: UP007 - order matters for pydantic


class IndicatorUse(_Model):
    """One use of a catalog indicator, under the spec's own id."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,23}$")
    kind: str = Field(min_length=1, max_length=32)
    params: dict[str, ParamValue] = Field(default_factory=dict, max_length=12)
    timeframe: str | None = Field(None, max_length=8)

    @field_validator("timeframe")
    @classmethod
    def _valid_timeframe(cls, value: str | None) -> str | None:
        if value is not None and not _TIMEFRAME.match(value):
            raise ValueError(f"'{value}' is not a Pine timeframe such as 60, 240, D, W")
        return value

    @model_validator(mode="after")
    def _params_match_catalog(self) -> IndicatorUse:
        entry = get_indicator(self.kind)
        if entry is None:
            raise ValueError(f"unknown indicator kind '{self.kind}'")
        problems = []
        for name, value in self.params.items():
            definition = entry.param(name)
            if definition is None:
                problems.append(f"{self.kind} has no parameter '{name}'")
                continue
            problem = _check_param(definition, value)
            if problem:
                problems.append(f"{self.kind}.{name} {problem}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def resolved_params(self) -> dict[str, ParamValue]:
        """The catalog defaults overlaid with this use's own values."""
        entry = get_indicator(self.kind)
        assert entry is not None  # checked by the validator
        return {**entry.defaults(), **self.params}


def _check_param(definition: Any, value: ParamValue) -> str | None:
    if definition.type == "source":
        if value not in PRICE_SOURCES:
            return f"must be one of {', '.join(PRICE_SOURCES)}"
        return None
    if definition.type == "bool":
        return None if isinstance(value, bool) else "must be true or false"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a number"
    if definition.type == "int" and not float(value).is_integer():
        return "must be a whole number"
    if definition.min is not None and value < definition.min:
        return f"must be at least {definition.min:g} (got {value:g})"
    if definition.max is not None and value > definition.max:
        return f"must be at most {definition.max:g} (got {value:g})"
    return None


# -------------------------------------------------------------- conditions


class IndicatorOperand(_Model):
    type: Literal["indicator"]
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,23}$")
    output: str = Field("value", pattern=r"^[a-z][a-z0-9_]{0,23}$")
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    scale: float = Field(1.0, gt=0, le=1000)


class PriceOperand(_Model):
    type: Literal["price"]
    source: PriceSource = "close"
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    scale: float = Field(1.0, gt=0, le=1000)


class NumberOperand(_Model):
    type: Literal["number"]
    value: float = Field(ge=-1_000_000_000, le=1_000_000_000)


Operand = Annotated[
    IndicatorOperand | PriceOperand | NumberOperand, Field(discriminator="type")
]


class CrossCondition(_Model):
    """`left` crosses above or below `right` on this bar."""

    type: Literal["cross"]
    direction: Literal["above", "below"]
    left: Operand
    right: Operand


class CompareCondition(_Model):
    type: Literal["compare"]
    op: Literal[">", ">=", "<", "<="]
    left: Operand
    right: Operand


class TrendCondition(_Model):
    """`operand` has been rising (or falling) for `bars` bars."""

    type: Literal["trend"]
    direction: Literal["rising", "falling"]
    operand: Operand
    bars: int = Field(1, ge=1, le=100)


class AllCondition(_Model):
    type: Literal["all"]
    conditions: list[Condition] = Field(min_length=1, max_length=10)


class AnyCondition(_Model):
    type: Literal["any"]
    conditions: list[Condition] = Field(min_length=1, max_length=10)


class NotCondition(_Model):
    type: Literal["not"]
    condition: Condition


Condition = Annotated[
    CrossCondition
    | CompareCondition
    | TrendCondition
    | AllCondition
    | AnyCondition
    | NotCondition,
    Field(discriminator="type"),
]

for _model in (AllCondition, AnyCondition, NotCondition):
    _model.model_rebuild()


def iter_conditions(condition: Condition, depth: int = 1):
    """Yield (node, depth) for a condition tree, parents before children."""
    yield condition, depth
    if isinstance(condition, AllCondition | AnyCondition):
        for child in condition.conditions:
            yield from iter_conditions(child, depth + 1)
    elif isinstance(condition, NotCondition):
        yield from iter_conditions(condition.condition, depth + 1)


def iter_operands(condition: Condition):
    """Yield every operand anywhere in a condition tree."""
    for node, _ in iter_conditions(condition):
        if isinstance(node, CrossCondition | CompareCondition):
            yield node.left
            yield node.right
        elif isinstance(node, TrendCondition):
            yield node.operand


class SideRules(_Model):
    """When to enter a side, and (optionally) a signal that closes it."""

    entry: Condition
    exit: Condition | None = None

    def conditions(self) -> list[Condition]:
        return [c for c in (self.entry, self.exit) if c is not None]


# -------------------------------------------------------------------- risk


class StopLoss(_Model):
    type: Literal["percent", "atr", "points"]
    value: float = Field(gt=0, le=100_000)
    atr_length: int = Field(14, ge=1, le=MAX_OFFSET)

    @model_validator(mode="after")
    def _bounded_percent(self) -> StopLoss:
        if self.type == "percent" and self.value >= 100:
            raise ValueError("a percent stop must be below 100")
        return self


class TakeProfit(_Model):
    type: Literal["percent", "atr", "points", "rr"]
    value: float = Field(gt=0, le=100_000)
    atr_length: int = Field(14, ge=1, le=MAX_OFFSET)

    @model_validator(mode="after")
    def _bounded_rr(self) -> TakeProfit:
        if self.type == "rr" and self.value > 100:
            raise ValueError("a risk:reward target must be at most 100")
        return self


class TrailingStop(_Model):
    """Trail by a distance; starts trailing once price moved `activation` away."""

    type: Literal["percent", "atr", "points"]
    value: float = Field(gt=0, le=100_000)
    activation: float = Field(0.0, ge=0, le=100_000)
    atr_length: int = Field(14, ge=1, le=MAX_OFFSET)


class Risk(_Model):
    stop: StopLoss | None = None
    take_profit: TakeProfit | None = None
    trailing: TrailingStop | None = None

    @model_validator(mode="after")
    def _rr_needs_stop(self) -> Risk:
        if self.take_profit and self.take_profit.type == "rr" and self.stop is None:
            raise ValueError("a risk:reward take profit needs a stop loss")
        return self

    @property
    def any(self) -> bool:
        return any((self.stop, self.take_profit, self.trailing))


# ------------------------------------------------------------ time filters


class SessionWindow(_Model):
    """Trade only inside a daily window (exchange time unless a timezone is given)."""

    session: str = Field(pattern=_SESSION.pattern)
    timezone: str = Field("exchange", max_length=40)
    close_at_end: bool = True

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        if not _TIMEZONE.match(value):
            raise ValueError("timezone must be 'exchange', 'UTC', 'GMT+N' or Area/City")
        return value


class DateRange(_Model):
    start: dt.date
    end: dt.date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        for day in (self.start, self.end):
            if day is not None and not 1970 <= day.year <= 2100:
                raise ValueError("dates must fall between 1970 and 2100")
        if self.end is not None and self.end <= self.start:
            raise ValueError("the end date must come after the start date")
        return self


class Alerts(_Model):
    on_entry: bool = False
    on_exit: bool = False


# -------------------------------------------------------------------- spec


class StrategySpec(_Model):
    """A whole strategy. Validating one proves it can be rendered."""

    schema_version: Literal[1] = SPEC_SCHEMA_VERSION
    name: str = Field(min_length=1, max_length=80)
    description: str = Field("", max_length=500)
    settings: ChartSettings = ChartSettings()
    indicators: list[IndicatorUse] = Field(
        default_factory=list, max_length=MAX_INDICATORS
    )
    long: SideRules | None = None
    short: SideRules | None = None
    risk: Risk = Risk()
    session: SessionWindow | None = None
    date_range: DateRange | None = None
    alerts: Alerts = Alerts()

    @field_validator("name", "description")
    @classmethod
    def _printable(cls, value: str, info: ValidationInfo) -> str:
        # Line breaks and other controls become spaces so words stay apart.
        cleaned = "".join(ch if ch.isprintable() else " " for ch in value)
        cleaned = " ".join(cleaned.split())
        if info.field_name == "name" and not cleaned:
            raise ValueError("the name must contain printable text")
        return cleaned

    @model_validator(mode="after")
    def _consistent(self) -> StrategySpec:
        if self.long is None and self.short is None:
            raise ValueError("a strategy needs a long or a short entry rule")
        ids = [use.id for use in self.indicators]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"indicator ids must be unique: {', '.join(duplicates)}")
        by_id = {use.id: use for use in self.indicators}
        for side in (self.long, self.short):
            if side is None:
                continue
            for condition in side.conditions():
                _check_tree(condition, by_id)
        return self

    def sides(self) -> list[tuple[str, SideRules]]:
        pairs = (("long", self.long), ("short", self.short))
        return [(name, rules) for name, rules in pairs if rules is not None]

    def indicator(self, use_id: str) -> IndicatorUse | None:
        return next((u for u in self.indicators if u.id == use_id), None)


def _check_tree(condition: Condition, by_id: dict[str, IndicatorUse]) -> None:
    nodes = list(iter_conditions(condition))
    if len(nodes) > MAX_CONDITION_NODES:
        raise ValueError(f"a condition may hold at most {MAX_CONDITION_NODES} parts")
    if max(depth for _, depth in nodes) > MAX_CONDITION_DEPTH:
        raise ValueError(f"conditions may nest at most {MAX_CONDITION_DEPTH} deep")
    for operand in iter_operands(condition):
        if not isinstance(operand, IndicatorOperand):
            continue
        use = by_id.get(operand.id)
        if use is None:
            raise ValueError(f"condition refers to unknown indicator id '{operand.id}'")
        entry = get_indicator(use.kind)
        if entry is not None and operand.output not in entry.output_names():
            outputs = ", ".join(entry.output_names())
            raise ValueError(
                f"{use.kind} '{operand.id}' has no output '{operand.output}' "
                f"(outputs: {outputs})"
            )


def spec_json_schema() -> dict:
    """The JSON Schema an LLM is asked to fill (pydantic's validation schema)."""
    return StrategySpec.model_json_schema()


def parse_spec(data: Any) -> StrategySpec:
    """Validate plain data (a dict or a JSON string) into a spec.

    Raises pydantic.ValidationError; callers turn it into SPEC_INVALID with
    the error list as details.
    """
    if isinstance(data, str | bytes):
        return StrategySpec.model_validate_json(data)
    return StrategySpec.model_validate(data)


def spec_to_data(spec: StrategySpec) -> dict:
    """Plain JSON-ready data; stable key order, defaults included."""
    return spec.model_dump(mode="json")
