"""Finding indicator mentions and their parameters in the request.

A mention is one place the request names an indicator, with the numbers and
timeframe written around it: "RSI(14)", "14-period RSI", "RSI length 14",
"the daily 50 SMA", "Bollinger Bands (20, 2)", "Supertrend 10 3", "EMA 9/21",
"highest high of the last 20 bars", "10 bar low". Each mention is replaced by a
`{n}` placeholder in the text the condition reader sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from engine.catalog import PRICE_SOURCES, get_indicator
from engine.composer.lexicon import (
    MOVING_AVERAGES,
    NAME_FORMS,
    NUMBER,
    PARAM_ORDER,
    PARAM_WORDS,
    PRICE_WORDS,
    NameForm,
)
from engine.composer.reader import TF_WORD, Text, as_param, parse_timeframe

_FORMS = sorted(NAME_FORMS, key=lambda form: len(form.pattern), reverse=True)
_NAMES = re.compile(
    r"(?<![\w%+])(?:" + "|".join(f.pattern for f in _FORMS) + r")(?![\w])"
)
_WINDOW = re.compile(
    r"(?<![\w.])(?:new\s+)?(?P<n>\d+)[\s-]*(?:bar|day|period|candle|week|session)s?"
    r"\s+(?P<dir>high|low)s?(?![\w])"
    r"|(?<![\w])(?<!highest\s)(?<!lowest\s)(?P<dir2>high|low)s?\s+(?:of|over|in)\s+"
    r"(?:the\s+)?"
    r"(?:last|past|previous|prior)\s+(?P<n2>\d+)\s*(?:bars|candles|days|periods)\b"
)
_PARAM_WORDS = "|".join(pattern for pattern, _ in PARAM_WORDS)
_SUFFIXES = (
    ("paren", r"\s*\(\s*(?P<args>[^()]{0,80}?)\s*\)"),
    (
        "window",
        r"\s+(?:of|over|in)\s+(?:the\s+)?(?:last|past|previous|prior)\s+"
        r"(?P<val>\d+)\s*(?:bars|candles|days|periods|sessions)\b",
    ),
    (
        "named",
        r"\s*,?\s*(?:with\s+)?(?:an?\s+|the\s+)?(?P<word>" + _PARAM_WORDS + r")"
        r"\s*(?:of|=|:|at)?\s*(?P<val>" + NUMBER + r")(?![\d.%:])",
    ),
    (
        "std",
        r"\s*(?:,|with|and)?\s*(?P<val>" + NUMBER + r")\s*(?:std|stdev|sd|sigma"
        r"|standard\s+deviations?|deviations?)\b",
    ),
    ("pair", r"\s*(?P<a>\d+)\s*/\s*(?P<b>\d+)(?![\d.%]|:\d)"),
    (
        "count",
        r"\s*,?\s*(?P<val>\d+)[\s-]*(?:periods?|bars?|days?|candles?|length)\b",
    ),
    # Limitation: a number right after a name is its parameter, so "RSI 30"
    # is RSI(30), and "RSI 30/70" levels are not read; "RSI < 30" is.
    (
        "number",
        r"(?P<comma>\s*,)?\s*(?P<val>" + NUMBER + r")(?![\d.])"
        r"(?!\s*(?:%|x\b|:\s*\d|bars?\b|candles?\b|times\b|percent\b|periods?\b|days?\b))",
    ),
    (
        "tf",
        r"\s+(?:on|from)\s+the\s+(?P<tf>" + TF_WORD + r")(?!\s*(?:chart|timeframe))",
    ),
)
_SUFFIXES = tuple((name, re.compile(pattern)) for name, pattern in _SUFFIXES)
_PREFIX = re.compile(
    r"(?<![\w.])(?:(?P<tf>" + TF_WORD + r")[\s-]+)?"
    r"(?:(?P<n>\d+(?:\.\d+)?)(?:\s*/\s*(?P<n2>\d+))?\s*-?\s*"
    r"(?:(?:period|bar|day|candle|length|week)s?\s*-?\s*)?)?$"
)


@dataclass
class Mention:
    """One place an indicator is named, with what was written around it."""

    kind: str
    start: int
    end: int
    raw: str
    params: dict[str, Any] = field(default_factory=dict)
    timeframe: str | None = None
    output: str | None = None


def _param_for_word(kind: str, word: str) -> str | None:
    entry = get_indicator(kind)
    for pattern, names in PARAM_WORDS:
        if re.fullmatch(pattern, word):
            return next((n for n in names if entry and entry.param(n)), None)
    return None


def _positional(kind: str) -> tuple[str, ...]:
    if kind in PARAM_ORDER:
        return PARAM_ORDER[kind]
    entry = get_indicator(kind)
    return ("length",) if entry and entry.param("length") else ()


def _assign(kind: str, numbers: list[float], params: dict[str, Any]) -> None:
    order = [name for name in _positional(kind) if name not in params]
    if kind == "supertrend" and len(numbers) == 2 and "factor" not in params:
        # "Supertrend 10 3" and "Supertrend(3, 10)" both mean ATR 10, factor 3:
        # a fraction is the factor, else the larger number is the ATR length.
        first, second = numbers
        fractional = [n for n in numbers if not float(n).is_integer()]
        factor = fractional[0] if fractional else min(first, second)
        length = second if factor == first else first
        numbers = [length, factor]
    for name, value in zip(order, numbers, strict=False):
        params[name] = as_param(value)


def _read_args(mention: Mention, args: str, numbers: list[float]) -> None:
    entry = get_indicator(mention.kind)
    args = re.sub(r"\s*([=:])\s*", r"\1", args.strip())
    for item in filter(None, re.split(r"[,;/\s]+", args)):
        named = re.fullmatch(r"([a-z_]+)[=:](" + NUMBER + ")", item)
        if named:
            name = _param_for_word(mention.kind, named.group(1)) or named.group(1)
            mention.params[name] = as_param(float(named.group(2)))
        elif re.fullmatch(NUMBER, item):
            numbers.append(float(item))
        elif item in PRICE_SOURCES and entry and entry.param("source"):
            mention.params["source"] = item
        elif parse_timeframe(item) and not item.isdigit():
            mention.timeframe = parse_timeframe(item)


def _read_suffix(text: str, mention: Mention) -> list[Mention]:
    """Read what follows a name; returns extra mentions for "EMA 9/21"."""
    numbers: list[float] = []
    extra: list[Mention] = []
    room = len(_positional(mention.kind))
    multi = room > 1
    pos = mention.end
    while True:
        for name, pattern in _SUFFIXES:
            match = pattern.match(text, pos)
            if match is None:
                continue
            if name == "number" and (
                len(numbers) >= room or (match["comma"] and not multi)
            ):
                continue
            if name == "count" and (numbers or not room):
                continue
            if name == "pair" and (mention.kind not in MOVING_AVERAGES or numbers):
                continue
            if name == "paren":
                _read_args(mention, match["args"], numbers)
            elif name in ("window", "number", "count"):
                numbers.append(float(match["val"]))
            elif name == "named":
                param = _param_for_word(mention.kind, match["word"])
                if param is None:
                    continue
                mention.params[param] = as_param(float(match["val"]))
            elif name == "std":
                if not get_indicator(mention.kind).param("mult"):
                    continue
                mention.params["mult"] = as_param(float(match["val"]))
            elif name == "pair":
                numbers.append(float(match["a"]))
                twin = Mention(mention.kind, match.start("b"), match.end(), "")
                twin.params["length"] = int(match["b"])
                extra.append(twin)
            elif name == "tf":
                mention.timeframe = parse_timeframe(match["tf"])
            pos = match.end()
            break
        else:
            break
    mention.end = pos
    _assign(mention.kind, numbers, mention.params)
    return extra


def _read_prefix(text: str, floor: int, mention: Mention) -> Mention | None:
    """Read "the daily 50 SMA", "14-period RSI", "50/200 SMA" before a name."""
    match = _PREFIX.search(text, floor, mention.start)
    if match is None or match.start() == match.end():
        return None
    if match["tf"] and parse_timeframe(match["tf"]):
        mention.timeframe = parse_timeframe(match["tf"])
    twin = None
    if match["n"] and not any(
        p in mention.params for p in _positional(mention.kind)[:1]
    ):
        if match["n2"] and mention.kind in MOVING_AVERAGES:
            twin = Mention(mention.kind, match.start("n2"), mention.end, "")
            twin.params["length"] = int(match["n2"])
        _assign(mention.kind, [float(match["n"])], mention.params)
    elif match["n"]:
        return None
    mention.start = match.start()
    return twin


def _its_source(text: str, mention: Mention, floor: int) -> str | None:
    # "volume is 2x its 20-bar average": the average is of the last price word
    # before "its"; with no price word since the last indicator, it would be an
    # average of that indicator, which the spec cannot express.
    before = text[floor : mention.start]
    if not re.search(r"\bits\s+(?:own\s+)?$", before):
        return None
    last, source = -1, "indicator"
    for pattern, name in PRICE_WORDS:
        for match in re.finditer(r"\b(?:" + pattern + r")\b", before):
            if match.start() > last:
                last, source = match.start(), name
    return source


def find_mentions(text: Text) -> list[Mention]:
    """Every indicator mention, in order, with spans covering numbers around it."""
    low = text.low
    windows = []
    for match in _WINDOW.finditer(low):
        direction = match["dir"] or match["dir2"]
        length = int(match["n"] or match["n2"])
        if "donchian" in low:
            edge = "upper" if direction == "high" else "lower"
            mention = Mention("donchian", *match.span(), "", output=edge)
        else:
            kind = "highest" if direction == "high" else "lowest"
            mention = Mention(kind, *match.span(), "")
        mention.params["length"] = length
        windows.append(mention)

    found: list[Mention] = []
    floor = 0
    for match in _NAMES.finditer(low):
        if any(w.start < match.end() and match.start() < w.end for w in windows):
            continue
        if match.start() < floor:
            continue
        # Numbers before a name never reach back into an earlier "10 bar low".
        floor = max([floor, *(w.end for w in windows if w.end <= match.start())])
        form = next(f for f in _FORMS if re.fullmatch(f.pattern, match.group(0)))
        mention = _mention_for(form, match)
        twins = _read_suffix(low, mention)
        twin_before = _read_prefix(low, floor, mention)
        source = _its_source(low, mention, floor)
        if source and get_indicator(mention.kind).param("source"):
            mention.params["source"] = source
        mention.raw = " ".join(text.raw[mention.start : mention.end].split())
        for twin in [*([twin_before] if twin_before else []), *twins]:
            twin.raw, twin.timeframe = mention.raw, mention.timeframe
            found.append(twin)
        found.append(mention)
        floor = mention.end
    for mention in windows:
        mention.raw = " ".join(text.raw[mention.start : mention.end].split())
    return sorted(found + windows, key=lambda m: m.start)


def _mention_for(form: NameForm, match: re.Match[str]) -> Mention:
    mention = Mention(form.kind, match.start(), match.end(), "")
    mention.params.update(form.params)
    mention.output = form.output
    return mention


def placeholder_text(text: Text, mentions: list[Mention]) -> str:
    """The lower-case text with each mention replaced by `{index}`."""
    parts, pos = [], 0
    for index, mention in enumerate(mentions):
        if mention.start < pos:
            # The twin of "EMA 9/21" shares its mention's span.
            parts.append(f" / {{{index}}} ")
            continue
        parts.append(text.low[pos : mention.start])
        parts.append(f" {{{index}}} ")
        pos = mention.end
    parts.append(text.low[pos:])
    return "".join(parts)
