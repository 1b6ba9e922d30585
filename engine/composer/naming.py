"""Finishing touches: final indicator ids, cloud edges and the strategy's name."""

from __future__ import annotations

import re
from typing import Any

from engine.composer.lexicon import label
from engine.composer.uses import Uses


def _walk_operands(condition: dict, visit) -> dict:
    kind = condition["type"]
    if kind in ("all", "any"):
        parts = [_walk_operands(part, visit) for part in condition["conditions"]]
        return {**condition, "conditions": parts}
    if kind == "not":
        return {**condition, "condition": _walk_operands(condition["condition"], visit)}
    if kind == "trend":
        return {**condition, "operand": visit(condition["operand"], "right", True)}
    upward = condition.get("op") in (">", ">=") or condition.get("direction") == "above"
    return {
        **condition,
        "left": visit(condition["left"], "left", upward),
        "right": visit(condition["right"], "right", upward),
    }


def _used_ids(condition: dict) -> set[str]:
    found: set[str] = set()

    def visit(operand: dict, _where: str, _upward: bool) -> dict:
        if operand.get("type") == "indicator":
            found.add(operand["id"])
        return operand

    _walk_operands(condition, visit)
    return found


def finish_conditions(
    sides: dict[str, dict], uses: Uses
) -> tuple[list[dict[str, Any]], dict[str, dict]]:
    """Drop unused indicators, give readable ids and settle "the cloud".

    "Above the cloud" means above its top and "below the cloud" below its
    bottom, which is only known once the comparison (and side) is final.
    """
    used: set[str] = set()
    for rules in sides.values():
        for condition in rules.values():
            if condition:
                used |= _used_ids(condition)
    indicators, rename = uses.export(used)

    def visit(operand: dict, where: str, upward: bool) -> dict:
        if operand.get("type") != "indicator":
            return operand
        operand = {**operand, "id": rename[operand["id"]]}
        if operand.get("output") == "cloud":
            top = upward == (where == "right")
            operand["output"] = "cloud_top" if top else "cloud_bottom"
        return operand

    finished: dict[str, dict] = {}
    for side, rules in sides.items():
        finished[side] = {"entry": _walk_operands(rules["entry"], visit)}
        if rules.get("exit"):
            finished[side]["exit"] = _walk_operands(rules["exit"], visit)
    return indicators, finished


def _numbers(condition: dict | None) -> list[float]:
    if not condition:
        return []
    found: list[float] = []

    def visit(operand: dict, _where: str, _upward: bool) -> dict:
        if operand.get("type") == "number" and operand["value"] != 0:
            found.append(operand["value"])
        return operand

    _walk_operands(condition, visit)
    return found


def _entry_is_cross(condition: dict) -> bool:
    # Filters come first in an entry; the entry's own rule is the last part.
    while condition["type"] in ("all", "any"):
        condition = condition["conditions"][-1]
    return condition["type"] == "cross"


def strategy_name(
    indicators: list[dict[str, Any]], sides: dict[str, dict], symbol: Any = None
) -> str:
    """A short name from the rules, e.g. "RSI 14 cross 30/70", "EMA 9/21 cross"."""
    groups: dict[tuple[str, str | None], list[str]] = {}
    for use in indicators:
        values = [
            f"{value:g}"
            for key, value in use["params"].items()
            if key != "source" and isinstance(value, int | float)
        ]
        kind = use["kind"]
        if use["params"].get("source") == "volume":
            kind = "volume " + kind
        key = (kind, use.get("timeframe"))
        groups.setdefault(key, [])
        if values:
            groups[key].append("/".join(values))
    labels = []
    for (kind, timeframe), values in groups.items():
        words = [label(part) if part != "volume" else "Volume" for part in kind.split()]
        text = " ".join([*words, "/".join(dict.fromkeys(values))]).strip()
        labels.append(f"{text} ({timeframe})" if timeframe else text)
    name = " + ".join(labels) or "Price action"
    first = sides.get("long") or sides.get("short") or {}
    if first and _entry_is_cross(first["entry"]):
        name += " cross"
    numbers = _numbers(first.get("entry")) + _numbers(first.get("exit"))
    if numbers:
        name += " " + "/".join(f"{n:g}" for n in list(dict.fromkeys(numbers))[:2])
    if list(sides) == ["short"]:
        name += " (short)"
    if isinstance(symbol, str) and re.fullmatch(r"[A-Za-z0-9:._/!-]{1,24}", symbol):
        name = f"{symbol} {name}"
    return name[:80]
