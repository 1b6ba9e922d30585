"""The whole generation pipeline through the real SDKs against fake providers."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest

import engine.pipeline as pipeline
from engine.errors import (
    AllProvidersFailed,
    ComposeError,
    RenderInvalid,
    SpecInvalid,
)
from engine.pipeline import run_generation
from engine.providers import openai_adapter, registry
from engine.providers.config import ProviderSettings
from engine.result_cache import cache_key
from engine.spec import parse_spec, spec_to_data
from tests.fakes.llm_server import (
    INVALID_SPEC,
    SAMPLE_SPEC,
    answer,
    hang,
    prose_answer,
    server_error,
    unauthorized,
)
from tests.fakes.providers import ANTHROPIC_KEY, OPENAI_KEY

pytest_plugins = ["tests.llm_fixtures"]

REQUEST = "Buy when RSI(14) crosses above 30, sell when it crosses below 70. Long only."


class Stages(list):
    def __call__(self, stage: str, progress: int) -> None:
        self.append(stage)


class UserKeys:
    def __init__(self, keys: dict[str, str]) -> None:
        self.keys = keys

    def keys_for(self, user_id):
        return self.keys


def _settings(openai=None, anthropic=None, **overrides) -> ProviderSettings:
    """Settings naming only the fake providers given, with quick retries."""
    names, blocks = [], {}
    if openai is not None:
        names.append("openai")
        blocks["openai"] = {"base_url": openai.openai_url, "api_key": OPENAI_KEY}
        blocks["openai"] |= {"model": "gpt-test", "timeout": 5}
    if anthropic is not None:
        names.append("anthropic")
        blocks["anthropic"] = {"base_url": anthropic.anthropic_url}
        blocks["anthropic"] |= {"api_key": ANTHROPIC_KEY, "model": "claude-test"}
    values = {
        "llm_providers": names,
        "llm_backoff_initial": 0.01,
        "llm_backoff_max": 0.05,
        "llm_cooldown_threshold": 3,
        "llm_offline_fallback": False,
        "llm_prices": {"gpt-test": {"input": 1, "output": 2}},
    }
    return ProviderSettings(**{**values, **blocks, **overrides})


def test_a_good_answer_becomes_a_validated_script_with_accounting(
    llm_server, llm_redis
):
    stages = Stages()
    outcome = run_generation(
        REQUEST, {}, stages, settings=_settings(llm_server), redis=llm_redis
    )

    assert stages == ["prompting", "calling_llm", "rendering", "validating"]
    assert outcome.spec == spec_to_data(parse_spec(SAMPLE_SPEC))
    assert outcome.code.startswith("//@version=6")
    assert (outcome.name, outcome.provider, outcome.model) == (
        "RSI mean reversion", "openai", "gpt-test",
    )  # fmt: skip
    assert outcome.prompt_version == "v1"
    accounting = outcome.accounting
    assert accounting["cached"] is False and accounting["tokens_in"] > 0
    expected = (accounting["tokens_in"] + 2 * accounting["tokens_out"]) / 1e6
    assert accounting["cost_usd"] == pytest.approx(expected)
    assert [a["outcome"] for a in accounting["attempts"]] == ["ok"]


def test_prose_around_the_json_is_accepted_and_not_stored(llm_server):
    llm_server.script(prose_answer(SAMPLE_SPEC))

    outcome = run_generation(REQUEST, {}, Stages(), settings=_settings(llm_server))

    stored = json.dumps([outcome.spec, outcome.code, outcome.accounting])
    assert "Here is the strategy" not in stored


def test_a_schema_invalid_answer_is_repaired(llm_server):
    llm_server.script(answer(INVALID_SPEC), answer(SAMPLE_SPEC))

    outcome = run_generation(REQUEST, {}, Stages(), settings=_settings(llm_server))

    assert llm_server.count() == 2
    repair = llm_server.requests[1].body["messages"][1]["content"]
    assert "unknown indicator kind 'relative_vigor_x'" in repair
    outcomes = [a["outcome"] for a in outcome.accounting["attempts"]]
    assert outcomes == ["invalid_spec", "ok"]


def test_a_third_bad_answer_is_spec_invalid(llm_server):
    llm_server.script(*[answer(INVALID_SPEC)] * 3)
    settings = _settings(llm_server, llm_offline_fallback=True)

    with pytest.raises(SpecInvalid) as caught:
        run_generation(REQUEST, {}, Stages(), settings=settings)

    assert caught.value.code == "SPEC_INVALID"
    assert caught.value.details["errors"]
    assert llm_server.count() == 3


def test_first_provider_failing_falls_back_and_cools_down(llm_servers, llm_redis):
    broken, healthy = llm_servers(default=server_error()), llm_servers()
    settings = _settings(broken, healthy)

    first = run_generation(REQUEST, {}, Stages(), settings=settings, redis=llm_redis)
    run_generation("EMA 9/21 cross", {}, Stages(), settings=settings, redis=llm_redis)

    assert first.provider == "anthropic" and first.model == "claude-test"
    tried = [(a["provider"], a["outcome"]) for a in first.accounting["attempts"]]
    assert tried == [("openai", "server_error")] * 3 + [("anthropic", "ok")]
    assert broken.count() == 3  # the second job skipped it: cooling down
    assert llm_redis.exists("pineforge:llm:cooldown:openai")


def test_all_providers_failing_is_llm_provider_error_without_keys(llm_servers):
    first, second = llm_servers(default=server_error()), llm_servers()
    second.script(unauthorized())

    with pytest.raises(AllProvidersFailed) as caught:
        run_generation(REQUEST, {}, Stages(), settings=_settings(first, second))

    body = caught.value.to_body()
    assert body["code"] == "LLM_PROVIDER_ERROR" and caught.value.http_status == 502
    assert [line.split(":")[0] for line in body["details"]["attempts"]] == [
        "openai (gpt-test)",
        "anthropic (claude-test)",
    ]
    assert OPENAI_KEY not in json.dumps(body) and ANTHROPIC_KEY not in json.dumps(body)


def test_the_job_deadline_bounds_every_call(llm_server):
    llm_server.script(hang(10))
    settings = _settings(llm_server, llm_deadline_seconds=1)

    started = time.monotonic()
    with pytest.raises(AllProvidersFailed):
        run_generation(REQUEST, {}, Stages(), settings=settings)

    assert time.monotonic() - started < 2


def test_a_cache_hit_makes_no_second_model_call(llm_server, llm_redis):
    settings = _settings(llm_server)
    first = run_generation(REQUEST, {}, Stages(), settings=settings, redis=llm_redis)

    again = run_generation(
        "  buy when rsi(14) crosses ABOVE 30,   sell when it crosses below 70. "
        "long only.",
        {},
        Stages(),
        settings=settings,
        redis=llm_redis,
    )

    assert llm_server.count() == 1
    assert again.spec == first.spec and again.code == first.code
    assert again.accounting["cached"] is True
    assert again.accounting["tokens_in"] == 0 and again.accounting["attempts"] == []


def test_different_options_miss_the_cache(llm_server, llm_redis):
    settings = _settings(llm_server)
    run_generation(REQUEST, {}, Stages(), settings=settings, redis=llm_redis)

    run_generation(
        REQUEST, {"timeframe": "240"}, Stages(), settings=settings, redis=llm_redis
    )

    assert llm_server.count() == 2


def test_the_cache_never_serves_one_users_answer_to_another(llm_server, llm_redis):
    settings = _settings(llm_server)
    run_generation(
        REQUEST, {}, Stages(), settings=settings, redis=llm_redis, user_id="alice"
    )

    other = run_generation(
        REQUEST, {}, Stages(), settings=settings, redis=llm_redis, user_id="bob"
    )

    assert llm_server.count() == 2
    assert other.accounting["cached"] is False


def test_a_users_own_key_goes_first_then_the_platform_key(llm_server):
    llm_server.script(unauthorized())

    outcome = run_generation(
        REQUEST,
        {},
        Stages(),
        user_id="user-1",
        key_source=UserKeys({"openai": "sk-users-own"}),
        settings=_settings(llm_server),
    )

    first, second = llm_server.requests
    assert first.headers["authorization"] == "Bearer sk-users-own"
    assert second.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    tried = [(a["provider"], a["outcome"]) for a in outcome.accounting["attempts"]]
    assert tried == [("openai (own key)", "auth_error"), ("openai", "ok")]


def test_a_users_own_key_is_not_kept_in_the_worker_after_the_job(llm_server):
    llm_server.script(answer(SAMPLE_SPEC))
    clients_before = openai_adapter._client.cache_info().currsize

    outcome = run_generation(
        REQUEST,
        {},
        Stages(),
        user_id="user-1",
        key_source=UserKeys({"openai": "sk-users-own-secret"}),
        settings=_settings(llm_server),
    )

    assert outcome.provider == "openai" + registry.OWN_KEY_SUFFIX
    assert openai_adapter._client.cache_info().currsize == clients_before
    cached_chains = [chain for _, _, chain in registry._chains.values()]
    names = [adapter.name for chain in cached_chains for adapter in chain.adapters]
    assert not any(name.endswith(registry.OWN_KEY_SUFFIX) for name in names)


def test_failed_providers_fall_back_to_the_offline_composer(llm_server):
    llm_server.default = server_error()
    settings = _settings(llm_server, llm_offline_fallback=True)

    outcome = run_generation(REQUEST, {}, Stages(), settings=settings)

    assert outcome.provider == "offline" and outcome.model is None
    tried = [a["outcome"] for a in outcome.accounting["attempts"]]
    assert tried == ["server_error"] * 3 + ["ok"]


def test_with_no_provider_the_composer_is_the_only_link(llm_server):
    stages = Stages()
    settings = _settings(llm_offline_fallback=True)

    outcome = run_generation(REQUEST, {}, stages, settings=settings)

    assert outcome.provider == "offline" and llm_server.count() == 0
    assert "calling_llm" not in stages
    assert outcome.accounting["cost_usd"] == 0


def test_a_script_failing_validation_is_reported_as_our_bug(llm_server, monkeypatch):
    report = SimpleNamespace(ok=False, issues=[1], to_dict=lambda: {"ok": False})
    monkeypatch.setattr(pipeline, "validate_script", lambda code: report)

    with pytest.raises(RenderInvalid) as caught:
        run_generation(REQUEST, {}, Stages(), settings=_settings(llm_server))

    assert caught.value.http_status == 500
    assert caught.value.details == {"report": {"ok": False}}


def test_no_key_or_prompt_text_reaches_any_log_line(llm_servers, log_lines):
    broken, healthy = llm_servers(default=server_error()), llm_servers()
    healthy.script(prose_answer(INVALID_SPEC), answer(SAMPLE_SPEC))
    request = "Go long when RSI crosses 30 zebra-quokka-7731"

    run_generation(request, {}, Stages(), settings=_settings(broken, healthy))

    lines = log_lines()
    events = {json.loads(line)["event"] for line in lines if line.startswith("{")}
    assert {"llm.attempt", "llm.provider_failed", "llm.answer_invalid"} <= events
    text = "\n".join(lines)
    for secret in (OPENAI_KEY, ANTHROPIC_KEY, "zebra-quokka-7731", "Rules\n"):
        assert secret not in text
    assert "never write Pine Script" not in text


def test_delivery_options_and_case_do_not_change_the_cache_key():
    plain = cache_key("RSI  cross", {"symbol": "BTCUSDT"}, "v1:abc")

    assert plain == cache_key(
        "rsi cross", {"symbol": "BTCUSDT", "deliver": {"email": True}}, "v1:abc"
    )
    assert plain != cache_key("RSI cross", {"symbol": "BTCUSDT"}, "v2:def")


def test_a_request_the_composer_cannot_read_joins_the_failure_lines(llm_server):
    llm_server.default = server_error()
    settings = _settings(llm_server, llm_offline_fallback=True)

    with pytest.raises(AllProvidersFailed) as caught:
        run_generation("hello there", {}, Stages(), settings=settings)

    lines = caught.value.details["attempts"]
    assert len(lines) == 2 and lines[1].startswith("offline composer: ")


def test_with_no_provider_the_composers_own_error_stands(llm_server):
    with pytest.raises(ComposeError):
        run_generation(
            "hello there", {}, Stages(), settings=_settings(llm_offline_fallback=True)
        )
