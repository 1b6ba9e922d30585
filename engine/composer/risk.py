"""Risk and order settings: stops, targets, trailing, sizing, costs, pyramiding.

Each reader takes the phrases it understands out of the `Text`, checks the
values with the spec's own models and records any problem in the words the
user wrote ("stop 0%"), so the composer can name every bad value at once.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ValidationError

from engine.composer.lexicon import NUMBER as NUM
from engine.composer.reader import Text, as_param, to_number
from engine.spec import ChartSettings, Sizing, StopLoss, TakeProfit, TrailingStop

_ROLES = {
    "trailing": r"(?:trailing[\s-]*stop(?:[\s-]*loss)?|trailing|trail)",
    "stop": r"(?:stop[\s-]*loss|stop|sl)",
    "take_profit": r"(?:take[\s-]*profits?|profit[\s-]*target|target|tp)",
}
_LINK = r"\s*(?:of|at|:|=|is|@|by)?\s*"
_VALUE = r"(?P<val>-?\d+(?:\.\d+)?|-?\.\d+)"
_UNITS = {
    "percent": r"\s*(?:%|percent|pct)",
    "atr": r"\s*(?:x|\*)?\s*atrs?(?:\s*\(\s*(?P<len>\d+)\s*\))?",
    "points": r"\s*(?:points?|pts)",
}
_RR_WORDS = (
    r"(?:risk[\s/:-]*(?:to[\s-]*)?reward|reward[\s/:-]*(?:to[\s-]*)?risk"
    r"|rr|r:r|r/r)(?:\s*ratio)?"
)
_END = r"(?![a-z0-9])"
_TP = _ROLES["take_profit"]
_RR_FORMS = (
    (
        r"(?:(?P<pre>" + _TP + r")" + _LINK + r")?(?P<a>\d+(?:\.\d+)?)\s*:\s*"
        r"(?P<b>\d+(?:\.\d+)?)(?:\s*(?P<post>" + _RR_WORDS + "|" + _TP + r"))?" + _END,
        "ratio",
    ),
    (
        _RR_WORDS + _LINK + r"(?P<a>\d+(?:\.\d+)?)(?:\s*:\s*(?P<b>\d+(?:\.\d+)?))?"
        + _END,
        None,
    ),
    (
        r"(?:(?P<pre>" + _TP + r")" + _LINK + r")?(?P<a>\d+(?:\.\d+)?)\s*"
        r"(?:r|x\s*risk|times\s+(?:the\s+)?risk)(?:\s*(?P<post>" + _TP + r"))?"
        + _END,
        "always",
    ),
)  # fmt: skip

_PROBLEMS = {
    ("stop", "percent"): "a percent stop must be above 0 and below 100",
    ("take_profit", "rr"): "a risk:reward target must be above 0 and at most 100",
    "atr_length": "the ATR length must be 1 to 500",
    "value": "the distance must be above 0 (at most 100000)",
    "sizing": "percent of equity must be above 0 and at most 100",
    "cash": "the amount must be above 0",
    "commission_percent": "commission must be 0 to 10 percent",
    "pyramiding": "pyramiding must be 0 to 100 entries",
    "slippage_ticks": "slippage must be 0 to 1000 ticks",
    "initial_capital": "the capital must be above 0",
}


def _candidates(low: str) -> list[tuple[int, int, str, dict[str, Any]]]:
    found = []
    for role, words in _ROLES.items():
        for unit, unit_pattern in _UNITS.items():
            forms = (
                words + _LINK + _VALUE + unit_pattern + _END,
                _VALUE + unit_pattern + r"\s*" + words + _END,
            )
            if unit == "atr":
                forms += (
                    r"atrs?\s*(?:\(\s*(?P<len>\d+)\s*\))?\s*(?:x|\*)\s*"
                    + _VALUE
                    + r"\s*"
                    + words
                    + _END,
                )
            for form in forms:
                for m in re.finditer(r"(?<![a-z0-9.])" + form, low):
                    leg = {"type": unit, "value": float(m.group("val"))}
                    if unit == "atr" and m.group("len"):
                        leg["atr_length"] = int(m.group("len"))
                    found.append((m.start(), m.end(), role, leg))
    for form, needs_words in _RR_FORMS:
        for m in re.finditer(r"(?<![a-z0-9.])" + form, low):
            first, second = float(m.group("a")), float(m.groupdict().get("b") or 1)
            worded = m.groupdict().get("pre") or m.groupdict().get("post")
            # A bare "2:1" is a target; a bare "9:30" is not.
            if needs_words and not worded and (max(first, second) > 10):
                continue
            if needs_words == "always" and not worded:
                continue
            low_side = min(first, second)
            ratio = max(first, second) / low_side if low_side else 0.0
            leg = {"type": "rr", "value": ratio}
            found.append((m.start(), m.end(), "take_profit", leg))
    return found


def _choose(
    found: list[tuple[int, int, str, dict]],
) -> list[tuple[int, int, str, dict]]:
    # Phrases like "1% stop 2% target" can be read two ways ("stop 2%");
    # keeping the most non-overlapping phrases is the reading that uses
    # every number once.
    chosen: list[tuple[int, int, str, dict]] = []
    for item in sorted(found, key=lambda f: (f[1], f[0])):
        if not chosen or item[0] >= chosen[-1][1]:
            chosen.append(item)
    return chosen


def _check(model: type[BaseModel], data: dict, raw: str, problem: str, errors: list):
    try:
        model(**data)
    except ValidationError:
        errors.append({"text": raw, "field": model.__name__, "message": problem})
        return None
    return data


def read_exits(text: Text, errors: list[dict]) -> dict[str, dict]:
    """Read stop loss, take profit and trailing stop phrases into `Risk` data."""
    risk: dict[str, dict] = {}
    models = {"stop": StopLoss, "take_profit": TakeProfit, "trailing": TrailingStop}
    for start, end, role, leg in _choose(_candidates(text.low)):
        raw = " ".join(text.raw[start:end].split())
        text.blank(start, end)
        if role in risk:
            continue
        if "atr_length" in leg and not 1 <= leg["atr_length"] <= 500:
            problem = _PROBLEMS["atr_length"]
        else:
            problem = _PROBLEMS.get((role, leg["type"]), _PROBLEMS["value"])
        if _check(models[role], leg, raw, problem, errors) is not None:
            risk[role] = {
                k: as_param(v) if isinstance(v, float) else v for k, v in leg.items()
            }
    return risk


# Phrases start at a word edge; this also keeps long digit runs linear.
_START = r"(?<![\w.])(?:"
_SIZING = (
    (
        "percent_of_equity",
        r"(?P<val>" + NUM + r")\s*(?:%|percent)\s*(?:of\s+)?(?:the\s+|my\s+|your\s+)?"
        r"(?:equity|capital|account|balance|portfolio)"
        r"(?:\s+(?:per|each|a|every|on\s+each)\s+(?:trade|entry|position|order))?",
    ),
    (
        "percent_of_equity",
        r"(?:position\s+size|size|allocate|allocation)\s*(?:of|=|:|is)?\s*"
        r"(?P<val>" + NUM + r")\s*(?:%|percent)",
    ),
    (
        "cash",
        r"\$\s*(?P<val>\d[\d,]*(?:\.\d+)?k?)\s*(?:per|each|a|every|on\s+each)\s+"
        r"(?:trade|entry|position|order)",
    ),
    (
        "fixed",
        r"(?P<val>\d+(?:\.\d+)?)\s*(?:shares?|contracts?|units?|lots?|coins?)"
        r"(?:\s+(?:per|each|a|every)\s+(?:trade|entry|position|order))?",
    ),
)

_SETTINGS = (
    (
        "commission_percent",
        r"(?P<val>" + NUM + r")\s*(?:%|percent)\s*(?:commission|fees?|comm)\b"
        r"|(?:commission|fees?)\s*(?:of|=|:|is)?\s*(?P<val2>" + NUM + r")"
        r"\s*(?:%|percent)",
    ),
    (
        "slippage_ticks",
        r"slippage\s*(?:of|=|:)?\s*(?P<val>" + NUM + r")\s*ticks?"
        r"|(?P<val2>" + NUM + r")\s*ticks?\s*(?:of\s+)?slippage",
    ),
    (
        "pyramiding",
        r"pyramid(?:ing)?(?:\s*(?:of|=|:|with|up\s+to|max(?:imum)?))*\s*"
        r"(?P<val>" + NUM + r")"
        r"(?:\s*(?:entries|entry|orders?|positions?|times|trades|adds?))?"
        r"|(?:up\s+to|max(?:imum)?(?:\s+of)?)\s*(?P<val2>\d+)\s*"
        r"(?:entries|positions|adds|orders)(?:\s+in\s+the\s+same\s+direction)?",
    ),
    (
        "initial_capital",
        r"(?:initial|starting)\s+(?:capital|balance|equity)\s*(?:of|=|:|is)?\s*\$?\s*"
        r"(?P<val>\d[\d,]*(?:\.\d+)?k?)"
        r"|\$\s*(?P<val2>\d[\d,]*(?:\.\d+)?k?)\s*(?:initial\s+|starting\s+)?"
        r"(?:capital|account|balance)",
    ),
)  # fmt: skip


def read_settings(text: Text, errors: list[dict]) -> dict[str, Any]:
    """Read sizing, commission, slippage, pyramiding and capital phrases."""
    settings: dict[str, Any] = {}
    for sizing_type, pattern in _SIZING:
        for match, raw in text.take(_START + pattern + ")"):
            data = {"type": sizing_type, "value": to_number(match.group("val"))}
            problem = _PROBLEMS["sizing" if sizing_type != "cash" else "cash"]
            if "sizing" not in settings and _check(Sizing, data, raw, problem, errors):
                settings["sizing"] = {**data, "value": as_param(data["value"])}
    if re.search(r"\bno\s+pyramiding\b", text.low):
        settings["pyramiding"] = 0
        list(text.take(r"\bno\s+pyramiding\b"))
    for field_name, pattern in _SETTINGS:
        for match, raw in text.take(_START + pattern + ")"):
            value = to_number(match.group("val") or match.group("val2"))
            data = {field_name: as_param(value)}
            problem = _PROBLEMS[field_name]
            if field_name in settings:
                continue
            if _check(ChartSettings, data, raw, problem, errors) is not None:
                settings[field_name] = data[field_name]
    return settings


_UNREAD = (
    r"(?<![a-z])(?:stop[\s-]*loss|stop|take[\s-]*profit|target|trailing(?:\s+stop)?)"
    r"\s*(?:of|at|:|=)?\s*-?\d+(?:\.\d+)?(?!\s*(?:%|percent|atr|\d))"
)


def unread_risk_phrase(text: Text) -> str | None:
    """A stop or target with a number but no unit ("stop 2"): never guessed."""
    match = re.search(_UNREAD, text.low)
    return " ".join(text.raw[match.start() : match.end()].split()) if match else None
