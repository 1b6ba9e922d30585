"""The words the offline composer knows, as data.

Kinds, parameter names and outputs are the catalog's own (`engine.catalog`);
this module only adds the ways traders write them: names and aliases,
the order in which parameters are usually listed, output words such as
"histogram" or "upper band", oversold/overbought levels and display labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NUMBER = r"[-+]?(?:\d+(?:\.\d+)?|\.\d+)"


@dataclass(frozen=True)
class NameForm:
    """One way of naming an indicator; `params`/`output` are implied by the name."""

    pattern: str
    kind: str
    params: dict[str, object] = field(default_factory=dict)
    output: str | None = None


def _forms(kind: str, *patterns: str) -> list[NameForm]:
    return [NameForm(pattern, kind) for pattern in patterns]


_VOLUME = {"source": "volume"}

NAME_FORMS: tuple[NameForm, ...] = (
    *_forms("ema", r"exponential moving average", r"exponential ma", r"ema"),
    *_forms("wma", r"weighted moving average", r"wma"),
    *_forms("rma", r"wilder'?s? (?:moving )?average", r"smma", r"rma"),
    *_forms("hma", r"hull moving average", r"hull ma", r"hull", r"hma"),
    *_forms("vwma", r"volume[- ]weighted moving average", r"vwma"),
    *_forms("vwap", r"volume[- ]weighted average price", r"vwap"),
    NameForm(r"(?:average|avg) volume", "sma", _VOLUME),
    NameForm(r"volume (?:sma|ma|moving average|average|avg)", "sma", _VOLUME),
    *_forms("atr", r"average true range", r"atr"),
    *_forms(
        "adx",
        r"average directional (?:movement )?index",
        r"directional movement(?: index)?",
        r"adx",
        r"dmi",
    ),
    *_forms(
        "sma",
        r"simple moving average",
        r"simple ma",
        r"moving average",
        r"sma",
        r"ma",
        r"average",
        r"avg",
    ),
    *_forms("stochrsi", r"stoch(?:astic)?[ -]?rsi"),
    *_forms("rsi", r"relative strength index", r"relative strength", r"rsi"),
    *_forms("macd", r"macd"),
    *_forms("bb", r"bollinger bands?", r"bollinger", r"bbands?", r"bb"),
    *_forms("stoch", r"stochastic oscillator", r"stochastics?", r"stoch"),
    *_forms("cci", r"commodity channel index", r"cci"),
    *_forms("mfi", r"money flow index", r"money flow", r"mfi"),
    *_forms("obv", r"on[- ]balance[- ]volume", r"obv"),
    *_forms("roc", r"rate of change", r"roc"),
    *_forms(
        "willr",
        r"williams?'?s? ?%r",
        r"williams?'?s? percent r",
        r"williams?'?s? r",
        r"willr",
        r"wpr",
        r"%r",
    ),
    *_forms("mom", r"momentum", r"mom"),
    *_forms("psar", r"parabolic sar", r"parabolic", r"psar", r"sar"),
    *_forms("supertrend", r"super[ -]?trend"),
    *_forms("keltner", r"keltner (?:channels?|bands?)", r"keltner"),
    *_forms("donchian", r"donchian (?:channels?|bands?)", r"donchian"),
    *_forms("ichimoku", r"ichimoku (?:cloud|kinko hyo)", r"ichimoku"),
    NameForm(r"highest close", "highest", {"source": "close"}),
    NameForm(r"lowest close", "lowest", {"source": "close"}),
    *_forms("highest", r"highest high", r"highest"),
    *_forms("lowest", r"lowest low", r"lowest"),
    *_forms("stdev", r"standard deviation", r"std ?dev"),
    *_forms("linreg", r"linear regression(?: line| curve)?", r"linreg", r"lsma"),
)

MOVING_AVERAGES = frozenset({"sma", "ema", "wma", "rma", "hma", "vwma"})

# How traders list parameters after a name: "MACD 12 26 9", "BB (20, 2)".
PARAM_ORDER: dict[str, tuple[str, ...]] = {
    "macd": ("fast_length", "slow_length", "signal_length"),
    "bb": ("length", "mult"),
    "keltner": ("length", "mult"),
    "stoch": ("k_length", "k_smoothing", "d_smoothing"),
    "stochrsi": ("rsi_length", "stoch_length", "k_smoothing", "d_smoothing"),
    "adx": ("length", "smoothing"),
    "psar": ("start", "increment", "maximum"),
    "supertrend": ("atr_length", "factor"),
    "ichimoku": ("conversion_length", "base_length", "span_b_length", "displacement"),
    "obv": (),
}

# Words naming a parameter, tried in order against the kind's parameters.
PARAM_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"fast(?: length| period| ema)?", ("fast_length",)),
    (r"slow(?: length| period| ema)?", ("slow_length",)),
    (r"signal(?: length| period| line)?", ("signal_length",)),
    (r"atr (?:length|period)", ("atr_length",)),
    (r"smoothing", ("smoothing", "k_smoothing")),
    (
        r"length|period|periods|len|lookback|window",
        ("length", "k_length", "rsi_length", "atr_length", "conversion_length"),
    ),
    (
        r"mult(?:iplier)?|factor|std|stdev|sd|deviations?|dev|sigma",
        ("mult", "factor"),
    ),
)

_BANDS = ("bb", "keltner", "donchian")

# Output words: pattern -> {kind: output}. "cloud" is resolved to the cloud's
# top or bottom once the comparison is known.
OUTPUT_WORDS: tuple[tuple[str, dict[str, str]], ...] = (
    (r"histogram|hist", {"macd": "hist"}),
    (r"signal(?: line)?", {"macd": "signal"}),
    (r"%k(?: line)?|k line", {"stoch": "k", "stochrsi": "k"}),
    (r"%d(?: line)?|d line", {"stoch": "d", "stochrsi": "d"}),
    (r"(?:macd|supertrend) line|line", {"macd": "macd", "supertrend": "line"}),
    (r"upper(?: band| channel| line| bb)?", dict.fromkeys(_BANDS, "upper")),
    (r"lower(?: band| channel| line| bb)?", dict.fromkeys(_BANDS, "lower")),
    (
        r"(?:middle|mid|center|centre|median)(?: band| channel| line)?|midline|basis",
        dict.fromkeys(_BANDS, "middle"),
    ),
    (r"tenkan(?:[- ]sen)?|conversion line", {"ichimoku": "tenkan"}),
    (r"kijun(?:[- ]sen)?|base ?line", {"ichimoku": "kijun"}),
    (r"(?:senkou |leading )?span a", {"ichimoku": "span_a"}),
    (r"(?:senkou |leading )?span b", {"ichimoku": "span_b"}),
    (r"cloud top|top of the cloud", {"ichimoku": "cloud_top"}),
    (r"cloud bottom|bottom of the cloud", {"ichimoku": "cloud_bottom"}),
    (r"cloud|kumo", {"ichimoku": "cloud"}),
    (r"\+ ?di|di ?\+|plus di", {"adx": "plus_di"}),
    (r"- ?di|di ?-|minus di", {"adx": "minus_di"}),
    (r"direction", {"supertrend": "direction"}),
)  # fmt: skip

# An output word alone ("tenkan", "%K") may bring its indicator with it.
IMPLIED_KIND = {
    "tenkan": "ichimoku",
    "kijun": "ichimoku",
    "span_a": "ichimoku",
    "span_b": "ichimoku",
    "cloud": "ichimoku",
    "cloud_top": "ichimoku",
    "cloud_bottom": "ichimoku",
    "hist": "macd",
    "plus_di": "adx",
    "minus_di": "adx",
}

DEFAULT_OUTPUT = {
    "macd": "macd",
    "bb": "middle",
    "keltner": "middle",
    "donchian": "middle",
    "stoch": "k",
    "stochrsi": "k",
    "adx": "adx",
    "supertrend": "line",
    "ichimoku": "cloud",
}

# "MACD cross" means the MACD line crossing its signal line, and so on.
CROSS_PARTNER = {
    "macd": ("macd", "signal"),
    "stoch": ("k", "d"),
    "stochrsi": ("k", "d"),
    "ichimoku": ("tenkan", "kijun"),
    "adx": ("plus_di", "minus_di"),
}
ZERO_LINE_KINDS = frozenset({"roc", "mom", "cci"})

OVERSOLD = {
    "rsi": 30,
    "mfi": 20,
    "stoch": 20,
    "stochrsi": 20,
    "willr": -80,
    "cci": -100,
}
OVERBOUGHT = {
    "rsi": 70,
    "mfi": 80,
    "stoch": 80,
    "stochrsi": 80,
    "willr": -20,
    "cci": 100,
}

# Mirroring a level for the other side: RSI 30 <-> 70, %R -80 <-> -20, CCI -100 <-> 100.
BOUNDED_0_100 = frozenset({"rsi", "mfi", "stoch", "stochrsi"})
ZERO_CENTRED = frozenset({"cci", "roc", "mom", "macd"})
# Strength, volatility and volume say nothing about direction: same for both sides.
NEUTRAL_OUTPUTS = frozenset({("adx", "adx"), ("atr", "value"), ("stdev", "value")})

# Channel edges include the current bar, so price is compared with the last bar's.
PREVIOUS_BAR_OUTPUTS = frozenset(
    {
        ("donchian", "upper"),
        ("donchian", "lower"),
        ("highest", "value"),
        ("lowest", "value"),
    }
)
UPPER_LEVELS = frozenset({"upper", "cloud_top"})
LOWER_LEVELS = frozenset({"lower", "cloud_bottom"})

# Overlay lines price can sit above or below ("close above VWAP", "trend filter").
PRICE_LINE_KINDS = MOVING_AVERAGES | {
    "vwap", "psar", "supertrend", "ichimoku", "bb", "keltner", "donchian", "linreg",
    "highest", "lowest",
}  # fmt: skip

PRICE_WORDS: tuple[tuple[str, str], ...] = (
    (
        r"closing price|close price|closes|closed|closing|close|price|candle|bar",
        "close",
    ),
    (r"opening price|open", "open"),
    (r"high", "high"),
    (r"low", "low"),
    (r"volume", "volume"),
    (r"typical price|hlc3", "hlc3"),
    (r"median price|hl2", "hl2"),
    (r"ohlc4", "ohlc4"),
    (r"hlcc4", "hlcc4"),
)

LABELS = {
    "bb": "BB",
    "willr": "Williams %R",
    "psar": "PSAR",
    "supertrend": "Supertrend",
    "ichimoku": "Ichimoku",
    "keltner": "Keltner",
    "donchian": "Donchian",
    "highest": "Highest",
    "lowest": "Lowest",
    "stochrsi": "Stoch RSI",
    "stoch": "Stoch",
    "linreg": "LinReg",
    "stdev": "StDev",
    "volume_ma": "Volume MA",
}

SUPPORTED_EXAMPLES = (
    "RSI, MACD, EMA/SMA, Bollinger Bands, Stochastic, ADX, ATR, Supertrend, VWAP, "
    "Ichimoku, Donchian, Keltner, CCI, MFI, OBV, Parabolic SAR"
)
ENTRY_EXAMPLE = "buy when RSI(14) crosses above 30"


def label(kind: str) -> str:
    """The short display name of a kind ("RSI", "BB", "Williams %R")."""
    return LABELS.get(kind, kind.upper())
