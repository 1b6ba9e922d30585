"""Refinements that touch indicators: change a parameter, add a trend filter.

    "change RSI length to 21"        -> indicators[rsi].params.length = 21
    "set the MACD fast length to 8"  -> indicators[macd].params.fast_length = 8
    "only short below the 200 EMA"   -> an EMA 200 use, and the short entry
                                        becomes all(entry, close < ema_200)

Both work on plain spec data (a dict) and take what they read out of the `Text`.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from engine.catalog import get_indicator
from engine.composer.lexicon import label
from engine.composer.mentions import Mention, find_mentions
from engine.composer.reader import Text, as_param, clean_text, to_number
from engine.errors import ComposeError
from engine.spec import IndicatorUse

_NUMBER = r"(?P<val>\d+(?:\.\d+)?)"
_PARAM = (
    r"(?:(?P<qual>fast|slow|signal|k|d|rsi|stoch|atr|base|conversion)\s+)?"
    r"(?P<param>length|period|lookback|multiplier|mult|smoothing|factor)"
)
_SET_PARAM = re.compile(
    r"(?:\b(?:change|set|make|update|use)\s+)?(?:the\s+)?"
    r"(?P<target>[a-z][a-z0-9_]*(?:\s+[a-z0-9_]+){0,2}?)(?:'s)?\s+"
    + _PARAM
    + r"\s*(?:to|=|:|at|of)?\s*"
    + _NUMBER
    + r"(?![\w.])"
)
_SIDE_FILTER = re.compile(
    r"\bonly\s+(?:go\s+|take\s+|trade\s+|enter\s+)?(?P<side>long|short)s?\s+"
    r"(?:trades\s+|positions\s+|entries\s+)?"
    r"(?:(?:when|while|if)\s+(?:the\s+)?(?:price|close)\s+(?:is\s+)?)?"
    r"(?P<dir>above|below|under|over)\s+(?P<rest>[^,;]+)"
)
#: Indicators drawn on the price scale; "below the RSI" would compare apples
#: with pears and is refused.
_PRICE_SCALE = {"moving_average", "channel", "trend", "price_level"}
_WORD_ALIASES = {"period": "length", "lookback": "length", "multiplier": "mult"}
MAX_ALL_CONDITIONS = 10


def _vague(message: str, **details: Any) -> ComposeError:
    return ComposeError("REQUEST_TOO_VAGUE", message, details)


def change_parameters(text: Text, data: dict[str, Any], applied: list[str]) -> None:
    """Apply every "change <indicator> <param> to <n>" phrase to ``data``."""
    for match in list(_SET_PARAM.finditer(text.low)):
        raw = " ".join(text.raw[match.start() : match.end()].split())
        mentions = find_mentions(Text(clean_text(match.group("target"))))
        use = _target_use(data, match.group("target"), mentions, raw)
        name = _param_name(use["kind"], match.group("qual"), match.group("param"), raw)
        value = as_param(to_number(match.group("val")))
        _check_param(use, name, value, raw)
        old = {**get_indicator(use["kind"]).defaults(), **use["params"]}.get(name)
        use["params"][name] = value
        _rename_for_length(data, use, name, old, value)
        text.blank(match.start(), match.end())
        applied.append(raw)


def _target_use(
    data: dict[str, Any], target: str, mentions: list[Mention], raw: str
) -> dict[str, Any]:
    uses = data.get("indicators") or []
    by_id = [use for use in uses if use["id"] in target.split()]
    if len(by_id) == 1:
        return by_id[0]
    if not mentions:
        raise _vague(f"'{raw}': which indicator? Name one the strategy uses.", text=raw)
    kind, params = mentions[0].kind, mentions[0].params
    found = [use for use in uses if use["kind"] == kind]
    if params:
        found = [
            use
            for use in found
            if all(use["params"].get(k, v) == v for k, v in params.items())
        ] or found
    if not found:
        raise _vague(f"The strategy uses no {label(kind)}.", text=raw, kind=kind)
    if len(found) > 1:
        ids = ", ".join(use["id"] for use in found)
        raise _vague(
            f"'{raw}': the strategy uses more than one {label(kind)} ({ids}); "
            "name it by its id or its current length.",
            text=raw,
            ids=[use["id"] for use in found],
        )
    return found[0]


def _param_name(kind: str, qualifier: str | None, word: str, raw: str) -> str:
    entry = get_indicator(kind)
    base = _WORD_ALIASES.get(word, word)
    names = [p.name for p in entry.params if p.type in ("int", "float")]
    wanted = [f"{qualifier}_{base}"] if qualifier else [base]
    if not qualifier:
        wanted += [n for n in names if n.endswith(f"_{base}")]
    matches = [n for n in dict.fromkeys(wanted) if n in names]
    if len(matches) != 1:
        listed = ", ".join(names) or "none"
        raise _vague(
            f"'{raw}': say which {label(kind)} setting to change ({listed}).",
            text=raw,
            params=names,
        )
    return matches[0]


def _check_param(use: dict[str, Any], name: str, value: Any, raw: str) -> None:
    try:
        IndicatorUse(id="check", kind=use["kind"], params={name: value})
    except ValidationError as exc:
        message = exc.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
        raise ComposeError(
            "INVALID_PARAMETERS",
            f"Some values cannot be used. {raw}: {message}.",
            {"errors": [{"text": raw, "message": message}]},
        ) from None


def _rename_for_length(
    data: dict[str, Any], use: dict[str, Any], name: str, old: Any, new: Any
) -> None:
    # An id such as "ema_9" names its length; keep the name true when it moves.
    if "length" not in name or not use["id"].endswith(f"_{old}"):
        return
    fresh = use["id"][: -len(str(old))] + str(new)
    taken = {other["id"] for other in data.get("indicators") or []}
    if fresh in taken or len(fresh) > 24:
        return
    old_id, use["id"] = use["id"], fresh
    for side in ("long", "short"):
        if data.get(side):
            data[side] = _replace_id(data[side], old_id, fresh)


def _replace_id(node: Any, old_id: str, new_id: str) -> Any:
    if isinstance(node, list):
        return [_replace_id(item, old_id, new_id) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("type") == "indicator" and node.get("id") == old_id:
        return {**node, "id": new_id}
    return {key: _replace_id(value, old_id, new_id) for key, value in node.items()}


def add_side_filters(text: Text, data: dict[str, Any], applied: list[str]) -> None:
    """Apply "only short below the 200 EMA" (and long/above) to ``data``."""
    for match in list(_SIDE_FILTER.finditer(text.low)):
        rest_start = match.start("rest")
        rest = Text(text.raw[rest_start : match.end()])
        mentions = find_mentions(rest)
        raw = " ".join(text.raw[match.start() : match.end()].split())
        if not mentions:
            raise ComposeError(
                "NO_SUPPORTED_RULE",
                f"'{raw}': name the line to stay above or below, e.g. 'only short "
                "below the 200 EMA'.",
                {"text": raw},
            )
        mention = mentions[0]
        side, below = match.group("side"), match.group("dir") in ("below", "under")
        if data.get(side) is None:
            raise _vague(
                f"'{raw}': the strategy has no {side} entry to narrow.", text=raw
            )
        operand = _indicator_operand(data, mention, raw)
        condition = {
            "type": "compare",
            "op": "<" if below else ">",
            "left": {"type": "price", "source": "close"},
            "right": operand,
        }
        data[side]["entry"] = _and(data[side]["entry"], condition)
        end = rest_start + mention.end
        raw = " ".join(text.raw[match.start() : end].split())
        text.blank(match.start(), end)
        applied.append(raw)


def _indicator_operand(
    data: dict[str, Any], mention: Mention, raw: str
) -> dict[str, Any]:
    entry = get_indicator(mention.kind)
    if entry.category not in _PRICE_SCALE:
        raise ComposeError(
            "NO_SUPPORTED_RULE",
            f"'{raw}': {label(mention.kind)} is not drawn on the price scale; "
            "filter by a moving average or a channel instead.",
            {"text": raw},
        )
    wanted = {**entry.defaults(), **mention.params}
    uses = data.setdefault("indicators", [])
    for use in uses:
        same = {**entry.defaults(), **use["params"]} == wanted
        if (
            use["kind"] == mention.kind
            and same
            and use.get("timeframe") == (mention.timeframe)
        ):
            return {"type": "indicator", "id": use["id"], "output": _output(entry)}
    new_id = _fresh_id(mention, {use["id"] for use in uses})
    use = {"id": new_id, "kind": mention.kind, "params": dict(mention.params)}
    if mention.timeframe:
        use["timeframe"] = mention.timeframe
    uses.append(use)
    return {"type": "indicator", "id": new_id, "output": _output(entry)}


def _output(entry: Any) -> str:
    names = entry.output_names()
    return "middle" if "middle" in names else names[0]


def _fresh_id(mention: Mention, taken: set[str]) -> str:
    parts = [mention.kind]
    parts += [str(int(v)) for k, v in mention.params.items() if "length" in k][:1]
    if mention.timeframe:
        parts.append(mention.timeframe.lower())
    base = "_".join(parts)[:21]
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}_{number}", number + 1
    return candidate


def _and(entry: dict[str, Any], condition: dict[str, Any]) -> dict[str, Any]:
    if entry.get("type") == "all" and len(entry["conditions"]) < MAX_ALL_CONDITIONS:
        return {**entry, "conditions": [*entry["conditions"], condition]}
    return {"type": "all", "conditions": [entry, condition]}
