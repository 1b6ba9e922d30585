"""User-defined indicators: template checks, the sandbox, and use in a spec."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from engine.catalog import CATALOG, extra_indicators, get_indicator
from engine.db.indicator_models import IndicatorOverride
from engine.errors import IndicatorTemplateInvalid
from engine.library.custom_indicators import (
    CustomIndicatorDraft,
    check_custom_indicator,
    to_indicator_def,
)
from engine.library.overrides import apply_override
from engine.render import render_strategy
from engine.render_custom import TemplateProblem, render_expression
from engine.spec import parse_spec
from engine.validate import validate_script

SMOOTH_RSI = "ta.ema(ta.rsi({{ source }}, {{ length }}), {{ smooth }})"


def draft(template: str = SMOOTH_RSI, **changes) -> CustomIndicatorDraft:
    data = {
        "kind": "my_rsi_smooth",
        "name": "Smoothed RSI",
        "category": "momentum",
        "params": [
            {"name": "source", "type": "source", "default": "close"},
            {"name": "length", "type": "int", "default": 14, "min": 2, "max": 200},
            {"name": "smooth", "type": "int", "default": 5, "min": 1, "max": 50},
        ],
        "template": template,
    }
    return CustomIndicatorDraft.model_validate({**data, **changes})


def spec_with(kind: str, **params) -> dict:
    return {
        "name": "Custom RSI dip",
        "indicators": [{"id": "srsi", "kind": kind, "params": params}],
        "long": {
            "entry": {
                "type": "cross",
                "direction": "above",
                "left": {"type": "indicator", "id": "srsi"},
                "right": {"type": "number", "value": 30},
            }
        },
    }


def refusal(template: str, **changes) -> str:
    with pytest.raises(IndicatorTemplateInvalid) as caught:
        check_custom_indicator("my_rsi_smooth", draft(template, **changes))
    assert caught.value.code == "INDICATOR_TEMPLATE_INVALID"
    assert caught.value.http_status == 422
    return caught.value.details["problem"]


def test_a_good_template_renders_into_a_clean_script():
    code = check_custom_indicator("my_rsi_smooth", draft())

    assert "ind_value = ta.ema(ta.rsi(ind_source, ind_length), ind_smooth)" in code
    assert validate_script(code).ok


def test_a_template_that_does_not_parse_is_refused():
    problem = refusal("ta.ema(ta.rsi({{ source }}, {{ length }}), {{ smooth }}")

    assert problem.startswith("the Pine expression does not parse")


def test_a_template_that_lints_dirty_is_refused_with_the_issues():
    with pytest.raises(IndicatorTemplateInvalid) as caught:
        check_custom_indicator(
            "my_rsi_smooth",
            draft("ta.ema({{ source }}, {{ length }}) * missing + {{ smooth }}"),
        )
    assert caught.value.details["issues"][0]["rule"] == "UNDEFINED_NAME"


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__ }}",
        "{{ source.__class__.__mro__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ lipsum() }}",
        "{% for x in [1] %}{{ x }}{% endfor %}",
        "{{ source|attr('__class__') }}",
    ],
)
def test_templates_that_reach_past_placeholders_are_refused(template):
    assert "allowed" in refusal(template, params=[])


def test_the_sandbox_itself_refuses_unsafe_attributes():
    # Behind the syntax check, the render runs in Jinja's sandbox.
    from engine.render_custom import _SANDBOX

    with pytest.raises(Exception) as caught:
        _SANDBOX.from_string("{{ ''.__class__.__mro__ }}").render()
    assert (
        "unsafe" in str(caught.value) or "SecurityError" in type(caught.value).__name__
    )


def test_unknown_placeholders_and_unused_params_are_named():
    assert "unknown placeholder 'width'" in refusal("ta.sma({{ width }}, 3)")
    assert "'smooth' is not used" in refusal("ta.rsi({{ source }}, {{ length }})")


def test_calls_with_effects_are_refused():
    problem = refusal(
        "request.security(syminfo.tickerid, 'D', {{ source }})"
        " + {{ length }} + {{ smooth }}"
    )
    assert "may call only" in problem and "request.security" in problem


def test_several_outputs_need_a_tuple_of_that_size():
    bands = {
        "params": [{"name": "length", "type": "int", "default": 20, "min": 1}],
        "outputs": ["middle", "upper", "lower"],
        "overlay": True,
    }
    code = check_custom_indicator(
        "my_bands", draft("ta.bb(close, {{ length }}, 2.5)", **bands)
    )
    assert "[ind_middle, ind_upper, ind_lower] = ta.bb(" in code

    problem = refusal("ta.sma(close, {{ length }})", **bands)
    assert "returns 1 value(s) but 3 output(s)" in problem


def test_a_definition_with_bad_params_never_reaches_the_template():
    with pytest.raises(ValidationError, match="default is above max"):
        draft(params=[{"name": "length", "type": "int", "default": 500, "max": 100}])
    with pytest.raises(ValidationError, match="built-in indicator kind"):
        draft(kind="rsi")


def test_render_expression_substitutes_input_variables_only():
    text = render_expression("ta.sma({{ src }}, {{ n }})", {"src": "a_src", "n": "a_n"})

    assert text == "ta.sma(a_src, a_n)"
    with pytest.raises(TemplateProblem):
        render_expression("{{ n }}\n{{ n }}", {"n": "x"})


def test_a_spec_can_use_a_custom_kind_only_inside_its_context():
    entry = to_indicator_def("my_rsi_smooth", draft())
    with pytest.raises(ValidationError, match="unknown indicator kind"):
        parse_spec(spec_with("my_rsi_smooth"))

    with extra_indicators([entry]):
        spec = parse_spec(spec_with("my_rsi_smooth", length=21))
        code = render_strategy(spec)
        with pytest.raises(ValidationError, match="at most 200"):
            parse_spec(spec_with("my_rsi_smooth", length=500))

    assert "srsi_value = ta.ema(ta.rsi(srsi_source, srsi_length), srsi_smooth)" in code
    assert "srsi_length = input.int(21" in code
    assert validate_script(code).ok
    assert get_indicator("my_rsi_smooth") is None


def test_a_custom_kind_renders_on_a_higher_timeframe_too():
    entry = to_indicator_def("my_rsi_smooth", draft())
    data = spec_with("my_rsi_smooth")
    data["indicators"][0]["timeframe"] = "D"

    with extra_indicators([entry]):
        code = render_strategy(parse_spec(data))

    assert "srsi_value_raw = ta.ema(" in code
    assert (
        "request.security(syminfo.tickerid, srsi_timeframe, srsi_value_raw[1]" in code
    )
    assert validate_script(code).ok


def test_an_override_changes_defaults_and_bounds_in_its_context():
    row = IndicatorOverride(
        kind="rsi", description="Tuned", params={"length": {"default": 21, "max": 50}}
    )
    tuned = apply_override(CATALOG["rsi"], row)

    with extra_indicators([tuned]):
        code = render_strategy(parse_spec(spec_with("rsi")))
        with pytest.raises(ValidationError, match="at most 50"):
            parse_spec(spec_with("rsi", length=60))

    assert "srsi_length = input.int(21" in code
    assert CATALOG["rsi"].param("length").default == 14
