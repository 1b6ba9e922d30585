"""The offline composer: phrasings it reads, and what it refuses to make up."""

from __future__ import annotations

import contextlib
import random
import re
import time

import pytest

from engine.composer import MAX_REQUEST_CHARS, compose_spec
from engine.errors import ComposeError
from engine.spec import StrategySpec

CODES = {
    "REQUEST_TOO_LONG",
    "REQUEST_TOO_VAGUE",
    "NO_SUPPORTED_RULE",
    "INVALID_PARAMETERS",
}


def describe(condition) -> str:
    """A condition as short text: `cross_above(rsi.value, 30)`, `close > ema.value`."""
    if condition is None:
        return "-"
    data = condition if isinstance(condition, dict) else condition.model_dump()

    def operand(o: dict) -> str:
        if o["type"] == "number":
            return f"{o['value']:g}"
        text = o["source"] if o["type"] == "price" else f"{o['id']}.{o['output']}"
        if o.get("offset"):
            text += f"[{o['offset']}]"
        if o.get("scale", 1) != 1:
            text += f"*{o['scale']:g}"
        return text

    kind = data["type"]
    if kind in ("all", "any"):
        return f"{kind}({', '.join(describe(c) for c in data['conditions'])})"
    if kind == "cross":
        left, right = operand(data["left"]), operand(data["right"])
        return f"cross_{data['direction']}({left}, {right})"
    if kind == "compare":
        return f"{operand(data['left'])} {data['op']} {operand(data['right'])}"
    return f"{data['direction']}({operand(data['operand'])}, {data['bars']})"


def entry(spec: StrategySpec, side: str = "long") -> str:
    return describe(getattr(spec, side).entry)


def exit_(spec: StrategySpec, side: str = "long") -> str:
    return describe(getattr(spec, side).exit)


def sides(spec: StrategySpec) -> list[str]:
    return [name for name, _ in spec.sides()]


def params(spec: StrategySpec, kind: str) -> list[dict]:
    return [use.resolved_params() for use in spec.indicators if use.kind == kind]


def refusal(request: str, options: dict | None = None) -> ComposeError:
    with pytest.raises(ComposeError) as caught:
        compose_spec(request, options)
    return caught.value


# ---------------------------------------------------------------- indicators


@pytest.mark.parametrize(
    "written",
    ["RSI(14)", "RSI 14", "14-period RSI", "RSI length 14", "RSI with a period of 14"],
)
def test_indicator_lengths_are_read_in_every_common_form(written):
    spec = compose_spec(f"buy when {written} crosses above 30")

    assert params(spec, "rsi")[0]["length"] == 14
    assert entry(spec) == "cross_above(rsi.value, 30)"


def test_a_bare_mention_reuses_the_nearest_one_with_numbers():
    spec = compose_spec("go long when MFI(14) < 20 and exit when MFI > 80")

    assert [use.id for use in spec.indicators] == ["mfi"]
    assert exit_(spec) == "mfi.value > 80"


@pytest.mark.parametrize(
    "request_text",
    [
        "EMA 9 / EMA 21 crossover",
        "EMA 9/21 crossover",
        "EMA 21 and EMA 9 cross",
        "9/21 EMA crossover",
    ],
)
def test_two_averages_cross_fast_over_slow(request_text):
    spec = compose_spec(request_text)

    assert entry(spec) == "cross_above(ema_9.value, ema_21.value)"


def test_lengths_written_before_the_name_belong_to_it():
    spec = compose_spec("buy when 5 EMA crosses above 13 EMA and price above 200 SMA")

    assert entry(spec) == (
        "all(cross_above(ema_5.value, ema_13.value), close > sma.value)"
    )
    assert params(spec, "sma")[0]["length"] == 200


@pytest.mark.parametrize(
    "written",
    [
        "Bollinger Bands (20, 2)",
        "Bollinger Bands 20 2",
        "Bollinger Bands 20 period 2 standard deviations",
    ],
)
def test_bollinger_bands_read_length_and_multiplier(written):
    spec = compose_spec(f"long when close crosses above the lower band of {written}")

    assert (params(spec, "bb")[0]["length"], params(spec, "bb")[0]["mult"]) == (20, 2)
    assert entry(spec) == "cross_above(close, bb.lower)"


@pytest.mark.parametrize("written", ["Supertrend 10 3", "Supertrend(3, 10)"])
def test_supertrend_reads_atr_length_and_factor_in_either_order(written):
    spec = compose_spec(f"{written} flip, long and short")

    assert params(spec, "supertrend")[0] == {"factor": 3, "atr_length": 10}
    assert entry(spec) == "cross_below(supertrend.direction, 0)"
    assert entry(spec, "short") == "cross_above(supertrend.direction, 0)"


def test_macd_histogram_turning_positive_and_negative_crosses_zero():
    spec = compose_spec(
        "MACD histogram turns positive -> long. Exit when histogram turns negative."
    )

    assert entry(spec) == "cross_above(macd.hist, 0)"
    assert exit_(spec) == "cross_below(macd.hist, 0)"


def test_stochastic_k_crossing_d_takes_its_direction_from_the_side():
    spec = compose_spec(
        "Stochastic %K crosses %D below 20 for longs, above 80 for shorts"
    )

    assert entry(spec) == "all(cross_above(stoch.k, stoch.d), stoch.k < 20)"
    assert entry(spec, "short") == "all(cross_below(stoch.k, stoch.d), stoch.k > 80)"


def test_williams_r_oversold_bounce_crosses_back_above_the_level():
    spec = compose_spec("Williams %R(14) oversold bounce below -80 for longs")

    assert entry(spec) == "cross_above(willr.value, -80)"


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("buy when RSI is oversold", "rsi.value < 30"),
        ("buy when RSI is overbought", "rsi.value > 70"),
        ("buy when MFI is oversold", "mfi.value < 20"),
        ("buy when CCI is oversold", "cci.value < -100"),
        ("buy when Williams %R is oversold", "willr.value < -80"),
    ],
)
def test_oversold_and_overbought_use_each_indicators_usual_level(
    request_text, expected
):
    assert entry(compose_spec(request_text)) == expected


def test_donchian_breakout_compares_with_the_previous_bars_channel():
    spec = compose_spec("Donchian channel 20 breakout, exit on 10 bar low")

    assert entry(spec) == "cross_above(close, donchian_20.upper[1])"
    assert exit_(spec) == "close < donchian_10.lower[1]"


def test_highest_high_of_the_last_bars_is_taken_one_bar_back():
    spec = compose_spec(
        "buy if close > highest high of last 20 bars, "
        "sell if close < lowest low of last 10 bars"
    )

    assert entry(spec) == "close > highest.value[1]"
    assert exit_(spec) == "close < lowest.value[1]"


def test_ichimoku_cloud_and_lines_are_its_outputs():
    spec = compose_spec(
        "Ichimoku: long when price is above the cloud and tenkan crosses above kijun"
    )

    assert entry(spec) == (
        "all(close > ichimoku.cloud_top, cross_above(ichimoku.tenkan, ichimoku.kijun))"
    )


def test_below_the_cloud_means_below_its_bottom():
    spec = compose_spec("short when price is below the Ichimoku cloud")

    assert entry(spec, "short") == "close < ichimoku.cloud_bottom"


def test_touching_the_upper_keltner_channel_uses_the_high():
    spec = compose_spec("Short only: price touches the upper Keltner channel")

    assert entry(spec, "short") == "high >= keltner.upper"


def test_parabolic_sar_flip_trades_both_ways():
    spec = compose_spec("Parabolic SAR flip strategy, long and short")

    assert entry(spec) == "cross_above(close, psar.value)"
    assert entry(spec, "short") == "cross_below(close, psar.value)"


def test_vwap_and_adx_threshold():
    spec = compose_spec("Long when price closes above VWAP and ADX(14) > 25")

    assert entry(spec) == "all(close > vwap.value, adx.adx > 25)"


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("MFI(14) < 20 -> long", "mfi.value < 20"),
        ("CCI(20) crosses above -100 -> long", "cross_above(cci.value, -100)"),
        ("ROC(9) crosses above zero to go long", "cross_above(roc.value, 0)"),
        ("OBV rising for 3 bars -> long", "rising(obv.value, 3)"),
        ("long when +DI crosses above -DI", "cross_above(adx.plus_di, adx.minus_di)"),
        ("buy when MACD crosses above signal", "cross_above(macd.macd, macd.signal)"),
        (
            "buy when Stoch RSI %K crosses above %D",
            "cross_above(stochrsi.k, stochrsi.d)",
        ),
        ("buy when RSI between 40 and 60", "all(rsi.value > 40, rsi.value < 60)"),
        ("go long when close is 2% above the 20 EMA", "close > ema.value*1.02"),
        ("buy when RSI < 30 or MFI < 20", "any(rsi.value < 30, mfi.value < 20)"),
    ],
)
def test_single_rules(request_text, expected):
    assert entry(compose_spec(request_text)) == expected


def test_volume_multiple_of_its_average_scales_a_volume_sma():
    spec = compose_spec("long when volume is 2x its 20-bar average and close is green")

    assert params(spec, "sma")[0] == {"source": "volume", "length": 20}
    assert entry(spec) == "all(volume >= sma.value*2, close > open)"


def test_golden_and_death_cross_default_to_the_50_and_200_sma():
    spec = compose_spec("golden cross long, death cross short")

    assert entry(spec) == "cross_above(sma_50.value, sma_200.value)"
    assert entry(spec, "short") == "cross_below(sma_50.value, sma_200.value)"


def test_golden_cross_uses_the_averages_the_request_names():
    spec = compose_spec("EMA 9 / EMA 21: go long on golden cross")

    assert entry(spec) == "cross_above(ema_9.value, ema_21.value)"


def test_an_average_of_an_indicator_is_refused_not_read_as_price():
    error = refusal("buy when OBV crosses above its 20 SMA")

    assert error.code == "NO_SUPPORTED_RULE"
    assert "price or volume" in error.message


# --------------------------------------------------------------------- exits


def test_sell_after_buy_in_a_long_only_request_is_an_exit():
    spec = compose_spec(
        "Buy when RSI(14) crosses above 30, sell when it crosses below 70. Long only."
    )

    assert sides(spec) == ["long"]
    assert exit_(spec) == "cross_below(rsi.value, 70)"
    assert spec.name == "RSI 14 cross 30/70"


def test_sell_with_shorts_in_play_is_a_short_entry():
    spec = compose_spec("Long and short: buy when RSI < 30, sell when RSI > 70")

    assert entry(spec, "short") == "rsi.value > 70"
    assert spec.long.exit is None


def test_sell_alone_is_a_short_entry():
    spec = compose_spec("sell when RSI > 70")

    assert sides(spec) == ["short"]


def test_exit_at_the_middle_band_is_reached_by_the_high():
    spec = compose_spec(
        "Bollinger Bands (20, 2): long when close crosses back above the lower band, "
        "exit at the middle band"
    )

    assert exit_(spec) == "high >= bb.middle"


def test_several_exit_clauses_are_alternatives():
    spec = compose_spec(
        "buy when RSI < 30, exit when RSI > 70, exit on close below EMA 50"
    )

    assert exit_(spec) == "any(rsi.value > 70, close < ema.value)"


# ---------------------------------------------------------------------- risk


@pytest.mark.parametrize(
    ("written", "kind", "value"),
    [
        ("stop 2%", "percent", 2),
        ("1.5% stop loss", "percent", 1.5),
        ("3 percent stop", "percent", 3),
        ("2 ATR stop", "atr", 2),
        ("stop at 1.5 ATR", "atr", 1.5),
        ("ATR(14) x2 stop", "atr", 2),
    ],
)
def test_stop_phrasings(written, kind, value):
    spec = compose_spec(f"buy when RSI < 30, {written}")

    assert (spec.risk.stop.type, spec.risk.stop.value) == (kind, value)


def test_atr_stop_keeps_its_atr_length():
    spec = compose_spec("buy when RSI < 30 with a 1.5 ATR(10) stop")

    assert (spec.risk.stop.value, spec.risk.stop.atr_length) == (1.5, 10)


@pytest.mark.parametrize(
    ("written", "kind", "value"),
    [
        ("take profit 3%", "percent", 3),
        ("2% target", "percent", 2),
        ("2:1", "rr", 2),
        ("2:1 risk reward", "rr", 2),
        ("1:3 risk to reward", "rr", 3),
        ("take profit at 2 ATR", "atr", 2),
    ],
)
def test_take_profit_phrasings(written, kind, value):
    spec = compose_spec(f"buy when RSI < 30, stop 1%, {written}")

    assert (spec.risk.take_profit.type, spec.risk.take_profit.value) == (kind, value)


def test_stop_and_target_written_value_first_are_both_read():
    spec = compose_spec("buy when RSI < 30, 1% stop 2% target")

    assert (spec.risk.stop.value, spec.risk.take_profit.value) == (1, 2)


def test_trailing_stop_is_not_read_as_a_stop():
    spec = compose_spec("buy when RSI < 30, trailing stop 2%")

    assert spec.risk.stop is None
    assert (spec.risk.trailing.type, spec.risk.trailing.value) == ("percent", 2)


def test_sizing_commission_and_pyramiding():
    spec = compose_spec(
        "Use 10% of equity per trade with 0.1% commission, pyramiding up to 3 "
        "entries; go long when RSI < 30"
    )

    sizing = spec.settings.sizing
    assert (sizing.type, sizing.value) == ("percent_of_equity", 10)
    assert spec.settings.commission_percent == 0.1
    assert spec.settings.pyramiding == 3


def test_a_risk_reward_target_without_a_stop_is_refused():
    error = refusal("buy when RSI < 30, 2:1 risk reward")

    assert error.code == "REQUEST_TOO_VAGUE"
    assert "stop" in error.message


def test_a_stop_without_a_unit_is_refused_not_guessed():
    error = refusal("buy when RSI < 30, stop 2")

    assert error.code == "REQUEST_TOO_VAGUE"
    assert "'stop 2'" in error.message


def test_out_of_range_stop_is_named_in_the_users_words():
    error = refusal("buy when RSI < 30, stop 0%")

    assert error.code == "INVALID_PARAMETERS"
    assert error.details["errors"][0]["text"] == "stop 0%"


# ------------------------------------------------------------ time and sides


def test_new_york_session_reads_window_and_timezone():
    spec = compose_spec(
        "Only trade the New York session 09:30-16:00: buy when 5 EMA crosses above "
        "13 EMA, flat at session end"
    )

    assert (spec.session.session, spec.session.timezone) == (
        "0930-1600",
        "America/New_York",
    )
    assert spec.session.close_at_end


def test_session_in_am_pm_with_a_timezone():
    spec = compose_spec("trade 9:30am-4pm UTC, buy when close crosses above VWAP")

    assert (spec.session.session, spec.session.timezone) == ("0930-1600", "UTC")


def test_flat_at_session_end_without_a_session_asks_for_one():
    error = refusal("buy when RSI < 30, flat at session end")

    assert error.code == "REQUEST_TOO_VAGUE"


def test_date_range_between_two_dates():
    spec = compose_spec(
        "ROC(9) crosses above zero to go long. Only between 2022-01-01 and 2024-12-31."
    )

    assert (spec.date_range.start.isoformat(), spec.date_range.end.isoformat()) == (
        "2022-01-01",
        "2024-12-31",
    )


def test_reversed_dates_are_refused():
    error = refusal("buy when RSI < 30 between 2024-01-01 and 2022-01-01")

    assert error.code == "INVALID_PARAMETERS"


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("EMA 9/21 crossover", ["long"]),
        ("EMA 9/21 crossover, long only", ["long"]),
        ("EMA 9/21 crossover, short only", ["short"]),
        ("EMA 9/21 crossover, long and short", ["long", "short"]),
        ("EMA 9/21 crossover, flip long/short", ["long", "short"]),
    ],
)
def test_sides(request_text, expected):
    assert sides(compose_spec(request_text)) == expected


def test_a_rule_for_both_sides_is_mirrored_for_shorts():
    spec = compose_spec(
        "Long and short: RSI crosses above 30 and close above the 200 SMA and ADX > 25"
    )

    assert entry(spec, "short") == (
        "all(cross_below(rsi.value, 70), close < sma.value, adx.adx > 25)"
    )


def test_both_sides_with_only_a_long_rule_asks_for_the_short_one():
    error = refusal("Buy when RSI crosses above 30. Long and short.")

    assert error.code == "REQUEST_TOO_VAGUE"
    assert error.details["missing_side"] == "short"


def test_daily_trend_filter_on_an_hourly_chart_reads_a_higher_timeframe():
    spec = compose_spec(
        "Daily 50 SMA as trend filter on a 1h chart: long pullbacks when RSI(2) < 10 "
        "and close is above the daily 50 SMA, exit when RSI(2) > 70"
    )

    assert [(u.kind, u.timeframe) for u in spec.indicators] == [
        ("sma", "D"),
        ("rsi", None),
    ]
    assert entry(spec) == "all(close > sma_d.value, rsi.value < 10)"


def test_weekly_ema_filter():
    spec = compose_spec("buy when RSI < 30, weekly EMA 20 uptrend filter")

    assert spec.indicators[-1].timeframe == "W"


def test_higher_timeframe_filter_with_chart_timeframe_entries():
    spec = compose_spec(
        "4h MACD line above signal as filter, 15m MACD cross for entries"
    )

    assert sorted((u.kind, u.timeframe or "") for u in spec.indicators) == [
        ("macd", ""),
        ("macd", "240"),
    ]


def test_a_filter_on_the_charts_own_timeframe_needs_no_timeframe():
    spec = compose_spec("daily 50 SMA filter, buy when RSI < 30", {"timeframe": "D"})

    assert all(use.timeframe is None for use in spec.indicators)


def test_a_timeframe_below_the_charts_is_refused():
    error = refusal("buy when 4h RSI < 30", {"timeframe": "D"})

    assert error.code == "INVALID_PARAMETERS"


@pytest.mark.parametrize(
    ("written", "on_entry", "on_exit"),
    [("with alerts on every entry", True, False), ("with alerts", True, True)],
)
def test_alerts(written, on_entry, on_exit):
    spec = compose_spec(f"buy when RSI < 30, {written}")

    assert (spec.alerts.on_entry, spec.alerts.on_exit) == (on_entry, on_exit)


# ---------------------------------------------------------- name and details


def test_quoted_name_becomes_the_spec_name_as_text():
    spec = compose_spec('Strategy named "My \\"best\\" idea": buy when RSI < 30')

    assert spec.name == 'My "best" idea'


def test_generated_name_uses_the_symbol_option():
    spec = compose_spec("buy when RSI(14) crosses above 30", {"symbol": "BTCUSD"})

    assert spec.name == "BTCUSD RSI 14 cross 30"


def test_description_is_the_request_trimmed_to_500_characters():
    request = "buy when RSI < 30. " + "Notes " * 200

    spec = compose_spec(request)

    assert len(spec.description) == 500
    assert spec.description.startswith("buy when RSI < 30.")


# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    "request_text", ["buy low sell high", "make money fast", "", "   ", "asdf"]
)
def test_never_invents_a_strategy(request_text):
    error = refusal(request_text)

    assert error.code in ("REQUEST_TOO_VAGUE", "NO_SUPPORTED_RULE")
    assert "buy when RSI(14) crosses above 30" in error.message


def test_too_vague_asks_for_an_entry_rule():
    error = refusal("Make me rich")

    assert error.code == "REQUEST_TOO_VAGUE"
    assert error.message.startswith("Say when to enter")


def test_an_indicator_without_a_rule_asks_for_the_rule():
    error = refusal("RSI strategy")

    assert error.code == "REQUEST_TOO_VAGUE"
    assert "RSI" in error.message


def test_an_unknown_rule_lists_supported_indicators():
    error = refusal("Buy when the moon is full")

    assert error.code == "NO_SUPPORTED_RULE"
    assert "RSI" in error.message and "Bollinger Bands" in error.message


def test_an_unreadable_part_of_a_rule_is_refused_not_dropped():
    error = refusal("buy when RSI < 30 and the moon is full")

    assert error.code == "NO_SUPPORTED_RULE"
    assert "the moon is full" in error.message


def test_invalid_parameters_name_every_bad_value_with_its_bounds():
    error = refusal("RSI length 0 and EMA length -5")

    assert error.code == "INVALID_PARAMETERS"
    assert "RSI length 0" in error.message and "EMA length -5" in error.message
    assert [(e["min"], e["max"]) for e in error.details["errors"]] == [
        (1, 5000),
        (1, 5000),
    ]


def test_an_over_long_request_is_refused_before_reading():
    error = refusal("buy when RSI < 30 " * 200)

    assert error.code == "REQUEST_TOO_LONG"
    assert error.http_status == 422
    assert isinstance(error, ComposeError)
    assert error.details["max_length"] == MAX_REQUEST_CHARS


# ------------------------------------------------------------------- hostile


def test_control_characters_are_ignored():
    spec = compose_spec("buy when\x00 RSI(14)\x1b crosses above 30\r\n\u202e")

    assert entry(spec) == "cross_above(rsi.value, 30)"
    assert all(ch.isprintable() for ch in spec.description)


def test_pine_injection_in_the_name_stays_plain_text():
    payload = 'x"); strategy.entry("hack", strategy.long) //'
    escaped = payload.replace('"', '\\"')
    request = f'named "{escaped}": buy when RSI < 30'

    spec = compose_spec(request)

    assert spec.name == payload
    try:
        from engine.render import render_strategy
        from engine.validate import validate_script
    except ImportError:  # pragma: no cover - only while the renderer is built
        return
    code = render_strategy(spec)
    statements = [line for line in code.splitlines() if not line.startswith("//")]
    assert not any('strategy.entry("hack"' in line for line in statements)
    assert validate_script(code).ok


def test_hostile_long_inputs_are_read_quickly():
    inputs = [
        "1" * 2000,
        "(" * 2000,
        "rsi " * 500,
        " " * 1990 + "rsi < 30",
        'named "' + '\\"' * 990 + '"',
        "9:30-" * 400,
        "buy when RSI < 30 and " * 90,
    ]
    for request in inputs:
        started = time.perf_counter()
        with contextlib.suppress(ComposeError):
            compose_spec(request[:MAX_REQUEST_CHARS])
        assert time.perf_counter() - started < 1.0, request[:20]


def test_too_many_conditions_are_refused_in_words():
    clauses = " and ".join(f"close > {n}" for n in range(1, 13))

    error = refusal(f"buy when {clauses}")

    assert error.code == "INVALID_PARAMETERS"
    assert "too many conditions" in error.message


def test_exactly_the_maximum_length_is_read_not_refused_as_too_long():
    error = refusal("x" * MAX_REQUEST_CHARS)

    assert error.code == "REQUEST_TOO_VAGUE"


def test_any_word_salad_gives_a_valid_spec_or_a_coded_error():
    vocabulary = (
        "buy sell long short exit when and or above below crosses turns positive "
        "rising for bars RSI EMA SMA MACD histogram signal Bollinger upper lower band "
        "Supertrend ATR stop take profit trailing % x 2:1 VWAP ADX +DI MFI CCI OBV "
        "%K %D Ichimoku cloud tenkan kijun Keltner Donchian SAR golden close volume "
        "its 20-bar 10 bar low of the last daily 4h session 09:30-16:00 -> ( ) , . "
        'named " oversold breakout flip green is it 14 30 -100 200 1.5 0 -5 length'
    )
    words = re.findall(r"\S+", vocabulary)
    rng = random.Random(20240601)

    for _ in range(300):
        request = " ".join(rng.choice(words) for _ in range(rng.randint(1, 20)))
        try:
            spec = compose_spec(request)
        except ComposeError as error:
            assert error.code in CODES
        else:
            assert StrategySpec.model_validate(spec.model_dump()) == spec
