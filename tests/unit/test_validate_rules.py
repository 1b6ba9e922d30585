"""Each lint rule with a script that breaks it and one that keeps it."""

from textwrap import dedent

from engine.validate import validate_script

STRATEGY = (
    '//@version=6\nstrategy("Test", overlay=true, initial_capital=10000, '
    "default_qty_type=strategy.percent_of_equity, default_qty_value=10, "
    "currency=currency.USD, commission_type=strategy.commission.percent, "
    "commission_value=0.1, slippage=1, pyramiding=0, process_orders_on_close=false, "
    "calc_on_every_tick=false, margin_long=100, margin_short=100)\n"
)
INDICATOR = '//@version=6\nindicator("Test", overlay=true)\n'


def rules(body: str, header: str = INDICATOR) -> set[str]:
    return validate_script(header + dedent(body)).rules


def issues(body: str, rule: str, header: str = INDICATOR) -> list:
    report = validate_script(header + dedent(body))
    return [issue for issue in report.issues if issue.rule == rule]


# Declarations ---------------------------------------------------------------


def test_script_without_declaration_is_flagged():
    assert "MISSING_DECLARATION" in rules("plot(close)\n", header="//@version=6\n")


def test_second_declaration_is_flagged_on_its_line():
    found = issues('strategy("Again")\n', "MULTIPLE_DECLARATIONS")

    assert [issue.line for issue in found] == [3]


def test_single_declaration_passes():
    assert rules("plot(close)\n") == set()


def test_study_is_a_legacy_declaration():
    found = rules('study("Old")\nplot(close)\n', header="//@version=6\n")

    assert "LEGACY_NAME" in found
    assert "MISSING_DECLARATION" not in found


def test_declaration_without_title_is_flagged():
    untitled = "//@version=6\nindicator()\n"
    empty = '//@version=6\nindicator(title="")\n'

    assert "MISSING_TITLE" in rules("plot(close)\n", header=untitled)
    assert "MISSING_TITLE" in rules("plot(close)\n", header=empty)


# Version --------------------------------------------------------------------


def test_missing_version_is_flagged():
    assert "WRONG_VERSION" in rules("plot(close)\n", header='indicator("x")\n')


def test_other_version_is_flagged():
    found = issues(
        "plot(close)\n", "WRONG_VERSION", header='//@version=5\nindicator("x")\n'
    )

    assert found[0].line == 1
    assert "5" in found[0].message


def test_version_after_code_is_flagged():
    header = 'indicator("x")\n//@version=6\n'

    assert "WRONG_VERSION" in rules("plot(close)\n", header=header)


def test_version_after_header_comments_passes():
    header = '// © someone\n// licence text\n//@version=6\nindicator("x")\n'

    assert rules("plot(close)\n", header=header) == set()


# request.security lookahead -------------------------------------------------


def test_lookahead_on_without_offset_is_flagged():
    body = 'x = request.security("", "D", close, lookahead=barmerge.lookahead_on)\n'

    assert "LOOKAHEAD_WITHOUT_OFFSET" in rules(body)


def test_lookahead_on_with_offset_passes():
    body = 'x = request.security("", "D", close[1], lookahead=barmerge.lookahead_on)\n'

    assert rules(body) == set()


def test_lookahead_off_needs_no_offset():
    body = 'x = request.security("", "D", close, lookahead=barmerge.lookahead_off)\n'

    assert rules(body) == set()


def test_lookahead_tuple_needs_an_offset_on_every_element():
    body = (
        '[h, l] = request.security("", "W", [high[1], low], '
        "barmerge.gaps_off, barmerge.lookahead_on)\n"
        '[h2, l2] = request.security("", "W", [high[1], low[1]], '
        "barmerge.gaps_off, barmerge.lookahead_on)\n"
    )

    assert [issue.line for issue in issues(body, "LOOKAHEAD_WITHOUT_OFFSET")] == [3]


# Names ----------------------------------------------------------------------


def test_undeclared_identifier_is_flagged_once():
    found = issues("plot(foo)\nplot(foo * 2)\n", "UNDEFINED_NAME")

    assert len(found) == 1
    assert found[0].line == 3


def test_use_before_declaration_is_flagged():
    assert "UNDEFINED_NAME" in rules("a = b + 1\nb = 2\n")


def test_block_local_variable_is_not_visible_after_the_block():
    body = """\
    if close > open
        inner = 1
    plot(inner)
    """

    assert [issue.line for issue in issues(body, "UNDEFINED_NAME")] == [5]


def test_reassigning_an_undeclared_variable_is_flagged():
    assert "UNDEFINED_NAME" in rules("total := 1\n")


def test_unknown_builtin_member_is_flagged():
    assert "UNDEFINED_NAME" in rules("c = color.blurple\nplot(close, color=c)\n")


def test_unknown_type_is_flagged():
    assert "UNDEFINED_NAME" in rules("Widget w = na\n")


def test_declared_names_of_every_kind_pass():
    body = """\
    import TradingView/ta/7 as tvta
    type Point
        float price = na
        int index = 0
    enum Side
        buy = "Buy"
        sell = "Sell"
    scale(float value, int factor = 2) =>
        result = value * factor
        result
    [macdLine, signalLine, hist] = ta.macd(close, 12, 26, 9)
    var Point last = Point.new(close, bar_index)
    var array<float> values = array.new<float>()
    side = input.enum(Side.buy, "Side")
    for i = 0 to 3
        values.push(i * 1.0)
    for [index, value] in values
        last.price := value + index
    for value in values
        last.index += 1
    m = tvta.ema(close, 3)
    plot(scale(macdLine) + signalLine + hist + last.price + m)
    """

    assert rules(body) == set()


def test_common_builtins_are_known():
    body = """\
    a = math.max(high - low, math.abs(high - close[1])) + math.pi
    b = str.tostring(syminfo.mintick, format.mintick) + timeframe.period
    c = barstate.isconfirmed and session.ismarket and not timeframe.isintraday
    d = dayofweek == dayofweek.monday ? color.rgb(1, 2, 3) : chart.fg_color
    e = strategy.closedtrades.first_index + strategy.opentrades.capital_held
    f = ta.tr(true) + ta.vwap + ta.obv + nz(close[1], open)
    t = table.new(position.top_right, 2, 2, bgcolor=color.black, border_width=1)
    l = line.new(bar_index, high, bar_index + 1, low, style=line.style_dashed)
    l.set_extend(extend.right)
    lb = label.new(bar_index, high, "x", style=label.style_label_down)
    lb.set_size(size.tiny)
    lb.set_text("y")
    l.set_x2(bar_index + 2)
    pt = chart.point.from_index(bar_index, close)
    cur = currency.JPY
    plot(a + e + f, style=plot.style_histogram, display=display.pane)
    plotchar(c, "c", "•", location.top, d)
    hline(50, linestyle=hline.style_dotted)
    alert(b, alert.freq_once_per_bar_close)
    """

    assert rules(body) == set()


def test_user_function_shadowing_a_legacy_name_passes():
    body = """\
    rsi(float src) =>
        src * 2
    plot(rsi(close))
    """

    assert rules(body) == set()


# Functions --------------------------------------------------------------------


def test_unknown_bare_function_is_flagged():
    assert "UNKNOWN_FUNCTION" in rules("plot(foo(close))\n")


def test_unknown_namespace_function_is_flagged():
    found = issues("x = ta.smaa(close, 3)\nplot(x)\n", "UNKNOWN_FUNCTION")

    assert "ta.smaa" in found[0].message


def test_unknown_method_is_flagged():
    body = "var a = array.new<float>()\na.pushh(1.0)\n"

    assert "UNKNOWN_FUNCTION" in rules(body)


def test_user_methods_and_type_constructors_pass():
    body = """\
    type Box2
        float top
    method height(Box2 self) =>
        self.top - low
    b = Box2.new(high)
    plot(b.height())
    """

    assert rules(body) == set()


# Legacy names -------------------------------------------------------------------


def test_bare_ta_function_is_legacy():
    found = issues("x = rsi(close, 14)\nplot(x)\n", "LEGACY_NAME")

    assert "ta.rsi" in found[0].message


def test_bare_security_is_legacy():
    body = 'x = security(syminfo.tickerid, "D", close)\nplot(x)\n'

    assert "LEGACY_NAME" in rules(body)


def test_input_with_type_argument_is_legacy():
    assert "LEGACY_NAME" in rules("n = input(14, type=input.int)\nplot(n)\n")


def test_transp_argument_is_legacy():
    assert "LEGACY_NAME" in rules("plot(close, color=color.red, transp=50)\n")


def test_v6_spelling_passes():
    body = "x = ta.rsi(close, 14)\nplot(x, color=color.new(color.red, 50))\n"

    assert rules(body) == set()


# when= -------------------------------------------------------------------------


def test_when_argument_is_flagged():
    body = 'strategy.entry("L", strategy.long, when=close > open)\n'

    assert "WHEN_ARGUMENT" in rules(body, header=STRATEGY)


def test_entry_inside_if_passes():
    body = 'if close > open\n    strategy.entry("L", strategy.long)\n'

    assert rules(body, header=STRATEGY) == set()


# ta.* placement -------------------------------------------------------------


def test_ta_call_in_ternary_is_flagged():
    assert "TA_CALL_NOT_GLOBAL" in rules(
        "x = close > open ? ta.sma(close, 5) : na\nplot(x)\n"
    )


def test_ta_call_in_and_or_operand_is_flagged():
    body = "c = close > open and ta.rsi(close, 14) > 50\nplot(c ? 1 : 0)\n"

    assert "TA_CALL_NOT_GLOBAL" in rules(body)


def test_ta_call_in_if_condition_and_body_is_flagged():
    body = """\
    if ta.crossover(close, open)
        x = ta.ema(close, 3)
    """

    assert [i.line for i in issues(body, "TA_CALL_NOT_GLOBAL")] == [3, 4]


def test_ta_call_in_loops_switch_and_functions_is_flagged():
    body = """\
    for i = 0 to 3
        a = ta.sma(close, 3)
    k = 0
    while k < 2
        k += ta.change(close) > 0 ? 1 : 2
    s = switch
        close > open => ta.highest(5)
        => 0.0
    f(len) =>
        ta.atr(len)
    """

    assert len(issues(body, "TA_CALL_NOT_GLOBAL")) == 4


def test_ta_call_at_global_scope_passes():
    body = """\
    fast = ta.ema(close, 9)
    smooth = ta.sma(ta.rsi(close, 14), 3)
    crossed = ta.crossover(fast, smooth)
    plot(ta.wma(close, 5))
    if crossed
        label.new(bar_index, high, "x")
    """

    assert rules(body) == set()


# plots -----------------------------------------------------------------------


def test_plot_inside_if_is_flagged():
    assert "PLOT_NOT_GLOBAL" in rules("if close > open\n    plot(close)\n")


def test_bgcolor_inside_function_is_flagged():
    assert "PLOT_NOT_GLOBAL" in rules("f() =>\n    bgcolor(color.red)\n")


def test_plot_calls_at_global_scope_pass():
    body = "p1 = plot(close)\np2 = plot(open)\nfill(p1, p2, color=color.blue)\n"

    assert rules(body) == set()


def test_more_than_64_plots_is_flagged():
    assert "TOO_MANY_PLOTS" in rules("plot(close)\n" * 65)


def test_64_plots_pass():
    assert rules("plot(close)\n" * 64) == set()


# na ----------------------------------------------------------------------------


def test_bool_declared_as_na_is_flagged():
    assert "NA_BOOL" in rules("bool flag = na\nplot(flag ? 1 : 0)\n")


def test_bool_reassigned_to_na_is_flagged():
    body = "flag = close > open\nflag := na\nplot(flag ? 1 : 0)\n"

    assert "NA_BOOL" in rules(body)


def test_bool_from_ternary_with_na_branch_is_flagged():
    assert "NA_BOOL" in rules("bool flag = close > open ? true : na\n")


def test_na_test_on_a_bool_is_flagged():
    body = "bool flag = false\nplot(na(flag) ? 1 : 0)\n"

    assert "NA_BOOL" in rules(body)


def test_bool_parameter_defaulting_to_na_is_flagged():
    assert "NA_BOOL" in rules("f(bool on = na) =>\n    on\n")


def test_float_na_and_na_test_pass():
    body = "float level = na\nlevel := na(level) ? close : level\nplot(level)\n"

    assert rules(body) == set()


def test_comparison_with_na_is_flagged():
    assert "NA_COMPARISON" in rules("x = close == na ? 1 : 0\nplot(x)\n")
    assert "NA_COMPARISON" in rules("x = na != close ? 1 : 0\nplot(x)\n")


# int as bool ---------------------------------------------------------------------


def test_int_literal_as_condition_is_flagged():
    assert "INT_AS_BOOL" in rules("if 1\n    label.new(bar_index, high)\n")


def test_int_variable_as_condition_is_flagged():
    body = """\
    int count = 0
    limit = input.int(3, "Limit")
    ratio = 1.5
    a = count ? 1 : 0
    b = not limit
    if ratio
        label.new(bar_index, high)
    while count
        count -= 1
    """

    assert len(issues(body, "INT_AS_BOOL")) == 4


def test_numeric_builtin_as_condition_is_flagged():
    body = 'if strategy.opentrades\n    strategy.close("L")\n'

    assert "INT_AS_BOOL" in rules(body, header=STRATEGY)


def test_bool_conditions_pass():
    body = """\
    int count = 0
    up = close > open
    if up and count > 0
        count += 1
    plot(count != 0 ? 1 : 0)
    """

    assert rules(body) == set()


# Layout -----------------------------------------------------------------------


def test_two_space_block_is_flagged():
    found = issues("if close > open\n  x = 1\n", "BAD_INDENT")

    assert found[0].line == 4


def test_eight_space_block_is_flagged():
    assert "BAD_INDENT" in rules("if close > open\n        x = 1\n")


def test_tab_indent_is_flagged():
    assert "BAD_INDENT" in rules("if close > open\n\tx = 1\n")


def test_four_spaces_per_level_passes():
    body = """\
    f(x) =>
        y = x
        if y > 0
            y := 1
        else if y < 0
            y := -1
        else
            if close > open
                y := 0
        y
    s = switch
        close > open =>
            1
        => 2
    plot(f(close) + s)
    """

    assert rules(body) == set()


def test_wrapped_line_is_a_warning():
    report = validate_script(INDICATOR + "x = close +\n     open\nplot(x)\n")

    assert report.rules == {"LINE_CONTINUATION"}
    assert report.ok
    assert report.issues[0].line == 3
    assert report.issues[0].severity == "warning"


# strategy.exit -------------------------------------------------------------------


def test_exit_without_levels_is_flagged():
    body = 'strategy.entry("L", strategy.long)\nstrategy.exit("X", "L")\n'

    assert "EXIT_WITHOUT_LEVELS" in rules(body, header=STRATEGY)


def test_exit_with_incomplete_trailing_pair_is_flagged():
    body = (
        'strategy.entry("L", strategy.long)\nstrategy.exit("X", "L", trail_points=50)\n'
    )

    assert "EXIT_WITHOUT_LEVELS" in rules(body, header=STRATEGY)


def test_exit_for_unknown_entry_is_flagged():
    body = 'strategy.entry("L", strategy.long)\nstrategy.exit("X", "S", stop=low)\n'

    assert "EXIT_WITHOUT_ENTRY" in rules(body, header=STRATEGY)


def test_exit_without_from_entry_is_flagged():
    body = 'strategy.entry("L", strategy.long)\nstrategy.exit("X", stop=low)\n'

    assert "EXIT_WITHOUT_ENTRY" in rules(body, header=STRATEGY)


def test_exits_with_levels_for_known_entries_pass():
    body = """\
    strategy.entry("L", strategy.long)
    strategy.entry("S", strategy.short)
    strategy.exit("LX", "L", stop=low, limit=high)
    strategy.exit("SX", from_entry="S", trail_points=100, trail_offset=20)
    strategy.exit("LX2", "L", profit=200, loss=100)
    """

    assert rules(body, header=STRATEGY) == set()


# strategy() arguments ---------------------------------------------------------------


def test_implicit_strategy_arguments_are_a_warning():
    report = validate_script('//@version=6\nstrategy("T", overlay=true)\n')

    warning = report.issues[0]
    assert report.ok
    assert warning.rule == "STRATEGY_ARG_IMPLICIT"
    assert warning.severity == "warning"
    assert "initial_capital" in warning.message
    assert "overlay" not in warning.message


def test_positional_strategy_arguments_count_as_explicit():
    header = '//@version=6\nstrategy("T", "T", true)\n'

    message = issues("", "STRATEGY_ARG_IMPLICIT", header=header)[0].message

    assert "overlay" not in message


def test_explicit_strategy_arguments_pass():
    assert rules("", header=STRATEGY) == set()
