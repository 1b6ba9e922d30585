"""The Pine renderer: declaration, inputs, conditions, orders, escaping, filters."""

from __future__ import annotations

import re

import pytest
from jinja2 import StrictUndefined
from pynescript import ast as pn

from engine.render import (
    ENVIRONMENT,
    pine_comment,
    pine_number,
    pine_string,
    render_strategy,
)
from engine.spec import parse_spec, spec_to_data
from tests.render_helpers import check_script

STRATEGY_ARGUMENTS = {
    "shorttitle",
    "overlay",
    "initial_capital",
    "currency",
    "default_qty_type",
    "default_qty_value",
    "commission_type",
    "commission_value",
    "slippage",
    "pyramiding",
    "process_orders_on_close",
    "calc_on_every_tick",
    "calc_on_order_fills",
    "margin_long",
    "margin_short",
    "close_entries_rule",
}

# ------------------------------------------------------------------ helpers


def dotted(node: object) -> str | None:
    if isinstance(node, pn.Name):
        return node.id
    if isinstance(node, pn.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def calls(tree: pn.AST, name: str) -> list[pn.Call]:
    found = [n for n in pn.walk(tree) if isinstance(n, pn.Call)]
    return [c for c in found if dotted(c.func) == name]


def keywords(call: pn.Call) -> dict[str, object]:
    return {arg.name: arg.value for arg in call.args if arg.name}


def source_of(code: str, node: pn.AST) -> str:
    return pn.get_source_segment(code, node)


def price(source: str = "close", **extra: object) -> dict:
    return {"type": "price", "source": source, **extra}


def ind(use_id: str, output: str = "value", **extra: object) -> dict:
    return {"type": "indicator", "id": use_id, "output": output, **extra}


def num(value: float) -> dict:
    return {"type": "number", "value": value}


def cross(left: dict, right: dict, direction: str = "above") -> dict:
    return {"type": "cross", "direction": direction, "left": left, "right": right}


def compare(left: dict, op: str, right: dict) -> dict:
    return {"type": "compare", "op": op, "left": left, "right": right}


def make_spec(**overrides: object):
    data = {
        "name": "RSI dip buyer",
        "indicators": [{"id": "rsi", "kind": "rsi"}],
        "long": {
            "entry": cross(ind("rsi"), num(30)),
            "exit": cross(ind("rsi"), num(70), "below"),
        },
    }
    data.update(overrides)
    return parse_spec(data)


def render(**overrides: object) -> str:
    return render_strategy(make_spec(**overrides))


# ------------------------------------------------------------- the filters


def test_pine_string_escapes_quotes_and_backslashes():
    assert pine_string('say "hi" \\ bye') == '"say \\"hi\\" \\\\ bye"'


def test_pine_string_turns_line_breaks_and_controls_into_spaces():
    text = "a\nb\rc\td\x00e\u2028f\u202eg"
    assert pine_string(text) == '"a b c d e f g"'


def test_pine_string_keeps_unicode():
    assert pine_string("Ichimoku 雲 — €") == '"Ichimoku 雲 — €"'


def test_pine_comment_is_one_line():
    assert pine_comment("first\nstrategy.entry()\r\nthird") == (
        "first strategy.entry() third"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2, "2"),
        (2.0, "2.0"),
        (0.1, "0.1"),
        (-80.0, "-80.0"),
        (1e-07, "0.0000001"),
        (1e20, "100000000000000000000.0"),
        (-0.0, "0.0"),
        (1234.5678, "1234.5678"),
    ],
)
def test_pine_number_has_no_exponent_and_no_noise(value, expected):
    assert pine_number(value) == expected


def test_pine_number_refuses_bools_and_infinity():
    with pytest.raises(TypeError):
        pine_number(True)
    with pytest.raises(ValueError):
        pine_number(float("inf"))


def test_environment_is_strict_and_does_not_html_escape():
    assert ENVIRONMENT.undefined is StrictUndefined
    assert ENVIRONMENT.autoescape is False
    assert ENVIRONMENT.keep_trailing_newline
    assert ENVIRONMENT.trim_blocks and ENVIRONMENT.lstrip_blocks


# ----------------------------------------------------- script as a whole


def test_same_spec_renders_the_same_bytes():
    spec = make_spec(risk={"stop": {"type": "atr", "value": 2}})
    first = render_strategy(spec)
    assert render_strategy(spec) == first
    assert render_strategy(parse_spec(spec_to_data(spec))) == first


def test_script_starts_with_version_and_names_the_strategy():
    code = render(description="Buys dips after a sharp fall. " * 5)
    lines = code.splitlines()
    assert lines[0] == "//@version=6"
    assert lines[1] == "// RSI dip buyer"
    assert "PineForge" in lines[2]
    header = lines[: next(i for i, x in enumerate(lines) if x.startswith("strategy("))]
    assert all(line.startswith("//") and len(line) <= 90 for line in header)
    text = " ".join(line[3:] for line in header[header.index("//") + 1 :])
    assert text == ("Buys dips after a sharp fall. " * 5).strip()


def test_declaration_is_single_and_writes_every_argument():
    code = render()
    tree = check_script(code)
    declarations = calls(tree, "strategy")
    assert len(declarations) == 1
    assert set(keywords(declarations[0])) >= STRATEGY_ARGUMENTS
    assert not calls(tree, "indicator")


def test_declaration_carries_the_settings():
    code = render(
        settings={
            "overlay": False,
            "initial_capital": 2500,
            "currency": "USDT",
            "sizing": {"type": "cash", "value": 500},
            "commission_percent": 0.075,
            "slippage_ticks": 3,
            "pyramiding": 2,
            "process_orders_on_close": True,
        }
    )
    declaration = next(
        line for line in code.splitlines() if line.startswith("strategy(")
    )
    for expected in (
        "overlay=false",
        "initial_capital=2500.0",
        "currency=currency.USDT",
        "default_qty_type=strategy.cash",
        "default_qty_value=500.0",
        "commission_type=strategy.commission.percent",
        "commission_value=0.075",
        "slippage=3",
        "pyramiding=2",
        "process_orders_on_close=true",
        "calc_on_every_tick=false",
        "calc_on_order_fills=false",
        "margin_long=100",
        "margin_short=100",
        'close_entries_rule="FIFO"',
    ):
        assert expected in declaration


def test_no_legacy_pine_names():
    code = render(
        indicators=[{"id": "rsi", "kind": "rsi", "timeframe": "D"}],
        alerts={"on_entry": True, "on_exit": True},
    )
    for legacy in ("study(", "when=", "transp=", "alertcondition("):
        assert legacy not in code
    assert not re.search(r"(?<![.\w])(security|rsi|sma|ema|crossover)\(", code)


def test_blocks_are_indented_by_four_spaces():
    code = render(
        risk={"stop": {"type": "percent", "value": 1}},
        session={"session": "0930-1600"},
    )
    indents = {len(line) - len(line.lstrip(" ")) for line in code.splitlines()}
    assert indents <= {0, 4, 8}
    assert "\t" not in code


# ------------------------------------------------------------------ inputs


def test_every_indicator_parameter_is_an_input_with_bounds():
    code = render(
        indicators=[
            {"id": "rsi", "kind": "rsi", "params": {"length": 21}},
            {"id": "bands", "kind": "bb", "params": {"mult": 2.5}},
            {"id": "sar", "kind": "psar"},
        ]
    )
    tree = check_script(code)
    assigned = {
        node.target.id: node.value
        for node in tree.body
        if isinstance(node, pn.Assign) and isinstance(node.target, pn.Name)
    }
    length = assigned["rsi_length"]
    assert dotted(length.func) == "input.int"
    assert source_of(code, length.args[0].value) == "21"
    assert {"minval", "maxval", "step", "group"} <= set(keywords(length))
    assert dotted(assigned["rsi_source"].func) == "input.source"
    mult = assigned["bands_mult"]
    assert dotted(mult.func) == "input.float"
    assert source_of(code, mult.args[0].value) == "2.5"
    assert {"minval", "maxval", "step", "group"} <= set(keywords(mult))
    for param in ("start", "increment", "maximum"):
        assert "step" in keywords(assigned[f"sar_{param}"])


def test_numbers_in_conditions_become_float_inputs():
    code = render()
    assert 'longEntryLevel1 = input.float(30.0, "rsi crosses above level"' in code
    assert 'longExitLevel1 = input.float(70.0, "rsi crosses below level"' in code
    assert "ta.crossover(rsi_value, longEntryLevel1)" in code


def test_scale_and_offset_shape_an_operand():
    code = render(
        indicators=[{"id": "basis", "kind": "sma"}],
        long={"entry": compare(price(), ">", ind("basis", offset=2, scale=1.02))},
    )
    check_script(code)
    assert "longEntry = close > basis_value[2] * longEntryScale1" in code
    assert "longEntryScale1 = input.float(1.02" in code


def test_builtin_named_ids_never_shadow_builtins():
    code = render(
        indicators=[
            {"id": "close", "kind": "sma"},
            {"id": "na", "kind": "rsi"},
            {"id": "time", "kind": "atr"},
        ],
        long={"entry": cross(ind("close"), ind("na"))},
    )
    tree = check_script(code)
    targets = {
        elt.id
        for node in pn.walk(tree)
        if isinstance(node, pn.Assign)
        for elt in ([node.target] if isinstance(node.target, pn.Name) else [])
    }
    assert not targets & {"close", "na", "time", "open", "high", "low"}
    assert "longEntry = ta.crossover(close_value, na_value)" in code


def test_ids_that_would_spell_the_same_name_get_distinct_ones():
    # `x` + `fast_length` and `x_fast` + `length` both spell x_fast_length.
    code = render(
        indicators=[{"id": "x", "kind": "macd"}, {"id": "x_fast", "kind": "ema"}],
        long={"entry": cross(ind("x", "macd"), ind("x_fast"))},
    )
    tree = check_script(code)
    targets = [
        node.target.id
        for node in tree.body
        if isinstance(node, pn.Assign) and isinstance(node.target, pn.Name)
    ]
    assert len(targets) == len(set(targets))
    assert "x_fast_length" in targets and "x_fast_length_2" in targets


# --------------------------------------------------------------- conditions


def _lazy_ta_calls(node: pn.AST, lazy: bool = False) -> list[pn.Call]:
    """ta.* calls inside an and/or operand or a ternary, where v6 may skip them."""
    found = []
    is_ta = isinstance(node, pn.Call) and (dotted(node.func) or "").startswith("ta.")
    if is_ta and lazy:
        found.append(node)
    inside = lazy or isinstance(node, pn.BoolOp | pn.Conditional)
    for child in pn.iter_child_nodes(node):
        found.extend(_lazy_ta_calls(child, inside))
    return found


def test_ta_calls_only_at_global_scope_and_never_in_and_or():
    spec = {
        "indicators": [
            {"id": "fast", "kind": "ema", "params": {"length": 9}},
            {"id": "slow", "kind": "ema", "params": {"length": 21}},
            {"id": "osc", "kind": "rsi"},
        ],
        "long": {
            "entry": {
                "type": "all",
                "conditions": [
                    cross(ind("fast"), ind("slow")),
                    {
                        "type": "any",
                        "conditions": [
                            {
                                "type": "trend",
                                "direction": "rising",
                                "operand": ind("osc"),
                            },
                            {
                                "type": "not",
                                "condition": compare(ind("osc"), ">", num(70)),
                            },
                        ],
                    },
                ],
            }
        },
        "risk": {"stop": {"type": "atr", "value": 2}},
    }
    code = render(**spec)
    tree = check_script(code)
    for statement in tree.body:
        if not isinstance(statement, pn.Assign | pn.Expr):
            ta_inside = [
                n
                for n in pn.walk(statement)
                if isinstance(n, pn.Call) and (dotted(n.func) or "").startswith("ta.")
            ]
            assert not ta_inside, source_of(code, statement)
    assert not _lazy_ta_calls(tree)
    assert "longEntryRising1 = ta.rising(osc_value, longEntryBars1)" in code
    assert (
        "longEntryAny1 = longEntryRising1 or not (osc_value > longEntryLevel1)" in code
    )
    assert "longEntry = ta.crossover(fast_value, slow_value)" not in code
    assert "longEntry = longEntryCross1 and longEntryAny1" in code


def test_long_rules_are_split_into_named_parts():
    indicators = [
        {"id": f"average_number_{n:02d}_of_a", "kind": "sma"} for n in range(10)
    ]
    comparisons = [compare(price(), ">", ind(i["id"], offset=3)) for i in indicators]
    code = render(
        indicators=indicators,
        long={"entry": {"type": "all", "conditions": comparisons}},
    )
    check_script(code)
    rule_lines = [line for line in code.splitlines() if line.startswith("longEntry")]
    assert max(len(line) for line in rule_lines if "input." not in line) <= 200
    assert "longEntryPart1" in code


# ------------------------------------------------------------ higher timeframe


def test_higher_timeframe_reads_the_previous_closed_bar():
    code = render(
        indicators=[
            {"id": "rsi", "kind": "rsi", "timeframe": "D"},
            {"id": "trend", "kind": "macd", "timeframe": "240"},
        ],
        long={"entry": compare(ind("trend", "hist"), ">", num(0))},
    )
    tree = check_script(code)
    requests = calls(tree, "request.security")
    assert len(requests) == 2
    for request in requests:
        assert dotted(keywords(request)["lookahead"]) == "barmerge.lookahead_on"
        expression = request.args[2].value
        items = expression.elts if isinstance(expression, pn.Tuple) else [expression]
        for item in items:
            assert isinstance(item, pn.Subscript)
            assert source_of(code, item.slice) == "1"
    assert 'rsi_timeframe = input.timeframe("D", "Timeframe"' in code
    assert "rsi_value = request.security(syminfo.tickerid, rsi_timeframe, " in code
    assert "rsi_value_raw = ta.rsi(rsi_source, rsi_length)" in code
    assert (
        "[trend_macd, trend_signal, trend_hist] = request.security(syminfo.tickerid, "
        "trend_timeframe, [trend_macd_raw[1], trend_signal_raw[1], trend_hist_raw[1]], "
        "lookahead=barmerge.lookahead_on)"
    ) in code


def test_a_zero_count_timeframe_is_not_a_valid_spec():
    with pytest.raises(ValueError, match="timeframe"):
        make_spec(indicators=[{"id": "rsi", "kind": "rsi", "timeframe": "0D"}])


# ------------------------------------------------------------------- orders


def _exit_calls(code: str) -> list[pn.Call]:
    return calls(check_script(code), "strategy.exit")


@pytest.mark.parametrize(
    ("stop", "distance"),
    [
        (
            {"type": "percent", "value": 1.5},
            "close * stopPercent / 100 / syminfo.mintick",
        ),
        (
            {"type": "atr", "value": 2, "atr_length": 10},
            "stopAtr * stopAtrMult / syminfo.mintick",
        ),
        ({"type": "points", "value": 40}, "stopTicks"),
    ],
)
def test_stop_loss_variants(stop, distance):
    code = render(risk={"stop": stop})
    (exit_call,) = _exit_calls(code)
    args = keywords(exit_call)
    assert source_of(code, args["from_entry"]) == '"Long"'
    assert source_of(code, args["loss"]) == "longStopTicks"
    assert f"longStopTicks := {distance}" in code
    assert "var float longStopTicks = na" in code
    if stop["type"] == "atr":
        assert "stopAtr = ta.atr(stopAtrLength)" in code
        assert "stopAtrLength = input.int(10" in code


@pytest.mark.parametrize(
    ("target", "distance"),
    [
        (
            {"type": "percent", "value": 3},
            "close * targetPercent / 100 / syminfo.mintick",
        ),
        ({"type": "atr", "value": 4}, "targetAtr * targetAtrMult / syminfo.mintick"),
        ({"type": "points", "value": 120}, "targetTicks"),
        ({"type": "rr", "value": 2}, "longStopTicks * targetRR"),
    ],
)
def test_take_profit_variants(target, distance):
    code = render(risk={"stop": {"type": "percent", "value": 1}, "take_profit": target})
    (exit_call,) = _exit_calls(code)
    assert source_of(code, keywords(exit_call)["profit"]) == "longTargetTicks"
    assert f"longTargetTicks := {distance}" in code
    # A risk:reward target is measured from the stop, so the stop comes first.
    assert code.index("longStopTicks :=") < code.index("longTargetTicks :=")


@pytest.mark.parametrize(
    ("trailing", "offset", "start"),
    [
        (
            {"type": "percent", "value": 2},
            "close * trailPercent / 100 / syminfo.mintick",
            "close * trailActivation / 100 / syminfo.mintick",
        ),
        (
            {"type": "atr", "value": 3, "activation": 1},
            "trailAtr * trailAtrMult / syminfo.mintick",
            "trailAtr * trailActivation / syminfo.mintick",
        ),
        (
            {"type": "points", "value": 50, "activation": 20},
            "trailTicks",
            "trailActivation",
        ),
    ],
)
def test_trailing_stop_variants(trailing, offset, start):
    code = render(risk={"trailing": trailing})
    (exit_call,) = _exit_calls(code)
    args = keywords(exit_call)
    assert source_of(code, args["trail_offset"]) == "longTrailTicks"
    assert source_of(code, args["trail_points"]) == "longTrailStartTicks"
    assert f"longTrailTicks := {offset}" in code
    assert f"longTrailStartTicks := {start}" in code


def test_trailing_without_activation_trails_from_entry():
    code = render(risk={"trailing": {"type": "percent", "value": 2}})
    assert 'trailActivation = input.float(0.0, "Trail after (%)"' in code


def test_every_exit_names_its_entry_and_has_a_leg():
    code = render(
        short={"entry": cross(ind("rsi"), num(70), "below")},
        risk={
            "stop": {"type": "atr", "value": 2},
            "take_profit": {"type": "rr", "value": 3},
            "trailing": {"type": "points", "value": 30},
        },
    )
    exits = _exit_calls(code)
    assert len(exits) == 2
    legs = {"stop", "limit", "profit", "loss", "trail_points", "trail_offset"}
    for exit_call in exits:
        args = keywords(exit_call)
        assert "from_entry" in args
        assert legs & set(args)


def test_signal_exit_and_bracket_exit_coexist():
    code = render(risk={"stop": {"type": "percent", "value": 2}})
    tree = check_script(code)
    (close_call,) = calls(tree, "strategy.close")
    assert source_of(code, close_call.args[0].value) == '"Long"'
    assert "if longExit\n    strategy.close(" in code
    # The bracket is sent with the entry and kept while the trade is open.
    assert "if longSignal or strategy.position_size > 0\n    strategy.exit(" in code
    # Distances are fixed once per trade, not on every repeated signal.
    assert "if longSignal\n    if strategy.position_size <= 0\n" in code


def test_long_only_script_forbids_short_entries():
    code = render()
    tree = check_script(code)
    assert "strategy.risk.allow_entry_in(strategy.direction.long)" in code
    directions = {
        source_of(code, c.args[1].value) for c in calls(tree, "strategy.entry")
    }
    assert directions == {"strategy.long"}


def test_short_only_script_forbids_long_entries():
    code = render(long=None, short={"entry": cross(ind("rsi"), num(70), "below")})
    tree = check_script(code)
    assert "strategy.risk.allow_entry_in(strategy.direction.short)" in code
    directions = {
        source_of(code, c.args[1].value) for c in calls(tree, "strategy.entry")
    }
    assert directions == {"strategy.short"}


def test_two_sided_script_does_not_restrict_direction():
    code = render(short={"entry": cross(ind("rsi"), num(70), "below")})
    check_script(code)
    assert "allow_entry_in" not in code


# ------------------------------------------------------------- time filters


def test_session_in_exchange_time_uses_the_two_argument_form():
    code = render(session={"session": "0930-1600", "close_at_end": False})
    check_script(code)
    assert 'sessionWindow = input.session("0930-1600", "Session", group="Time")' in code
    assert "inSession = not na(time(timeframe.period, sessionWindow))" in code
    assert "longSignal = longEntry and canEnter" in code
    assert "close_all" not in code


def test_session_with_timezone_closes_at_session_end():
    code = render(session={"session": "0800-1630", "timezone": "Europe/London"})
    tree = check_script(code)
    assert (
        'inSession = not na(time(timeframe.period, sessionWindow, "Europe/London"))'
    ) in code
    assert "bars_back=-1" in code
    assert "canEnter = inSession and not sessionLastBar" in code
    (close_all,) = calls(tree, "strategy.close_all")
    assert source_of(code, keywords(close_all)["immediately"]) == "true"


def test_date_range_filter_uses_time_inputs():
    code = render(date_range={"start": "2022-01-01", "end": "2023-06-30"})
    check_script(code)
    assert 'dateStart = input.time(timestamp("2022-01-01T00:00:00"), "From"' in code
    assert 'dateEnd = input.time(timestamp("2023-06-30T23:59:59"), "Until"' in code
    assert "inDateRange = time >= dateStart and time <= dateEnd" in code
    assert "if afterDateRange and strategy.position_size != 0" in code


def test_open_ended_date_range_has_no_end_input():
    code = render(date_range={"start": "2022-01-01"})
    check_script(code)
    assert "inDateRange = time >= dateStart\n" in code
    assert "dateEnd" not in code


# ------------------------------------------------------------------ alerts


def test_alerts_ride_on_the_orders():
    code = render(
        risk={"stop": {"type": "percent", "value": 2}},
        alerts={"on_entry": True, "on_exit": True},
    )
    tree = check_script(code)
    for name in ("strategy.entry", "strategy.close", "strategy.exit"):
        (call,) = calls(tree, name)
        assert "alert_message" in keywords(call)
    assert 'longEntryAlert = "RSI dip buyer: enter long " + syminfo.tickerid' in code
    assert "{{strategy.order.alert_message}}" in code
    assert not calls(tree, "alertcondition")


def test_no_alert_messages_when_alerts_are_off():
    code = render(risk={"stop": {"type": "percent", "value": 2}})
    assert "alert_message" not in code


# ---------------------------------------------------------------- escaping


def test_hostile_name_stays_inside_string_literals():
    name = 'My "best" idea \\ <script>alert(1)</script>'
    code = render(name=name, alerts={"on_entry": True})
    tree = check_script(code)
    (declaration,) = calls(tree, "strategy")
    assert declaration.args[0].value.value == name
    assert pine_string(name) == '"My \\"best\\" idea \\\\ <script>alert(1)</script>"'
    assert f"strategy({pine_string(name)}," in code
    assert len(calls(tree, "strategy.entry")) == 1
    assert not calls(tree, "alert")


def test_injected_newline_cannot_start_a_statement():
    name = 'Nice")\nstrategy.entry("pwn", strategy.short)\n//'
    code = render(name=name)
    tree = check_script(code)
    entries = calls(tree, "strategy.entry")
    assert [source_of(code, c.args[0].value) for c in entries] == ['"Long"']
    for line in code.splitlines():
        assert not line.startswith('strategy.entry("pwn"')
    # Even text that bypassed the spec's own cleaning stays on one line.
    assert "\n" not in pine_string(name)


def test_hostile_description_stays_inside_comments():
    description = (
        '//@version=5\nstudy("x")\u2028strategy.entry("pwn", strategy.long) {{ 7*7 }}'
    )
    code = render(name="{% raw %}{{ config }}", description=description)
    tree = check_script(code)
    assert len(calls(tree, "strategy.entry")) == 1
    assert not calls(tree, "study")
    assert [line for line in code.splitlines() if "version=" in line] == [
        "//@version=6",
        '// //@version=5 study("x") strategy.entry("pwn", strategy.long) {{ 7*7 }}',
    ]
    assert 'strategy("{% raw %}{{ config }}", ' in code


def test_a_name_without_printable_text_is_not_a_valid_spec():
    # An empty strategy() title would not compile; the spec refuses it.
    with pytest.raises(ValueError, match="printable"):
        make_spec(name="\n\t \u200b")


def test_plots_stay_at_global_scope_and_within_the_limit():
    indicators = [{"id": f"cloud{n}", "kind": "ichimoku"} for n in range(16)]
    code = render(
        indicators=indicators,
        long={"entry": compare(price(), ">", ind("cloud0", "cloud_top"))},
        short={"entry": compare(price(), "<", ind("cloud0", "cloud_bottom"))},
    )
    tree = check_script(code)
    plotting = {"plot", "plotshape", "plotchar", "plotarrow", "bgcolor"}
    top_level = [
        s.value
        for s in tree.body
        if isinstance(s, pn.Expr) and isinstance(s.value, pn.Call)
    ]
    every = [n for n in pn.walk(tree) if isinstance(n, pn.Call)]
    plots = [c for c in every if dotted(c.func) in plotting]
    assert len(plots) <= 64
    assert all(any(p is t for t in top_level) for p in plots)
    assert "Limitation:" in code


def test_oscillators_on_a_price_chart_go_to_the_data_window():
    code = render(
        indicators=[{"id": "rsi", "kind": "rsi"}, {"id": "avg", "kind": "ema"}]
    )
    assert (
        'plot(rsi_value, "rsi", color=color.blue, display=display.data_window)' in code
    )
    assert 'plot(avg_value, "avg", color=color.orange)' in code
    assert "plotshape(longSignal" in code


def test_price_lines_of_a_pane_strategy_are_forced_onto_the_chart():
    code = render(
        settings={"overlay": False},
        indicators=[{"id": "rsi", "kind": "rsi"}, {"id": "avg", "kind": "ema"}],
    )
    check_script(code)
    assert 'plot(rsi_value, "rsi", color=color.blue)' in code
    assert 'plot(avg_value, "avg", color=color.orange, force_overlay=true)' in code
    assert "size=size.small, force_overlay=true)" in code
