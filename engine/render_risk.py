"""Plan the risk legs and time filters of a strategy: their inputs and names.

The Pine for both lives in `pinescript_templates/risk.pine.j2` and
`filters.pine.j2`; this module only decides which inputs exist and what they
are called, in the spec's order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from engine.render_names import NameTable, PineInput
from engine.spec import StrategySpec


@dataclass(frozen=True)
class RiskPlan:
    stop: str | None  # "percent" | "atr" | "points"
    target: str | None  # the same, or "rr"
    trail: str | None
    inputs: SimpleNamespace  # role -> input variable


@dataclass(frozen=True)
class FilterPlan:
    session: str | None  # input.session variable
    timezone: str | None  # None = the exchange's own time zone
    close_at_end: bool
    date_start: str | None
    date_end: str | None

    @property
    def gate(self) -> str | None:
        """The expression that must hold for a new entry, or None."""
        parts = []
        if self.session:
            parts.append("inSession")
            if self.close_at_end:
                # An order sent on the last bar would fill after the session.
                parts.append("not sessionLastBar")
        if self.date_start:
            parts.append("inDateRange")
        return " and ".join(parts) or None

    @property
    def flattens(self) -> bool:
        """True when the script closes everything at a session or range end."""
        return bool((self.session and self.close_at_end) or self.date_end)


# ---------------------------------------------------------------------- risk

_ROLE_SUFFIX = {"percent": "Percent", "atr": "AtrMult", "points": "Ticks", "rr": "RR"}
_UNIT_TITLES = {
    "percent": "(%)",
    "atr": "(ATR multiple)",
    "points": "(ticks)",
    "rr": "(reward : risk)",
}


def plan_risk(
    spec: StrategySpec, names: NameTable, inputs: list[PineInput]
) -> RiskPlan | None:
    """Name the risk inputs of `spec`, or return None when it has no risk legs."""
    risk = spec.risk
    if not risk.any:
        return None
    roles: dict[str, str] = {}

    def add(role: str, leg: Any, title: str) -> None:
        if leg.type == "atr":
            length = names.take(f"{role}AtrLength")
            roles[f"{role}_atr_length"] = length
            inputs.append(
                PineInput(
                    length,
                    "int",
                    leg.atr_length,
                    f"{title} ATR length",
                    "Risk",
                    minval=1,
                    maxval=500,
                    step=1,
                )
            )
        value = names.take(f"{role}{_ROLE_SUFFIX[leg.type]}")
        roles[role] = value
        inputs.append(_risk_input(value, leg.type, leg.value, title))

    if risk.stop:
        add("stop", risk.stop, "Stop loss")
    if risk.take_profit:
        add("target", risk.take_profit, "Take profit")
    if risk.trailing:
        add("trail", risk.trailing, "Trailing stop")
        start = names.take("trailActivation")
        roles["trail_start"] = start
        leg = risk.trailing
        inputs.append(_risk_input(start, leg.type, leg.activation, "Trail after"))

    return RiskPlan(
        stop=risk.stop.type if risk.stop else None,
        target=risk.take_profit.type if risk.take_profit else None,
        trail=risk.trailing.type if risk.trailing else None,
        inputs=SimpleNamespace(**roles),
    )


def _risk_input(name: str, unit: str, value: float, title: str) -> PineInput:
    maxval = 100.0 if unit == "percent" else None
    step = 1.0 if unit == "points" else 0.1
    return PineInput(
        name,
        "float",
        float(value),
        f"{title} {_UNIT_TITLES[unit]}",
        "Risk",
        minval=0.0,
        maxval=maxval,
        step=step,
    )


# ------------------------------------------------------------------- filters


def plan_filters(
    spec: StrategySpec, names: NameTable, inputs: list[PineInput]
) -> FilterPlan:
    """Name the session and date-range inputs of `spec` (any may be absent)."""
    session = timezone = start = end = None
    close_at_end = False
    if spec.session is not None:
        session = names.take("sessionWindow")
        inputs.append(
            PineInput(session, "session", spec.session.session, "Session", "Time")
        )
        if spec.session.timezone != "exchange":
            timezone = spec.session.timezone
        close_at_end = spec.session.close_at_end
    if spec.date_range is not None:
        start = names.take("dateStart")
        inputs.append(
            PineInput(start, "time", _stamp(spec.date_range.start), "From", "Time")
        )
        if spec.date_range.end is not None:
            end = names.take("dateEnd")
            # The end day is traded in full, to its last second.
            stamp = _stamp(spec.date_range.end, dt.time(23, 59, 59))
            inputs.append(PineInput(end, "time", stamp, "Until", "Time"))
    return FilterPlan(session, timezone, close_at_end, start, end)


def _stamp(day: dt.date, at: dt.time = dt.time(0, 0, 0)) -> str:
    return dt.datetime.combine(day, at).strftime("%Y-%m-%dT%H:%M:%S")
