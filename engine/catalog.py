"""The built-in indicator catalog.

Each entry says what a strategy spec may ask for: the indicator's kind, the Pine v6
call behind it, its parameters with types and bounds, and the named outputs a
condition can refer to. The Pine code itself lives in `pinescript_templates/`
(one macro file per `family`); this module is the data both the spec validator
and the renderer read, and what the LLM prompt shows as the catalog.

A caller may widen the catalog for one unit of work with ``extra_indicators``:
a user's own indicators (family ``custom``, rendered from their Pine template)
and built-ins as an admin tuned them. Without it, only the built-ins apply.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

ParamType = Literal["int", "float", "source", "bool"]

PRICE_SOURCES: tuple[str, ...] = (
    "open",
    "high",
    "low",
    "close",
    "volume",
    "hl2",
    "hlc3",
    "ohlc4",
    "hlcc4",
)

CATEGORIES: tuple[str, ...] = (
    "moving_average",
    "momentum",
    "trend",
    "volatility",
    "volume",
    "channel",
    "price_level",
)


@dataclass(frozen=True)
class ParamDef:
    """One tunable parameter: it becomes an `input.*` in the rendered script."""

    name: str
    type: ParamType
    default: int | float | str | bool
    title: str
    min: float | None = None
    max: float | None = None
    step: float | None = None

    def to_dict(self) -> dict:
        data = {"name": self.name, "type": self.type, "default": self.default}
        data["title"] = self.title
        if self.min is not None:
            data["min"] = self.min
        if self.max is not None:
            data["max"] = self.max
        return data


@dataclass(frozen=True)
class OutputDef:
    """A named series an indicator produces; conditions refer to it by name."""

    name: str
    title: str
    plot: bool = True


@dataclass(frozen=True)
class IndicatorDef:
    """A catalog entry: metadata here, Pine code in the family's macro file."""

    kind: str
    title: str
    category: str
    description: str
    pine_call: str
    family: str
    params: tuple[ParamDef, ...]
    outputs: tuple[OutputDef, ...]
    overlay: bool
    aliases: tuple[str, ...] = field(default=())
    #: A user-defined indicator's Pine expression (family "custom"), else None.
    template: str | None = None

    def param(self, name: str) -> ParamDef | None:
        return next((p for p in self.params if p.name == name), None)

    def output_names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.outputs)

    def defaults(self) -> dict[str, int | float | str | bool]:
        return {p.name: p.default for p in self.params}

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "title": self.title,
            "category": self.category,
            "description": self.description,
            "pine_call": self.pine_call,
            "params": [p.to_dict() for p in self.params],
            "outputs": [o.name for o in self.outputs],
            "overlay": self.overlay,
        }


MAX_LENGTH = 5000


def _length(default: int, name: str = "length", title: str = "Length") -> ParamDef:
    return ParamDef(name, "int", default, title, min=1, max=MAX_LENGTH)


def _source(default: str = "close") -> ParamDef:
    return ParamDef("source", "source", default, "Source")


def _mult(default: float, name: str = "mult", title: str = "Multiplier") -> ParamDef:
    return ParamDef(name, "float", default, title, min=0.001, max=100.0, step=0.1)


_VALUE = (OutputDef("value", "Value"),)


def _moving_average(kind: str, title: str, call: str, description: str) -> IndicatorDef:
    return IndicatorDef(
        kind=kind,
        title=title,
        category="moving_average",
        description=description,
        pine_call=call,
        family="moving_averages",
        params=(_source(), _length(20)),
        outputs=_VALUE,
        overlay=True,
    )


_ENTRIES: tuple[IndicatorDef, ...] = (
    _moving_average("sma", "Simple moving average", "ta.sma", "Arithmetic mean."),
    _moving_average(
        "ema", "Exponential moving average", "ta.ema", "Recent bars weigh more."
    ),
    _moving_average(
        "wma", "Weighted moving average", "ta.wma", "Linearly weighted mean."
    ),
    _moving_average("rma", "Running moving average", "ta.rma", "Wilder's smoothing."),
    _moving_average("hma", "Hull moving average", "ta.hma", "Fast, low-lag average."),
    _moving_average(
        "vwma", "Volume-weighted MA", "ta.vwma", "Mean weighted by volume."
    ),
    IndicatorDef(
        kind="rsi",
        title="Relative strength index",
        category="momentum",
        description="Momentum oscillator between 0 and 100.",
        pine_call="ta.rsi",
        family="oscillators",
        params=(_source(), _length(14)),
        outputs=_VALUE,
        overlay=False,
    ),
    IndicatorDef(
        kind="macd",
        title="MACD",
        category="momentum",
        description="Difference of two EMAs, its signal line and histogram.",
        pine_call="ta.macd",
        family="oscillators",
        params=(
            _source(),
            _length(12, "fast_length", "Fast length"),
            _length(26, "slow_length", "Slow length"),
            _length(9, "signal_length", "Signal length"),
        ),
        outputs=(
            OutputDef("macd", "MACD"),
            OutputDef("signal", "Signal"),
            OutputDef("hist", "Histogram"),
        ),
        overlay=False,
    ),
    IndicatorDef(
        kind="bb",
        title="Bollinger Bands",
        category="volatility",
        description="SMA with bands a number of standard deviations away.",
        pine_call="ta.bb",
        family="bands",
        params=(_source(), _length(20), _mult(2.0)),
        outputs=(
            OutputDef("middle", "Basis"),
            OutputDef("upper", "Upper"),
            OutputDef("lower", "Lower"),
        ),
        overlay=True,
    ),
    IndicatorDef(
        kind="atr",
        title="Average true range",
        category="volatility",
        description="Average bar range including gaps.",
        pine_call="ta.atr",
        family="volatility",
        params=(_length(14),),
        outputs=_VALUE,
        overlay=False,
    ),
    IndicatorDef(
        kind="stoch",
        title="Stochastic",
        category="momentum",
        description="Close relative to the recent range, %K and %D.",
        pine_call="ta.stoch",
        family="oscillators",
        params=(
            _length(14, "k_length", "%K length"),
            _length(3, "k_smoothing", "%K smoothing"),
            _length(3, "d_smoothing", "%D smoothing"),
        ),
        outputs=(OutputDef("k", "%K"), OutputDef("d", "%D")),
        overlay=False,
    ),
    IndicatorDef(
        kind="stochrsi",
        title="Stochastic RSI",
        category="momentum",
        description="Stochastic applied to RSI, %K and %D.",
        pine_call="ta.stoch",
        family="oscillators",
        params=(
            _source(),
            _length(14, "rsi_length", "RSI length"),
            _length(14, "stoch_length", "Stochastic length"),
            _length(3, "k_smoothing", "%K smoothing"),
            _length(3, "d_smoothing", "%D smoothing"),
        ),
        outputs=(OutputDef("k", "%K"), OutputDef("d", "%D")),
        overlay=False,
    ),
    IndicatorDef(
        kind="adx",
        title="ADX / DMI",
        category="trend",
        description="Trend strength (ADX) with +DI and -DI.",
        pine_call="ta.dmi",
        family="trend",
        params=(
            _length(14, "length", "DI length"),
            _length(14, "smoothing", "ADX smoothing"),
        ),
        outputs=(
            OutputDef("adx", "ADX"),
            OutputDef("plus_di", "+DI"),
            OutputDef("minus_di", "-DI"),
        ),
        overlay=False,
        aliases=("dmi",),
    ),
    IndicatorDef(
        kind="cci",
        title="Commodity channel index",
        category="momentum",
        description="Deviation of price from its average.",
        pine_call="ta.cci",
        family="oscillators",
        params=(_source("hlc3"), _length(20)),
        outputs=_VALUE,
        overlay=False,
    ),
    IndicatorDef(
        kind="mfi",
        title="Money flow index",
        category="volume",
        description="Volume-weighted RSI between 0 and 100.",
        pine_call="ta.mfi",
        family="volume",
        params=(_source("hlc3"), _length(14)),
        outputs=_VALUE,
        overlay=False,
    ),
    IndicatorDef(
        kind="obv",
        title="On-balance volume",
        category="volume",
        description="Running total of signed volume.",
        pine_call="ta.obv",
        family="volume",
        params=(),
        outputs=_VALUE,
        overlay=False,
    ),
    IndicatorDef(
        kind="roc",
        title="Rate of change",
        category="momentum",
        description="Percent change over a number of bars.",
        pine_call="ta.roc",
        family="oscillators",
        params=(_source(), _length(9)),
        outputs=_VALUE,
        overlay=False,
    ),
    IndicatorDef(
        kind="willr",
        title="Williams %R",
        category="momentum",
        description="Close within the recent range, from -100 to 0.",
        pine_call="ta.wpr",
        family="oscillators",
        params=(_length(14),),
        outputs=_VALUE,
        overlay=False,
    ),
    IndicatorDef(
        kind="mom",
        title="Momentum",
        category="momentum",
        description="Price difference over a number of bars.",
        pine_call="ta.mom",
        family="oscillators",
        params=(_source(), _length(10)),
        outputs=_VALUE,
        overlay=False,
    ),
    IndicatorDef(
        kind="psar",
        title="Parabolic SAR",
        category="trend",
        description="Stop-and-reverse points that trail the trend.",
        pine_call="ta.sar",
        family="trend",
        params=(
            ParamDef("start", "float", 0.02, "Start", min=0.001, max=1.0, step=0.01),
            ParamDef("increment", "float", 0.02, "Increment", min=0.001, max=1.0),
            ParamDef("maximum", "float", 0.2, "Maximum", min=0.01, max=1.0),
        ),
        outputs=_VALUE,
        overlay=True,
    ),
    IndicatorDef(
        kind="supertrend",
        title="Supertrend",
        category="trend",
        description="ATR trailing line; direction is negative in an uptrend.",
        pine_call="ta.supertrend",
        family="trend",
        params=(
            _mult(3.0, "factor", "Factor"),
            _length(10, "atr_length", "ATR length"),
        ),
        outputs=(
            OutputDef("line", "Supertrend"),
            OutputDef("direction", "Direction", plot=False),
        ),
        overlay=True,
    ),
    IndicatorDef(
        kind="vwap",
        title="VWAP",
        category="volume",
        description="Session volume-weighted average price.",
        pine_call="ta.vwap",
        family="volume",
        params=(_source("hlc3"),),
        outputs=_VALUE,
        overlay=True,
    ),
    IndicatorDef(
        kind="volume_ma",
        title="Volume average",
        category="volume",
        description="Simple average of volume.",
        pine_call="ta.sma",
        family="volume",
        params=(_length(20),),
        outputs=_VALUE,
        overlay=False,
    ),
    IndicatorDef(
        kind="keltner",
        title="Keltner channels",
        category="channel",
        description="EMA with bands a multiple of the true range away.",
        pine_call="ta.kc",
        family="bands",
        params=(_source(), _length(20), _mult(1.5)),
        outputs=(
            OutputDef("middle", "Basis"),
            OutputDef("upper", "Upper"),
            OutputDef("lower", "Lower"),
        ),
        overlay=True,
    ),
    IndicatorDef(
        kind="donchian",
        title="Donchian channel",
        category="channel",
        description="Highest high and lowest low over a number of bars.",
        pine_call="ta.highest / ta.lowest",
        family="bands",
        params=(_length(20),),
        outputs=(
            OutputDef("upper", "Upper"),
            OutputDef("lower", "Lower"),
            OutputDef("middle", "Basis"),
        ),
        overlay=True,
    ),
    IndicatorDef(
        kind="ichimoku",
        title="Ichimoku cloud",
        category="trend",
        description="Conversion and base lines with the cloud as seen on this bar.",
        pine_call="ta.highest / ta.lowest",
        family="trend",
        params=(
            _length(9, "conversion_length", "Conversion line length"),
            _length(26, "base_length", "Base line length"),
            _length(52, "span_b_length", "Leading span B length"),
            _length(26, "displacement", "Displacement"),
        ),
        outputs=(
            OutputDef("tenkan", "Conversion line"),
            OutputDef("kijun", "Base line"),
            OutputDef("span_a", "Leading span A"),
            OutputDef("span_b", "Leading span B"),
            OutputDef("cloud_top", "Cloud top", plot=False),
            OutputDef("cloud_bottom", "Cloud bottom", plot=False),
        ),
        overlay=True,
    ),
    IndicatorDef(
        kind="highest",
        title="Highest value",
        category="price_level",
        description="Highest value of a source over a number of bars.",
        pine_call="ta.highest",
        family="price_levels",
        params=(_source("high"), _length(20)),
        outputs=_VALUE,
        overlay=True,
    ),
    IndicatorDef(
        kind="lowest",
        title="Lowest value",
        category="price_level",
        description="Lowest value of a source over a number of bars.",
        pine_call="ta.lowest",
        family="price_levels",
        params=(_source("low"), _length(20)),
        outputs=_VALUE,
        overlay=True,
    ),
    IndicatorDef(
        kind="stdev",
        title="Standard deviation",
        category="volatility",
        description="Standard deviation of a source.",
        pine_call="ta.stdev",
        family="volatility",
        params=(_source(), _length(20)),
        outputs=_VALUE,
        overlay=False,
    ),
    IndicatorDef(
        kind="linreg",
        title="Linear regression",
        category="trend",
        description="Least-squares line value at the current bar.",
        pine_call="ta.linreg",
        family="moving_averages",
        params=(_source(), _length(20)),
        outputs=_VALUE,
        overlay=True,
    ),
)

CATALOG: dict[str, IndicatorDef] = {entry.kind: entry for entry in _ENTRIES}
_ALIASES: dict[str, str] = {
    alias: entry.kind for entry in _ENTRIES for alias in entry.aliases
}


#: Entries the caller added for the current context: a user's own indicators,
#: and built-ins as an admin overrode them. Empty unless ``extra_indicators``.
_EXTRA: ContextVar[Mapping[str, IndicatorDef]] = ContextVar(
    "extra_indicators", default=MappingProxyType({})
)


@contextmanager
def extra_indicators(entries: Iterable[IndicatorDef]) -> Iterator[None]:
    """Make ``entries`` resolvable by ``get_indicator`` inside the block.

    An entry with a built-in kind replaces that built-in (an admin override);
    any other kind is added (a user-defined indicator). Outside the block, and
    in other threads or tasks, the built-in catalog alone applies.
    """
    token = _EXTRA.set({**_EXTRA.get(), **{entry.kind: entry for entry in entries}})
    try:
        yield
    finally:
        _EXTRA.reset(token)


def get_indicator(kind: str) -> IndicatorDef | None:
    """Return the catalog entry for a kind or one of its aliases, else None."""
    extra = _EXTRA.get()
    if extra:
        found = extra.get(kind) or extra.get(_ALIASES.get(kind, ""))
        if found is not None:
            return found
    return CATALOG.get(kind) or CATALOG.get(_ALIASES.get(kind, ""))


def catalog_summary(kinds: list[str] | None = None) -> list[dict]:
    """The catalog as plain data, optionally only for some kinds (for prompts, API)."""
    chosen = kinds if kinds is not None else list(CATALOG)
    return [CATALOG[k].to_dict() for k in chosen if k in CATALOG]
