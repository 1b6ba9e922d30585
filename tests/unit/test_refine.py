"""The offline composer's refinements: edits it understands, and coded refusals."""

from __future__ import annotations

import pytest

from engine.composer import compose_spec
from engine.composer.refine import refine_spec
from engine.errors import ComposeError
from engine.render import render_strategy
from engine.spec import spec_to_data
from engine.validate import validate_script

BASE = "Long when RSI 14 crosses above 30, short when RSI crosses below 70, stop 2%"


@pytest.fixture(scope="module")
def base():
    return compose_spec(BASE)


def _refined(base, instruction):
    return spec_to_data(refine_spec(instruction, base))


def test_a_trailing_stop_is_added_and_the_rest_is_kept(base):
    new = _refined(base, "add a 2% trailing stop")

    assert new["risk"]["trailing"]["type"] == "percent"
    assert new["risk"]["trailing"]["value"] == 2
    old = spec_to_data(base)
    assert {k: v for k, v in new.items() if k != "risk"} == {
        k: v for k, v in old.items() if k != "risk"
    }
    assert new["risk"]["stop"] == old["risk"]["stop"]


@pytest.mark.parametrize(
    "instruction, path, expected",
    [
        ("stop loss 1.5%", ("risk", "stop", "value"), 1.5),
        ("take profit 3%", ("risk", "take_profit", "value"), 3),
        ("take profit 2:1", ("risk", "take_profit", "type"), "rr"),
        ("2:1", ("risk", "take_profit", "value"), 2),
        ("add alerts", ("alerts", "on_entry"), True),
        ("only trade 09:30-16:00", ("session", "session"), "0930-1600"),
        ("commission 0.1%", ("settings", "commission_percent"), 0.1),
    ],
)
def test_single_edits_land_where_they_belong(base, instruction, path, expected):
    value = _refined(base, instruction)
    for key in path:
        value = value[key]

    assert value == expected


def test_only_long_and_only_short_drop_the_other_side(base):
    assert _refined(base, "only long")["short"] is None
    assert _refined(base, "only short")["long"] is None


def test_a_trend_filter_adds_an_indicator_and_narrows_one_side(base):
    new = _refined(base, "only short below the 200 EMA")

    assert {"id": "ema_200", "kind": "ema", "params": {"length": 200}} in [
        {k: v for k, v in use.items() if k != "timeframe"} for use in new["indicators"]
    ]
    short = new["short"]["entry"]
    assert short["type"] == "all"
    assert short["conditions"][0] == spec_to_data(base)["short"]["entry"]
    assert short["conditions"][1]["op"] == "<"
    assert new["long"] == spec_to_data(base)["long"]
    assert validate_script(
        render_strategy(refine_spec("only short below the 200 EMA", base))
    ).ok


def test_an_existing_matching_indicator_is_reused(base):
    once = refine_spec("only short below the 200 EMA", base)
    twice = spec_to_data(refine_spec("only long above the EMA 200", once))

    assert [use["id"] for use in twice["indicators"]] == ["rsi", "ema_200"]


def test_a_length_change_renames_an_id_that_names_the_length(base):
    with_ema = refine_spec("only short below the 200 EMA", base)

    new = spec_to_data(refine_spec("change EMA length to 100", with_ema))

    assert new["indicators"][1]["id"] == "ema_100"
    assert new["short"]["entry"]["conditions"][1]["right"]["id"] == "ema_100"
    assert _refined(base, "change RSI length to 21")["indicators"][0]["params"] == {
        "length": 21
    }


def test_several_edits_in_one_instruction(base):
    new = _refined(base, "please add alerts, take profit 3% and only long")

    assert new["alerts"]["on_exit"] is True
    assert new["risk"]["take_profit"]["value"] == 3
    assert new["short"] is None


def test_removals(base):
    trailing = refine_spec("add a 2% trailing stop", base)

    assert (
        spec_to_data(refine_spec("remove the trailing stop", trailing))["risk"][
            "trailing"
        ]
        is None
    )
    assert _refined(base, "no stop loss")["risk"]["stop"] is None


def test_the_current_spec_is_left_untouched(base):
    before = spec_to_data(base)

    refine_spec("only long above the 50 SMA and take profit 4%", base)

    assert spec_to_data(base) == before


@pytest.mark.parametrize(
    "instruction, code, words",
    [
        ("make it better", "NO_SUPPORTED_RULE", "make it better"),
        ("add a 2% trailing stop and buy the dip", "NO_SUPPORTED_RULE", "buy dip"),
        ("change EMA length to 50", "REQUEST_TOO_VAGUE", "EMA"),
        ("change RSI length to 6000", "INVALID_PARAMETERS", "5000"),
        ("only short below the RSI", "NO_SUPPORTED_RULE", "price scale"),
        ("remove the stop loss and take profit 2:1", "REQUEST_TOO_VAGUE", "stop"),
        ("stop 2", "REQUEST_TOO_VAGUE", "no unit"),
        ("", "REQUEST_TOO_VAGUE", "Say what to change"),
        ("x" * 1001, "REQUEST_TOO_LONG", "1001"),
    ],
)
def test_what_it_cannot_do_is_refused_with_a_code(base, instruction, code, words):
    with pytest.raises(ComposeError) as caught:
        refine_spec(instruction, base)

    assert caught.value.code == code
    assert words in caught.value.message


def test_a_side_the_strategy_lacks_cannot_be_narrowed():
    long_only = compose_spec("Buy when RSI 14 crosses above 30, long only")

    with pytest.raises(ComposeError) as caught:
        refine_spec("only short below the 200 EMA", long_only)

    assert "no short entry" in caught.value.message
