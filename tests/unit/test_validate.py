"""The validator's public API: reports, syntax errors, clean scripts, speed."""

import json
import statistics
import threading
import time
from textwrap import dedent

from engine.validate import (
    RULES,
    LintIssue,
    ValidationReport,
    validate_script,
    validate_script_cached,
    warm_parser,
)

HEADER = (
    "// This source code is subject to the terms of the Mozilla Public License 2.0\n"
    "//@version=6\n"
    'strategy("RSI Mean Reversion", overlay=true, initial_capital=10000, '
    "default_qty_type=strategy.percent_of_equity, default_qty_value=10, "
    "currency=currency.USD, commission_type=strategy.commission.percent, "
    "commission_value=0.05, slippage=1, pyramiding=0, "
    "process_orders_on_close=false, calc_on_every_tick=false, margin_long=100, "
    "margin_short=100)\n"
)

CLEAN_STRATEGY = HEADER + dedent(
    """\
    // Inputs
    rsiLength = input.int(14, "RSI length", minval=2)
    oversold = input.float(30.0, "Oversold level")
    overbought = input.float(70.0, "Overbought level")
    atrLength = input.int(14, "ATR length", minval=1)
    stopMult = input.float(1.5, "Stop (ATR multiple)", step=0.1)
    rewardRatio = input.float(2.0, "Reward to risk")
    trendTf = input.timeframe("D", "Trend timeframe")
    useTrend = input.bool(true, "Use trend filter")
    maType = input.string("EMA", "MA type", options=["EMA", "SMA"])

    type Levels
        float stop = na
        float target = na

    method risk(Levels self) =>
        self.target - self.stop

    pctDistance(float src, float ref) =>
        ref != 0 ? (src - ref) / ref * 100 : 0.0

    // Indicators
    rsiValue = ta.rsi(close, rsiLength)
    atrValue = ta.atr(atrLength)
    emaLine = ta.ema(close, 200)
    smaLine = ta.sma(close, 200)
    htfClose = request.security("", trendTf, close[1], lookahead=barmerge.lookahead_on)
    [macdLine, signalLine, histLine] = ta.macd(close, 12, 26, 9)
    crossUp = ta.crossover(rsiValue, oversold)
    crossDown = ta.crossunder(rsiValue, overbought)

    trendMa = switch maType
        "EMA" => emaLine
        => smaLine

    // Conditions
    trendOk = not useTrend or htfClose > trendMa
    longCondition = crossUp and trendOk and histLine > 0
    exitCondition = crossDown or pctDistance(close, trendMa) > 15

    var Levels levels = Levels.new()
    var int tradeCount = 0
    var array<float> entryPrices = array.new<float>()

    if longCondition and strategy.position_size == 0
        levels.stop := close - atrValue * stopMult
        levels.target := close + (close - levels.stop) * rewardRatio
        tradeCount += 1
        entryPrices.push(close)
        strategy.entry("Long", strategy.long, comment="RSI long")
    else if exitCondition
        strategy.close("Long", comment="RSI overbought")

    for [i, price] in entryPrices
        if entryPrices.size() > 20
            entryPrices.shift()

    if strategy.position_size > 0
        strategy.exit("Exit", from_entry="Long", stop=levels.stop, limit=levels.target)

    plot(trendMa, "Trend", color=color.new(color.blue, 0), linewidth=2)
    plot(levels.stop, "Stop", color=color.red, style=plot.style_linebr)
    plotshape(longCondition, "Long", shape.triangleup, location.belowbar, color.green)
    bgcolor(strategy.position_size > 0 ? color.new(color.green, 90) : na)
    alertcondition(longCondition, "Long entry", "RSI long entry on {{ticker}}")
    """
)


def test_realistic_clean_strategy_has_no_issues():
    report = validate_script(CLEAN_STRATEGY)

    assert report.issues == [], str(report)
    assert report.ok


def test_windows_line_endings_and_bom_are_accepted():
    report = validate_script("\ufeff" + CLEAN_STRATEGY.replace("\n", "\r\n"))

    assert report.issues == [], str(report)


def test_syntax_error_becomes_an_issue_with_its_line():
    report = validate_script('//@version=6\nindicator("x")\nx = (1 +\nplot(x)\n')

    assert not report.ok
    syntax = [issue for issue in report.issues if issue.rule == "SYNTAX_ERROR"]
    assert len(syntax) == 1
    assert syntax[0].line is not None and syntax[0].line >= 3


def test_text_rules_still_run_when_parsing_fails():
    report = validate_script('//@version=5\nindicator("x")\nif close >\n')

    assert {"SYNTAX_ERROR", "WRONG_VERSION"} <= report.rules


def test_garbage_input_never_raises():
    for code in ["", "\x00\x01", "((((((((", '"unterminated', "if\n\tif\n", "=" * 50]:
        report = validate_script(code)
        assert not report.ok


def test_deeply_nested_expression_is_reported_not_raised():
    code = '//@version=6\nindicator("x")\nx = ' + "(" * 400 + "1" + ")" * 400 + "\n"

    report = validate_script(code)

    assert isinstance(report, ValidationReport)


def test_warnings_do_not_make_a_report_fail():
    report = ValidationReport([LintIssue("LINE_CONTINUATION", "wrapped", 3, "warning")])

    assert report.ok
    assert report.errors == []
    assert len(report.warnings) == 1


def test_report_serialises_to_json():
    report = validate_script('//@version=6\nindicator("x")\nplot(foo)\n')

    data = json.loads(json.dumps(report.to_dict()))

    assert data["ok"] is False
    assert data["error_count"] == 1
    assert data["issues"][0] == {
        "rule": "UNDEFINED_NAME",
        "message": "`foo` is not declared before use",
        "line": 3,
        "severity": "error",
    }


def test_issue_prints_as_line_rule_message():
    issue = LintIssue("WHEN_ARGUMENT", "no when=", 12)

    assert str(issue) == "12 WHEN_ARGUMENT no when="
    assert str(LintIssue("MISSING_DECLARATION", "none", None)).startswith("- ")


def test_issues_are_sorted_by_line():
    code = '//@version=6\nindicator("x")\nplot(b)\nplot(a)\n'

    lines = [issue.line for issue in validate_script(code).issues]

    assert lines == sorted(lines)


def test_every_emitted_rule_code_is_documented():
    code = CLEAN_STRATEGY.replace("ta.rsi(close", "rsi(close").replace(
        "//@version=6", ""
    )

    assert validate_script(code).rules <= set(RULES)


def test_warm_parser_is_idempotent_and_thread_safe():
    errors = []

    def warm():
        try:
            warm_parser()
        except Exception as exc:  # pragma: no cover - the assertion reports it
            errors.append(exc)

    threads = [threading.Thread(target=warm) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    started = time.perf_counter()
    warm_parser()
    assert errors == []
    assert time.perf_counter() - started < 0.01


def test_concurrent_validation_gives_the_same_reports():
    expected = str(validate_script(CLEAN_STRATEGY))
    results = []

    def run():
        results.append(str(validate_script(CLEAN_STRATEGY)))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == [expected] * 4


def _long_script(blocks: int) -> str:
    lines = [
        "//@version=6",
        'strategy("Speed", overlay=true)',
    ]
    for i in range(blocks):
        lines += [
            f"len{i} = input.int({i + 5}, 'Length {i}', minval=1)",
            f"fast{i} = ta.ema(close, len{i})",
            f"slow{i} = ta.sma(close, len{i} * 2)",
            f"cross{i} = ta.crossover(fast{i}, slow{i}) and volume > 0",
            f"if cross{i} and strategy.position_size == 0",
            f'    strategy.entry("L{i}", strategy.long)',
        ]
    return "\n".join(lines) + "\n"


def test_validating_150_lines_after_warm_up_is_fast():
    code = _long_script(25)
    assert len(code.splitlines()) >= 150
    warm_parser()
    validate_script(code)  # the first sight of new shapes builds parser caches

    timings = []
    for _ in range(5):
        started = time.perf_counter()
        validate_script(code)
        timings.append(time.perf_counter() - started)

    # Typically 40-70 ms; the bound leaves room for a busy CI machine.
    assert statistics.median(timings) < 0.25


def test_cached_validation_gives_the_same_verdict_as_a_fresh_parse():
    clean = '//@version=6\nstrategy("Cached")\nplot(close)\n'
    dirty = '//@version=6\nstudy("Cached")\n'

    for code in (clean, dirty, clean, dirty):
        cached, fresh = validate_script_cached(code), validate_script(code)
        assert cached.to_dict() == fresh.to_dict()
    assert validate_script_cached(clean) is not validate_script_cached(clean)
    assert not validate_script_cached(dirty).ok
