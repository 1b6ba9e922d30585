"""The offline composer: a rule-based reader that turns a request into a spec.

It is the embedded default (no LLM needed) and the last link of the provider
chain. It understands common phrasings of indicators, conditions, exits, risk,
sizing, sessions, dates, sides, higher timeframes and alerts, and it never
makes a strategy up: what it cannot read, it refuses with a `ComposeError`
whose message says what is missing.

Reading order: settings phrases first (they are taken out of the text so
their numbers cannot be mistaken for lengths), then indicator mentions, then
clauses and their conditions.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from engine.composer.assemble import build_sides
from engine.composer.filters import (
    read_alerts,
    read_chart_timeframe,
    read_dates,
    read_session,
    read_sides,
)
from engine.composer.lexicon import ENTRY_EXAMPLE, SUPPORTED_EXAMPLES, label
from engine.composer.mentions import Mention, find_mentions, placeholder_text
from engine.composer.naming import finish_conditions, strategy_name
from engine.composer.reader import (
    TF_WORD,
    Text,
    clean_text,
    extract_name,
    strip_markup,
)
from engine.composer.risk import read_exits, read_settings, unread_risk_phrase
from engine.composer.rules import split_clauses
from engine.composer.uses import Uses, chart_timeframe, resolve
from engine.errors import ComposeError
from engine.spec import MAX_INDICATORS, StrategySpec

__all__ = ["MAX_REQUEST_CHARS", "compose_spec"]

MAX_REQUEST_CHARS = 2000
_TIMEFRAME_PRICE = re.compile(
    r"(?<![\w.])(?:" + TF_WORD + r")\s+(?:close|open|high|low|price|volume)\b"
)
_ENTRY_INTENT = re.compile(r"\b(?:buy|sell|long|short|enter|entry|go\s+in)\b")


def _vague(message: str, **details: Any) -> ComposeError:
    return ComposeError("REQUEST_TOO_VAGUE", message, details)


def _invalid(errors: list[dict]) -> ComposeError:
    parts = [f"{e['text']}: {e['message']}" for e in errors]
    message = "Some values cannot be used. " + "; ".join(parts) + "."
    return ComposeError("INVALID_PARAMETERS", message, {"errors": errors})


def _read_settings(text: Text, options: dict, errors: list[dict]) -> dict[str, Any]:
    found: dict[str, Any] = {
        "date_range": read_dates(text, errors),
        "session": read_session(text, errors),
        "settings": read_settings(text, errors),
        "risk": read_exits(text, errors),
    }
    unread = unread_risk_phrase(text)
    if unread:
        raise _vague(
            f"'{unread}' has no unit. Say e.g. 'stop 2%', 'stop 2 ATR' or "
            "'take profit 3%'.",
            text=unread,
        )
    found["alerts"] = read_alerts(text)
    found["sides"] = read_sides(text)
    found["timeframe"] = read_chart_timeframe(text, options.get("timeframe"))
    return found


def _refuse_timeframe_prices(placeholders: str) -> None:
    # Limitation: the spec gives timeframes to indicators only, so "daily
    # close" on a 1h chart is refused; reading it as the chart's close would
    # change the rule.
    match = _TIMEFRAME_PRICE.search(placeholders)
    if match:
        raise ComposeError(
            "NO_SUPPORTED_RULE",
            f"'{match.group(0)}': prices from another timeframe are not supported. "
            "Run the strategy on that chart timeframe, or use an indicator on it "
            "(e.g. 'daily SMA 1').",
            {"text": match.group(0)},
        )


def _words(placeholders: str, mentions: list[Mention]) -> str:
    """A clause in the user's words: placeholders back to what was written."""
    restored = re.sub(
        r"\{(\d+)\}", lambda m: mentions[int(m.group(1))].raw, placeholders
    )
    return " ".join(restored.split())


def compose_spec(request: str, options: dict | None = None) -> StrategySpec:
    """Compose a strategy spec from a plain-language request, without an LLM.

    `options` may carry `timeframe` (the chart's, e.g. "60" or "1h") and
    `symbol` (used in the generated name). Raises `ComposeError` with code
    REQUEST_TOO_LONG, REQUEST_TOO_VAGUE, NO_SUPPORTED_RULE or
    INVALID_PARAMETERS when the request cannot be turned into a strategy.
    """
    options = options if isinstance(options, dict) else {}
    if not isinstance(request, str):
        raise _vague(f"Say when to enter, e.g. '{ENTRY_EXAMPLE}'.")
    if len(request) > MAX_REQUEST_CHARS:
        raise ComposeError(
            "REQUEST_TOO_LONG",
            f"The request is {len(request)} characters; keep it to at most "
            f"{MAX_REQUEST_CHARS}.",
            {"length": len(request), "max_length": MAX_REQUEST_CHARS},
        )
    cleaned = clean_text(request)
    if not cleaned.strip():
        raise _vague(
            f"The request is empty. Say when to enter, e.g. '{ENTRY_EXAMPLE}'."
        )

    text = Text(cleaned)
    name = extract_name(text)
    strip_markup(text)
    errors: list[dict] = []
    found = _read_settings(text, options, errors)
    mentions = find_mentions(text)
    chart = chart_timeframe(mentions, found["timeframe"])
    uses = Uses()
    ids = resolve(mentions, uses, chart, errors)
    vague = [e for e in errors if "vague" in e]
    if vague:
        raise _vague(vague[0]["vague"], text=vague[0]["text"])
    if errors:
        raise _invalid(errors)

    placeholders = placeholder_text(text, mentions)
    _refuse_timeframe_prices(placeholders)
    refs = [(uid, m.output) for uid, m in zip(ids, mentions, strict=True)]
    sides = build_sides(
        split_clauses(placeholders),
        refs,
        uses,
        found["sides"],
        lambda fragment: _words(fragment, mentions),
    )
    if not sides:
        raise _no_entry(mentions, text.low)

    return _build_spec(request, name, options, found, sides, uses)


def _no_entry(mentions: list[Mention], low: str) -> ComposeError:
    if mentions:
        named = ", ".join(dict.fromkeys(label(m.kind) for m in mentions))
        return _vague(
            f"I found {named} but no rule for when to enter. Say when to enter, "
            f"e.g. '{ENTRY_EXAMPLE}'.",
            indicators=sorted({m.kind for m in mentions}),
        )
    if _ENTRY_INTENT.search(low):
        return ComposeError(
            "NO_SUPPORTED_RULE",
            "I could not find an indicator or price rule I support. Supported "
            f"indicators include {SUPPORTED_EXAMPLES}.",
            {},
        )
    return _vague(f"Say when to enter, e.g. '{ENTRY_EXAMPLE}'.")


def _build_spec(
    request: str,
    name: str | None,
    options: dict,
    found: dict[str, Any],
    sides: dict[str, dict],
    uses: Uses,
) -> StrategySpec:
    risk = found["risk"]
    if risk.get("take_profit", {}).get("type") == "rr" and "stop" not in risk:
        raise _vague(
            "A risk:reward target needs a stop loss to measure risk; add one, "
            "e.g. 'stop 2%' or 'stop 1.5 ATR'."
        )
    indicators, sides = finish_conditions(sides, uses)
    if len(indicators) > MAX_INDICATORS:
        raise _invalid(
            [
                {
                    "text": f"{len(indicators)} indicators",
                    "message": f"a strategy may use at most {MAX_INDICATORS}",
                }
            ]
        )
    data: dict[str, Any] = {
        "name": name or strategy_name(indicators, sides, options.get("symbol")),
        "description": " ".join(clean_text(request).split())[:500],
        "settings": found["settings"],
        "indicators": indicators,
        "risk": risk,
        **{side: rules for side, rules in sides.items()},
    }
    for key in ("session", "date_range", "alerts"):
        if found[key]:
            data[key] = found[key]
    try:
        return StrategySpec.model_validate(data)
    except ValidationError as exc:
        problems = [
            {"text": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
            for e in exc.errors(include_url=False, include_context=False)
        ]
        raise _invalid(problems) from exc
