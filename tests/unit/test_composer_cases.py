"""The offline composer against the real request cases in examples/requests.jsonl.

Each case carries `expect`; `check_expectations` maps its keys onto the spec.
Error cases name the coded refusal in words ("too vague", "no supported
indicator", "invalid parameters").
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine.catalog import get_indicator
from engine.composer import compose_spec
from engine.errors import ComposeError
from engine.spec import StrategySpec

CASES_FILE = Path(__file__).resolve().parents[2] / "examples" / "requests.jsonl"
CASES = [
    json.loads(line) for line in CASES_FILE.read_text().splitlines() if line.strip()
]
SPEC_CASES = [case for case in CASES if "error" not in case["expect"]]
ERROR_CASES = [case for case in CASES if "error" in case["expect"]]

# Words in a request that justify a kind in its spec: a kind whose words are
# absent was made up.
KIND_WORDS = {
    "sma": r"\bsma\b|\bma\b|average|golden|death",
    "ema": r"\bema\b|exponential",
    "rsi": r"\brsi\b|relative strength",
    "macd": r"\bmacd\b",
    "bb": r"bollinger|\bbb\b",
    "atr": r"\batr\b|true range",
    "stoch": r"stoch|%k|%d",
    "adx": r"\badx\b|\bdmi\b|[+-]di\b",
    "vwap": r"\bvwap\b",
    "supertrend": r"super\s?trend",
    "donchian": r"donchian",
    "ichimoku": r"ichimoku|tenkan|kijun|cloud",
    "keltner": r"keltner",
    "highest": r"highest|\bhigh\b",
    "lowest": r"lowest|\blow\b",
    "cci": r"\bcci\b",
    "mfi": r"\bmfi\b|money flow",
    "psar": r"\bsar\b|parabolic",
    "willr": r"williams|%r",
    "obv": r"\bobv\b|on.balance",
    "roc": r"\broc\b|rate of change",
}
ERROR_CODES = {
    "too vague": "REQUEST_TOO_VAGUE",
    "no supported": "NO_SUPPORTED_RULE",
    "invalid parameters": "INVALID_PARAMETERS",
}


def kinds_used(spec: StrategySpec) -> set[str]:
    """Kinds the spec relies on; an ATR stop or target relies on ATR."""
    kinds = {use.kind for use in spec.indicators}
    legs = (spec.risk.stop, spec.risk.take_profit, spec.risk.trailing)
    if any(leg is not None and leg.type == "atr" for leg in legs):
        kinds.add("atr")
    return kinds


def check_expectations(request: str, spec: StrategySpec, expect: dict) -> list[str]:
    """Every way `spec` falls short of `expect`, as readable lines."""
    problems = []
    used = kinds_used(spec)
    if "indicators" in expect:
        missing = set(expect["indicators"]) - used
        if missing:
            problems.append(f"indicators missing: {sorted(missing)}")
    for kind in used:
        words = KIND_WORDS.get(kind, re.escape(kind))
        if not re.search(words, request.lower()):
            problems.append(f"indicator {kind} is not in the request")
    if "sides" in expect:
        sides = sorted(name for name, _ in spec.sides())
        if sides != sorted(expect["sides"]):
            problems.append(f"sides {sides} != {expect['sides']}")
    for key, value in expect.get("params", {}).items():
        kind, param = key.split(".")
        values = [u.resolved_params()[param] for u in spec.indicators if u.kind == kind]
        if value not in values:
            problems.append(f"{key}: {value} not in {values}")
    for leg_name in ("stop", "take_profit", "trailing"):
        if leg_name in expect:
            leg = getattr(spec.risk, leg_name)
            want = expect[leg_name]
            if leg is None or (leg.type, leg.value) != (want["type"], want["value"]):
                problems.append(f"{leg_name}: {leg} != {want}")
    if "session" in expect and (
        spec.session is None or spec.session.session != expect["session"]
    ):
        problems.append(f"session: {spec.session}")
    if "higher_timeframe" in expect:
        timeframes = [use.timeframe for use in spec.indicators]
        if expect["higher_timeframe"] not in timeframes:
            problems.append(f"higher_timeframe: {timeframes}")
    if "date_range" in expect:
        got = spec.date_range and [
            spec.date_range.start.isoformat(),
            spec.date_range.end and spec.date_range.end.isoformat(),
        ]
        if got != expect["date_range"]:
            problems.append(f"date_range: {got}")
    if "pyramiding" in expect and spec.settings.pyramiding != expect["pyramiding"]:
        problems.append(f"pyramiding: {spec.settings.pyramiding}")
    if "sizing" in expect:
        sizing = spec.settings.sizing
        if (sizing.type, sizing.value) != (
            expect["sizing"]["type"],
            expect["sizing"]["value"],
        ):
            problems.append(f"sizing: {sizing}")
    commission = spec.settings.commission_percent
    if commission != expect.get("commission_percent", commission):
        problems.append(f"commission: {commission}")
    if expect.get("alerts") and not spec.alerts.on_entry:
        problems.append("alerts: no alert on entry")
    return problems


@pytest.mark.parametrize("case", SPEC_CASES, ids=[c["id"] for c in SPEC_CASES])
def test_case_composes_to_a_spec_that_meets_its_expectations(case):
    spec = compose_spec(case["request"])

    assert check_expectations(case["request"], spec, case["expect"]) == []


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c["id"] for c in ERROR_CASES])
def test_error_case_is_refused_with_its_coded_error(case):
    wanted = next(
        code
        for words, code in ERROR_CODES.items()
        if words in case["expect"]["error"].lower()
    )

    with pytest.raises(ComposeError) as caught:
        compose_spec(case["request"])

    assert caught.value.code == wanted
    assert caught.value.http_status == 422
    assert caught.value.message


def test_invalid_parameters_case_names_both_values_with_their_bounds():
    case = next(c for c in ERROR_CASES if "invalid" in c["expect"]["error"].lower())

    with pytest.raises(ComposeError) as caught:
        compose_spec(case["request"])

    errors = caught.value.details["errors"]
    assert [e["text"] for e in errors] == ["RSI length 0", "EMA length -5"]
    for error in errors:
        bounds = get_indicator(error["indicator"]).param(error["param"])
        assert (error["min"], error["max"]) == (bounds.min, bounds.max)
        assert error["text"] in caught.value.message
    assert "from 1 to 5000" in caught.value.message


def test_quoted_name_case_keeps_the_name_as_plain_text():
    case = next(c for c in SPEC_CASES if "named" in c["request"])

    spec = compose_spec(case["request"])

    assert spec.name == 'My "best" idea'
    assert spec.description == " ".join(case["request"].split())


try:
    from engine.render import render_strategy
    from engine.validate import validate_script
except ImportError as exc:  # pragma: no cover - only while they are being built
    render_strategy = validate_script = None
    MISSING = f"engine.render / engine.validate not importable yet: {exc}"
else:
    MISSING = ""


@pytest.mark.skipif(render_strategy is None, reason=MISSING or "available")
@pytest.mark.parametrize("case", SPEC_CASES, ids=[c["id"] for c in SPEC_CASES])
def test_case_spec_renders_and_validates_clean(case):
    code = render_strategy(compose_spec(case["request"]))

    report = validate_script(code)

    assert report.ok, [str(issue) for issue in report.errors]


@pytest.mark.skipif(render_strategy is None, reason=MISSING or "available")
def test_quoted_name_reaches_pine_as_an_escaped_literal():
    case = next(c for c in SPEC_CASES if "named" in c["request"])

    code = render_strategy(compose_spec(case["request"]))

    assert 'strategy("My \\"best\\" idea"' in code
    assert "<script>" not in code.split("strategy(", 1)[1].split("\n", 1)[0]
