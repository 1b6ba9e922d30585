"""The same rule for the other side of the market.

A rule given once for "long and short" is written for longs and mirrored for
shorts: crossings and comparisons turn around, oscillator levels move to the
other end of their range (RSI 30 becomes 70, Williams %R -80 becomes -20,
CCI -100 becomes 100), and rules about strength or volume (ADX > 25, volume
above its average) stay as they are. A rule with no clear mirror gives None.
"""

from __future__ import annotations

from engine.composer.lexicon import BOUNDED_0_100, NEUTRAL_OUTPUTS, ZERO_CENTRED
from engine.composer.templates import compare, cross, kind_of, number
from engine.composer.uses import Uses

_FLIP_OP = {">": "<", ">=": "<=", "<": ">", "<=": ">="}


def _neutral(uses: Uses, operand: dict) -> bool:
    if operand["type"] == "number":
        return True
    if operand["type"] == "price":
        return operand["source"] == "volume"
    kind = kind_of(uses, operand)
    if (kind, operand.get("output")) in NEUTRAL_OUTPUTS:
        return True
    return uses.param(operand["id"], "source") == "volume"


def _mirror_number(uses: Uses, other: dict, value: float) -> float | None:
    kind = kind_of(uses, other)
    if kind in BOUNDED_0_100:
        return 100 - value
    if kind == "willr":
        return -100 - value
    if kind in ZERO_CENTRED or kind == "supertrend":
        return -value
    return 0 if value == 0 else None


def _mirror_pair(uses: Uses, left: dict, right: dict) -> tuple[dict, dict] | None:
    result = []
    for operand, other in ((left, right), (right, left)):
        if operand["type"] != "number":
            result.append(operand)
            continue
        value = _mirror_number(uses, other, operand["value"])
        if value is None:
            return None
        result.append(number(value))
    return result[0], result[1]


_EDGES = {"upper": "lower", "lower": "upper", "cloud_top": "cloud_bottom"}
_EDGES["cloud_bottom"] = "cloud_top"
_WINDOWS = {"highest": ("lowest", "low"), "lowest": ("highest", "high")}


def mirror_level(uses: Uses, operand: dict) -> dict:
    """The other edge of a channel (upper <-> lower, 20-bar high <-> low)."""
    kind = kind_of(uses, operand)
    if operand.get("output") in _EDGES:
        return {**operand, "output": _EDGES[operand["output"]]}
    if kind in _WINDOWS:
        other, source = _WINDOWS[kind]
        length = uses.param(operand["id"], "length")
        uid = uses.add(
            other, {"source": source, "length": length}, uses.timeframe(operand["id"])
        )
        return {**operand, "id": uid}
    return operand


def mirror(uses: Uses, condition: dict | None) -> dict | None:
    """The same rule for the other side, or None where it has no clear mirror."""
    if condition is None:
        return None
    kind = condition["type"]
    if kind in ("all", "any"):
        parts = [mirror(uses, part) for part in condition["conditions"]]
        return None if None in parts else {"type": kind, "conditions": parts}
    if kind == "not":
        inner = mirror(uses, condition["condition"])
        return None if inner is None else {"type": "not", "condition": inner}
    if kind == "trend":
        way = "falling" if condition["direction"] == "rising" else "rising"
        return {**condition, "direction": way}
    left, right = condition["left"], condition["right"]
    if _neutral(uses, left) and _neutral(uses, right):
        return condition
    pair = _mirror_pair(uses, left, right)
    if pair is None:
        return None
    if kind == "cross":
        way = "below" if condition["direction"] == "above" else "above"
        return cross(way, *pair)
    return compare(_FLIP_OP[condition["op"]], *pair)
