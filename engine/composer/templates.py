"""Building spec conditions: operands, fixed conditions, per-side templates.

Conditions are plain dicts in the spec's own shape. A template is a function
of the side ("long" or "short") for rules whose direction the side decides:
"EMA 9/21 crossover", "Supertrend flip", "Donchian breakout", "exit at the
middle band".
"""

from __future__ import annotations

import json
from collections.abc import Callable

from engine.composer.lexicon import (
    CROSS_PARTNER,
    DEFAULT_OUTPUT,
    LOWER_LEVELS,
    MOVING_AVERAGES,
    PREVIOUS_BAR_OUTPUTS,
    PRICE_LINE_KINDS,
    UPPER_LEVELS,
    ZERO_LINE_KINDS,
)
from engine.composer.uses import Uses

Template = Callable[[str], dict | None]

CLOSE = {"type": "price", "source": "close"}
OPEN = {"type": "price", "source": "open"}
HIGH = {"type": "price", "source": "high"}
LOW = {"type": "price", "source": "low"}


def ref(uses: Uses, uid: str, output: str | None) -> dict:
    """An indicator operand; channel edges look one bar back (see lexicon)."""
    kind = uses.kind(uid)
    output = output or DEFAULT_OUTPUT.get(kind, "value")
    operand = {"type": "indicator", "id": uid, "output": output}
    if (kind, output) in PREVIOUS_BAR_OUTPUTS:
        operand["offset"] = 1
    return operand


def number(value: float) -> dict:
    """A number operand; whole numbers stay whole."""
    return {"type": "number", "value": int(value) if value == int(value) else value}


def cross(direction: str, left: dict, right: dict) -> dict:
    """`left` crosses above or below `right`."""
    return {"type": "cross", "direction": direction, "left": left, "right": right}


def compare(op: str, left: dict, right: dict) -> dict:
    """`left op right` on this bar."""
    return {"type": "compare", "op": op, "left": left, "right": right}


def trend(operand: dict, direction: str, bars: int) -> dict:
    """`operand` rising or falling for `bars` bars."""
    return {"type": "trend", "direction": direction, "operand": operand, "bars": bars}


def _combine(kind: str, conditions: list[dict | None]) -> dict | None:
    flat: list[dict] = []
    seen: set[str] = set()
    for condition in conditions:
        if condition is None:
            continue
        parts = condition["conditions"] if condition["type"] == kind else [condition]
        for part in parts:
            key = json.dumps(part, sort_keys=True)
            if key not in seen:
                seen.add(key)
                flat.append(part)
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else {"type": kind, "conditions": flat}


def all_of(conditions: list[dict | None]) -> dict | None:
    """All of these, flattened and without repeats."""
    return _combine("all", conditions)


def any_of(conditions: list[dict | None]) -> dict | None:
    """Any of these, flattened and without repeats."""
    return _combine("any", conditions)


def kind_of(uses: Uses, operand: dict) -> str | None:
    """The catalog kind behind an indicator operand."""
    return uses.kind(operand["id"]) if operand.get("type") == "indicator" else None


def _length(uses: Uses, operand: dict) -> float:
    value = uses.param(operand["id"], "length")
    return value if isinstance(value, int | float) else 0


def _is_ma(uses: Uses, operand: dict) -> bool:
    return kind_of(uses, operand) in MOVING_AVERAGES


def cross_pair(
    uses: Uses, subject: dict, other: dict | None, ordered: bool
) -> tuple[dict | None, dict | None]:
    """What crosses what: "EMA 9 / EMA 21" (fast first), "MACD" (its signal),
    "ROC" (zero), "SMA 50" (price crosses it)."""
    if other is not None:
        both_averages = _is_ma(uses, subject) and _is_ma(uses, other)
        if ordered and both_averages and _length(uses, subject) > _length(uses, other):
            return other, subject
        return subject, other
    kind = kind_of(uses, subject)
    if kind in CROSS_PARTNER and subject["output"] == CROSS_PARTNER[kind][0]:
        return subject, ref(uses, subject["id"], CROSS_PARTNER[kind][1])
    if kind in ZERO_LINE_KINDS or (kind == "macd" and subject["output"] == "hist"):
        return subject, number(0)
    if kind in PRICE_LINE_KINDS:
        return CLOSE, subject
    return None, None


def cross_with_zone(left: dict, right: dict, zone: dict | None) -> Template:
    """A crossing whose direction the side decides, with an optional level."""
    return lambda side: all_of(
        [cross("above" if side == "long" else "below", left, right), zone]
    )


def golden_cross(uses: Uses, direction: str) -> dict:
    """Golden (above) or death (below) cross of the averages named, else 50/200 SMA."""
    averages = [
        ref(uses, uid, None)
        for uid in uses.of_kind(*MOVING_AVERAGES)
        if uses.param(uid, "source") == "close" and uses.timeframe(uid) is None
    ]
    averages.sort(key=lambda operand: _length(uses, operand))
    if not averages:
        averages = [
            ref(uses, uses.add("sma", {"length": length}, None), None)
            for length in (50, 200)
        ]
    if len(averages) == 1:
        return cross(direction, CLOSE, averages[0])
    return cross(direction, averages[0], averages[-1])


def candle(op: str) -> dict:
    """A green (close > open) or red candle."""
    return compare(op, CLOSE, OPEN)


def between(subject: dict, low: float, high: float) -> dict | None:
    """`subject` strictly between two levels."""
    low, high = sorted((low, high))
    return all_of(
        [compare(">", subject, number(low)), compare("<", subject, number(high))]
    )


def extreme(subject: dict, word: str, level: float, bounce: bool) -> dict:
    """Oversold/overbought: beyond the level, or crossing back out of it."""
    if word == "oversold":
        if bounce:
            return cross("above", subject, number(level))
        return compare("<", subject, number(level))
    if bounce:
        return cross("below", subject, number(level))
    return compare(">", subject, number(level))


def turn(uses: Uses, subject: dict, way: str, zero: bool) -> dict | None:
    """ "turns positive" crosses zero; "turns bullish" flips the indicator."""
    kind = kind_of(uses, subject)
    if kind == "supertrend":
        # Supertrend's direction is negative in an uptrend.
        direction = ref(uses, subject["id"], "direction")
        return cross("below" if way == "above" else "above", direction, number(0))
    if not zero:
        left, right = cross_pair(uses, subject, None, False)
        if left is not None:
            return cross(way, left, right)
    return cross(way, subject, number(0))


def touch(uses: Uses, level: dict) -> dict | None:
    """Price reaching a level: the high for upper levels, the low for lower ones."""
    role = level_role(uses, level)
    if role == "upper":
        return compare(">=", HIGH, level)
    if role == "lower":
        return compare("<=", LOW, level)
    return all_of([compare(">=", HIGH, level), compare("<=", LOW, level)])


def flip(uses: Uses, subject: dict) -> Template | None:
    """A trend indicator changing direction: long on the up flip, short on the down."""
    kind = kind_of(uses, subject)
    if kind == "supertrend":
        return lambda side: turn(
            uses, subject, "above" if side == "long" else "below", False
        )
    left, right = cross_pair(uses, subject, None, False)
    if left is None or kind is None:
        return None
    return lambda side: cross("above" if side == "long" else "below", left, right)


def breakout(uses: Uses, subject: dict) -> Template | None:
    """Close breaking out of a channel: upper edge for longs, lower for shorts."""
    kind = kind_of(uses, subject)
    if kind in ("donchian", "bb", "keltner"):
        upper = ref(uses, subject["id"], "upper")
        lower = ref(uses, subject["id"], "lower")
        return lambda side: (
            cross("above", CLOSE, upper)
            if side == "long"
            else cross("below", CLOSE, lower)
        )
    if kind == "highest":
        return lambda side: cross("above", CLOSE, subject) if side == "long" else None
    if kind == "lowest":
        return lambda side: cross("below", CLOSE, subject) if side == "short" else None
    if kind in PRICE_LINE_KINDS:
        return lambda side: cross(
            "above" if side == "long" else "below", CLOSE, subject
        )
    return None


def level_role(uses: Uses, operand: dict) -> str | None:
    """upper, lower, middle or line for price levels; None for anything else."""
    kind = kind_of(uses, operand)
    if kind is None or kind not in PRICE_LINE_KINDS:
        return None
    output = operand.get("output")
    if output in UPPER_LEVELS or kind == "highest":
        return "upper"
    if output in LOWER_LEVELS or kind == "lowest":
        return "lower"
    return "middle" if output == "middle" else "line"


def at_level(uses: Uses, operand: dict, role: str) -> Template | None:
    """A bare level in an entry ("buy at the lower band"), an exit ("exit at the
    middle band", "exit on 10 bar low") or a filter ("50 SMA as trend filter")."""
    where = level_role(uses, operand)
    if where is None:
        return None
    if role == "filter":
        return lambda side: compare(">" if side == "long" else "<", CLOSE, operand)
    if role == "entry":
        return lambda side: (
            cross("above" if side == "long" else "below", CLOSE, operand)
            if where == ("upper" if side == "long" else "lower")
            else compare("<=", LOW, operand)
            if side == "long"
            else compare(">=", HIGH, operand)
        )
    # Exits: a target is reached by the bar's range, a floor is lost on a close.
    targets = {"long": ("upper", "middle"), "short": ("lower", "middle")}
    return lambda side: (
        (
            compare(">=", HIGH, operand)
            if side == "long"
            else compare("<=", LOW, operand)
        )
        if where in targets[side]
        else compare("<" if side == "long" else ">", CLOSE, operand)
    )
