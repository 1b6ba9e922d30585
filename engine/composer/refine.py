"""Offline refinement: apply a plain-language edit to an existing spec.

The composer's own readers do the reading, on the instruction instead of a whole
request, and what they find replaces the matching part of a copy of the spec:

    "add a 2% trailing stop", "stop loss 1.5%", "take profit 3%", "2:1"  -> risk
    "remove the trailing stop", "no alerts"                             -> risk/...
    "only long", "only short"                                           -> sides
    "add alerts", "only trade 09:30-16:00", "since 2022-01-01"          -> filters
    "commission 0.1%", "10% of equity per trade"                        -> settings
    "change RSI length to 21", "only short below the 200 EMA"   -> indicators

Every word of the instruction must be accounted for: an edit that is only
partly understood is refused with a ComposeError naming the words left over,
never half applied.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from pydantic import ValidationError

from engine.composer.filters import read_alerts, read_dates, read_session, read_sides
from engine.composer.reader import Text, clean_text
from engine.composer.refine_indicators import add_side_filters, change_parameters
from engine.composer.risk import read_exits, read_settings, unread_risk_phrase
from engine.errors import ComposeError
from engine.spec import StrategySpec, spec_to_data

__all__ = ["MAX_INSTRUCTION_CHARS", "refine_spec"]

MAX_INSTRUCTION_CHARS = 1000
CAN_DO = (
    "add or change a stop loss, take profit or trailing stop ('add a 2% trailing "
    "stop', 'take profit 2:1'), keep one side ('only long'), add alerts, a "
    "session ('only trade 09:30-16:00') or a trend filter ('only short below the "
    "200 EMA'), or change a length ('change RSI length to 21')"
)
_REMOVE = re.compile(
    r"\b(?:remove|drop|delete|disable|no|without)\s+(?:the\s+|any\s+)?"
    r"(?P<what>trailing[\s-]*stop(?:[\s-]*loss)?|stop[\s-]*loss|stop"
    r"|take[\s-]*profit|profit\s+target|target|session(?:\s+filter)?"
    r"|time\s+filter|trading\s+hours|alerts?|date\s+range)\b"
)
_REMOVED = {
    "trailing": ("risk", "trailing"),
    "stop": ("risk", "stop"),
    "take": ("risk", "take_profit"),
    "profit": ("risk", "take_profit"),
    "target": ("risk", "take_profit"),
    "session": (None, "session"),
    "time": (None, "session"),
    "trading": (None, "session"),
    "date": (None, "date_range"),
}
_RISK_WORDS = {
    "stop": "stop loss",
    "take_profit": "take profit",
    "trailing": "trailing stop",
}
#: Words that carry no edit of their own ("please add a ... and also ...").
_FILLER = frozenset({
    "a", "an", "the", "and", "also", "please", "add", "set", "use", "make", "it",
    "to", "of", "on", "in", "then", "plus", "instead", "change", "update",
    "include", "put", "for", "strategy", "too", "as", "well", "with", "me", "can",
    "you", "i", "want", "would", "like", "let's", "lets", "my",
})  # fmt: skip


def _invalid(errors: list[dict]) -> ComposeError:
    parts = [f"{e['text']}: {e['message']}" for e in errors]
    message = "Some values cannot be used. " + "; ".join(parts) + "."
    return ComposeError("INVALID_PARAMETERS", message, {"errors": errors})


def refine_spec(instruction: str, current: StrategySpec) -> StrategySpec:
    """Apply ``instruction`` to a copy of ``current`` without an LLM.

    Returns the edited, validated spec; ``current`` is left as it was. Raises
    ComposeError: REQUEST_TOO_LONG, NO_SUPPORTED_RULE (nothing, or not all,
    of the instruction is an edit it knows), REQUEST_TOO_VAGUE (e.g. which
    indicator) or INVALID_PARAMETERS (a value out of range).
    """
    if not isinstance(instruction, str) or not instruction.strip():
        raise ComposeError("REQUEST_TOO_VAGUE", f"Say what to change: {CAN_DO}.")
    if len(instruction) > MAX_INSTRUCTION_CHARS:
        raise ComposeError(
            "REQUEST_TOO_LONG",
            f"The instruction is {len(instruction)} characters; keep it to at most "
            f"{MAX_INSTRUCTION_CHARS}.",
            {"length": len(instruction), "max_length": MAX_INSTRUCTION_CHARS},
        )
    text = Text(clean_text(instruction))
    data = copy.deepcopy(spec_to_data(current))
    applied: list[str] = []

    # Indicator phrases first: "only short below the 200 EMA" must not be
    # read as plain "only short", nor "EMA length to 50" as a number elsewhere.
    change_parameters(text, data, applied)
    add_side_filters(text, data, applied)
    _remove(text, data, applied)
    _apply_filters(text, data, applied)
    _apply_risk(text, data, applied)
    _apply_sides(text, data, applied)

    _refuse_leftovers(text, applied)
    try:
        return StrategySpec.model_validate(data)
    except ValidationError as exc:
        problems = [
            {"text": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
            for e in exc.errors(include_url=False, include_context=False)
        ]
        raise _invalid(problems) from None


def _remove(text: Text, data: dict[str, Any], applied: list[str]) -> None:
    for match, raw in text.take(_REMOVE.pattern):
        word = match.group("what").split()[0].split("-")[0]
        if word.startswith("alert"):
            data["alerts"] = {"on_entry": False, "on_exit": False}
        else:
            section, key = _REMOVED[word]
            target = data[section] if section else data
            target[key] = None
        applied.append(raw)


def _apply_filters(text: Text, data: dict[str, Any], applied: list[str]) -> None:
    errors: list[dict] = []
    found = {
        "date_range": read_dates(text, errors),
        "session": read_session(text, errors),
    }
    settings = read_settings(text, errors)
    vague = [e for e in errors if "vague" in e]
    if vague:
        raise ComposeError("REQUEST_TOO_VAGUE", vague[0]["vague"], {})
    if errors:
        raise _invalid(errors)
    for key, value in found.items():
        if value:
            data[key] = value
            applied.append(key.replace("_", " "))
    if settings:
        data["settings"] = {**data["settings"], **settings}
        applied.append("settings")
    alerts = read_alerts(text)
    if alerts:
        data["alerts"] = alerts
        applied.append("alerts")


def _apply_risk(text: Text, data: dict[str, Any], applied: list[str]) -> None:
    errors: list[dict] = []
    found = read_exits(text, errors)
    if errors:
        raise _invalid(errors)
    unread = unread_risk_phrase(text)
    if unread:
        raise ComposeError(
            "REQUEST_TOO_VAGUE",
            f"'{unread}' has no unit. Say e.g. 'stop 2%', 'stop 2 ATR' or "
            "'take profit 3%'.",
            {"text": unread},
        )
    if not found:
        return
    risk = {**data["risk"], **found}
    target = risk.get("take_profit") or {}
    if target.get("type") == "rr" and not risk.get("stop"):
        raise ComposeError(
            "REQUEST_TOO_VAGUE",
            "A risk:reward target needs a stop loss to measure risk; add one, "
            "e.g. 'stop 2%' or 'stop 1.5 ATR'.",
            {},
        )
    data["risk"] = risk
    applied += [_RISK_WORDS[key] for key in sorted(found)]


def _apply_sides(text: Text, data: dict[str, Any], applied: list[str]) -> None:
    sides = read_sides(text)
    if sides is None:
        return
    missing = [side for side in sides if data.get(side) is None]
    if missing:
        raise ComposeError(
            "REQUEST_TOO_VAGUE",
            f"The strategy has no {missing[0]} entry rule; describe when to go "
            f"{missing[0]} as a new strategy or with an LLM provider.",
            {"missing": missing},
        )
    for side in ("long", "short"):
        if side not in sides:
            data[side] = None
    applied.append("only " + " and ".join(sides))


def _refuse_leftovers(text: Text, applied: list[str]) -> None:
    words = re.findall(r"[^\s,.;:!?()]+", text.raw)
    left = [word for word in words if word.casefold() not in _FILLER]
    leftover = " ".join(left)
    if not applied:
        raise ComposeError(
            "NO_SUPPORTED_RULE",
            f"I could not read '{' '.join(words)}' as an edit I can make offline. "
            f"I can {CAN_DO}.",
            {"understood": [], "not_understood": " ".join(words)},
        )
    if left:
        raise ComposeError(
            "NO_SUPPORTED_RULE",
            f"I understood {', '.join(applied)}, but not '{leftover}'. I can {CAN_DO}.",
            {"understood": applied, "not_understood": leftover},
        )
