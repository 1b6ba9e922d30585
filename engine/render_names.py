"""Pine identifiers and inputs, shared by the render plan and the rule writer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Built-in variables and functions that contain an underscore, the only ones a
# `<id>_<suffix>` name could ever spell.
_RESERVED = frozenset(
    {
        "bar_index",
        "last_bar_index",
        "last_bar_time",
        "max_bars_back",
        "time_close",
        "time_tradingday",
    }
)


# Names the templates write themselves; generated names must not take them.
TEMPLATE_NAMES = frozenset(
    {
        "inSession",
        "sessionLastBar",
        "sessionOver",
        "closeAllAlert",
        "inDateRange",
        "afterDateRange",
        "canEnter",
        "stopAtr",
        "targetAtr",
        "trailAtr",
    }
    | {
        f"{side}{suffix}"
        for side in ("long", "short")
        for suffix in (
            "Signal",
            "StopTicks",
            "TargetTicks",
            "TrailTicks",
            "TrailStartTicks",
            "EntryAlert",
            "ExitAlert",
        )
    }
)


class NameTable:
    """Hands out Pine identifiers, each at most once."""

    def __init__(self, taken: frozenset[str] = frozenset()) -> None:
        self._used: set[str] = set(_RESERVED) | set(taken)

    def take(self, wanted: str) -> str:
        """Return `wanted`, or `wanted_2`, `wanted_3`... if it is in use."""
        name, n = wanted, 1
        while name in self._used:
            n += 1
            name = f"{wanted}_{n}"
        self._used.add(name)
        return name

    def numbered(self, stem: str) -> str:
        """Return the first free `stem1`, `stem2`..."""
        n = 1
        while f"{stem}{n}" in self._used:
            n += 1
        self._used.add(f"{stem}{n}")
        return f"{stem}{n}"


@dataclass(frozen=True)
class PineInput:
    """One `input.*` declaration; the template formats `default` by `kind`."""

    name: str
    kind: str  # int | float | bool | source | timeframe | session | time
    default: Any
    title: str
    group: str
    minval: float | int | None = None
    maxval: float | int | None = None
    step: float | int | None = None
    tooltip: str | None = None
