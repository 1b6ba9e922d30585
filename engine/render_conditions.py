"""Flatten a spec condition tree into named, global Pine bool lines.

Pine v6 evaluates `and`/`or` lazily, so a `ta.crossover` written inside one
would skip bars and corrupt its history. Every cross and trend test therefore
gets its own global variable first; the rule itself is then one `and`/`or`/`not`
expression over names and plain comparisons, split into named parts whenever a
line would grow past `MAX_EXPRESSION` characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.render_names import NameTable, PineInput
from engine.spec import (
    AllCondition,
    AnyCondition,
    CompareCondition,
    CrossCondition,
    IndicatorOperand,
    NotCondition,
    NumberOperand,
    PriceOperand,
    TrendCondition,
)

MAX_EXPRESSION = 150

# What a condition node rendered to, so the parent knows how to combine it.
_ATOM, _COMPARE, _AND, _OR, _NOT = "atom", "compare", "and", "or", "not"


@dataclass(frozen=True)
class ConditionLine:
    """`name = ...`: kind is crossover, crossunder, rising, falling or bool."""

    name: str
    kind: str
    args: tuple[str, ...]


class RuleWriter:
    """Writes the lines of one rule (say, the long entry) into `lines`."""

    def __init__(
        self,
        rule: str,
        group: str,
        names: NameTable,
        series: dict[tuple[str, str], str],
        inputs: list[PineInput],
    ) -> None:
        self.rule = rule
        self.group = group
        self.names = names
        self.series = series
        self.inputs = inputs
        self.lines: list[ConditionLine] = []
        self._titles: set[str] = set()

    def write(self, condition: Any) -> list[ConditionLine]:
        """Return the lines that end by assigning the whole rule to `self.rule`."""
        if isinstance(condition, CrossCondition | TrendCondition):
            self._leaf(condition, target=self.rule)
        else:
            text, _ = self._node(condition)
            self.lines.append(ConditionLine(self.rule, "bool", (text,)))
        return self.lines

    # ------------------------------------------------------------- nodes

    def _node(self, node: Any) -> tuple[str, str]:
        if isinstance(node, CrossCondition | TrendCondition):
            return self._leaf(node), _ATOM
        if isinstance(node, CompareCondition):
            title = f"{_label(node.left)} {node.op} {_label(node.right)}"
            left = self._operand(node.left, title)
            right = self._operand(node.right, title)
            return f"{left} {node.op} {right}", _COMPARE
        if isinstance(node, NotCondition):
            return self._negate(node), _NOT
        return self._combine(node)

    def _leaf(self, node: Any, target: str | None = None) -> str:
        if isinstance(node, CrossCondition):
            title = f"{_label(node.left)} crosses {node.direction} {_label(node.right)}"
            args = (
                self._operand(node.left, title),
                self._operand(node.right, title),
            )
            kind = "crossover" if node.direction == "above" else "crossunder"
            stem = "Cross"
        else:
            title = f"{_label(node.operand)} {node.direction}"
            bars = self.names.numbered(f"{self.rule}Bars")
            self._input(bars, "int", node.bars, f"{title}, bars", 1, 100, 1)
            args = (self._operand(node.operand, title), bars)
            kind = node.direction
            stem = node.direction.capitalize()
        name = target or self.names.numbered(f"{self.rule}{stem}")
        self.lines.append(ConditionLine(name, kind, args))
        return name

    def _negate(self, node: NotCondition) -> str:
        text, kind = self._node(node.condition)
        if kind == _ATOM:
            return f"not {text}"
        if kind in (_AND, _OR):
            return f"not {self._hoist(text, 'All' if kind == _AND else 'Any')}"
        return f"not ({text})"

    def _combine(self, node: AllCondition | AnyCondition) -> tuple[str, str]:
        kind = _AND if isinstance(node, AllCondition) else _OR
        parts = []
        for child in node.conditions:
            text, child_kind = self._node(child)
            if child_kind in (_AND, _OR):
                # A nested group gets a name: it reads better and needs no brackets.
                text = self._hoist(text, "All" if child_kind == _AND else "Any")
                child_kind = _ATOM
            parts.append((text, child_kind))
        if len(parts) == 1:
            return parts[0]

        joiner = f" {kind} "
        texts = [text for text, _ in parts]
        if len(joiner.join(texts)) > MAX_EXPRESSION:
            texts = [
                text if child_kind == _ATOM else self._hoist(text, "Cond")
                for text, child_kind in parts
            ]
        if len(joiner.join(texts)) > MAX_EXPRESSION:
            texts = [
                self._hoist(joiner.join(c), "Part") for c in _chunks(texts, joiner)
            ]
        return joiner.join(texts), kind

    def _hoist(self, text: str, stem: str) -> str:
        name = self.names.numbered(f"{self.rule}{stem}")
        self.lines.append(ConditionLine(name, "bool", (text,)))
        return name

    # ---------------------------------------------------------- operands

    def _operand(self, operand: Any, title: str) -> str:
        if isinstance(operand, NumberOperand):
            level = self.names.numbered(f"{self.rule}Level")
            self._input(level, "float", float(operand.value), title)
            return level
        if isinstance(operand, IndicatorOperand):
            text = self.series[(operand.id, operand.output)]
        else:
            text = operand.source
        if operand.offset:
            text = f"{text}[{operand.offset}]"
        if operand.scale != 1:
            scale = self.names.numbered(f"{self.rule}Scale")
            self._input(
                scale, "float", float(operand.scale), f"{_label(operand)} multiplier"
            )
            text = f"{text} * {scale}"
        return text

    def _input(
        self,
        name: str,
        kind: str,
        default: Any,
        title: str,
        minval: Any = None,
        maxval: Any = None,
        step: Any = None,
    ) -> None:
        unique, n = title, 1
        while unique in self._titles:
            n += 1
            unique = f"{title} ({n})"
        self._titles.add(unique)
        self.inputs.append(
            PineInput(name, kind, default, unique, self.group, minval, maxval, step)
        )


def _label(operand: Any) -> str:
    """How an operand reads in an input title: `rsi`, `bb.upper`, `close[1]`."""
    if isinstance(operand, NumberOperand):
        return "level"
    if isinstance(operand, PriceOperand):
        text = operand.source
    else:
        text = (
            operand.id
            if operand.output == "value"
            else f"{operand.id}.{operand.output}"
        )
    return f"{text}[{operand.offset}]" if operand.offset else text


def _chunks(texts: list[str], joiner: str) -> list[list[str]]:
    chunks: list[list[str]] = [[]]
    for text in texts:
        if chunks[-1] and len(joiner.join([*chunks[-1], text])) > MAX_EXPRESSION:
            chunks.append([])
        chunks[-1].append(text)
    return chunks
