"""run_refinement: the LLM sees the current spec; the offline composer edits it."""

from __future__ import annotations

import json

import pytest

from engine.errors import SpecInvalid
from engine.pipeline import run_refinement
from engine.providers.config import ProviderSettings
from engine.spec import parse_spec, spec_to_data
from tests.fakes.llm_server import SAMPLE_SPEC, answer
from tests.fakes.providers import OPENAI_KEY

pytest_plugins = ["tests.llm_fixtures"]


def _stages():
    seen = []
    return seen, lambda stage, progress: seen.append(stage)


def _settings(server=None, offline=True) -> ProviderSettings:
    values = {"llm_providers": [], "llm_offline_fallback": offline}
    if server is not None:
        values["llm_providers"] = ["openai"]
        values["openai"] = {
            "base_url": server.openai_url,
            "api_key": OPENAI_KEY,
            "model": "gpt-test",
            "timeout": 5,
        }
    return ProviderSettings(**values)


def test_the_model_gets_the_current_spec_and_the_instruction(llm_server, llm_redis):
    refined = {
        **SAMPLE_SPEC,
        "risk": {**SAMPLE_SPEC["risk"], "take_profit": {"type": "percent", "value": 3}},
    }
    llm_server.script(answer(refined))
    seen, on_stage = _stages()

    outcome = run_refinement(
        "take profit 3%",
        SAMPLE_SPEC,
        {},
        on_stage,
        settings=_settings(llm_server),
        redis=llm_redis,
    )

    assert outcome.provider == "openai"
    assert outcome.spec["risk"]["take_profit"]["value"] == 3
    assert seen == ["prompting", "calling_llm", "rendering", "validating"]
    (request,) = llm_server.requests
    user_prompt = request.body["messages"][-1]["content"]
    assert json.dumps("take profit 3%") in user_prompt
    assert json.dumps(SAMPLE_SPEC["name"]) in user_prompt
    assert '"indicators"' in user_prompt


def test_without_providers_the_offline_composer_refines(llm_redis):
    seen, on_stage = _stages()

    outcome = run_refinement(
        "add a 2% trailing stop",
        SAMPLE_SPEC,
        {},
        on_stage,
        settings=_settings(),
        redis=llm_redis,
    )

    assert outcome.provider == "offline"
    assert outcome.spec["risk"]["trailing"]["value"] == 2
    assert outcome.spec["long"] == spec_to_data(parse_spec(SAMPLE_SPEC))["long"]
    assert "composing" in seen
    assert outcome.code.startswith("//@version=6")


def test_a_current_spec_that_no_longer_validates_is_spec_invalid(llm_redis):
    with pytest.raises(SpecInvalid):
        run_refinement(
            "add alerts", {"name": "broken"}, {}, lambda *a: None, settings=_settings()
        )
