"""Adapters through the real openai and anthropic SDKs against a fake server."""

from __future__ import annotations

import json
import time

import pytest

from engine.errors import PermanentProviderError, TransientProviderError
from engine.prompting import compact_schema
from engine.providers.config import ProviderSettings
from engine.providers.errors import parse_retry_after
from engine.providers.registry import build_adapter
from engine.spec import spec_json_schema
from tests.fakes.llm_server import (
    ANTHROPIC_PATH,
    OPENAI_PATH,
    SAMPLE_SPEC,
    error,
    hang,
    rate_limited,
    refusal,
    server_error,
    unauthorized,
)
from tests.fakes.providers import (
    ANTHROPIC_KEY,
    OPENAI_KEY,
    anthropic_adapter,
    openai_adapter,
)

pytest_plugins = ["tests.llm_fixtures"]

SCHEMA = compact_schema(spec_json_schema())
ADAPTERS = {"openai": openai_adapter, "anthropic": anthropic_adapter}


def _far() -> float:
    return time.monotonic() + 30


def test_openai_adapter_asks_for_json_schema_output(llm_server):
    reply = openai_adapter(llm_server).complete_spec("SYS", "USER", SCHEMA, _far())

    assert json.loads(reply.text) == SAMPLE_SPEC
    assert reply.model == "gpt-test" and reply.tokens_in > 0 and reply.tokens_out > 0
    sent = llm_server.requests[0]
    assert sent.path == OPENAI_PATH
    assert sent.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert sent.body["messages"] == [
        {"role": "system", "content": "SYS"},
        {"role": "user", "content": "USER"},
    ]
    response_format = sent.body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["schema"] == SCHEMA
    assert sent.body["max_completion_tokens"] == 4096


def test_anthropic_adapter_forces_one_tool_with_the_spec_schema(llm_server):
    adapter = anthropic_adapter(llm_server)
    reply = adapter.complete_spec("SYS", "USER", SCHEMA, _far())

    assert json.loads(reply.text) == SAMPLE_SPEC
    sent = llm_server.requests[0]
    assert sent.path == ANTHROPIC_PATH
    assert ANTHROPIC_KEY in (
        sent.headers.get("x-api-key", "") + sent.headers.get("authorization", "")
    )
    assert sent.body["system"] == "SYS"
    (tool,) = sent.body["tools"]
    assert tool["input_schema"] == SCHEMA
    assert sent.body["tool_choice"] == {"type": "tool", "name": tool["name"]}


def test_openrouter_adapter_sends_attribution_headers(llm_server):
    settings = ProviderSettings(
        openrouter={"base_url": llm_server.openai_url, "model": "vendor/model"},
        openrouter_app_url="https://pineforge.example",
    )
    adapter = build_adapter("openrouter", settings, "or-key")
    adapter.complete_spec("SYS", "USER", SCHEMA, _far())

    sent = llm_server.requests[0]
    assert sent.headers["x-title"] == "PineForge"
    assert sent.headers["http-referer"] == "https://pineforge.example"
    assert sent.body["model"] == "vendor/model" and sent.body["max_tokens"] == 4096


def test_openai_compatible_server_needs_only_a_base_url(llm_server):
    settings = ProviderSettings(openai_compatible={"base_url": llm_server.openai_url})
    assert build_adapter("openai", settings, None) is None

    adapter = build_adapter("openai_compatible", settings, None)
    adapter.complete_spec("SYS", "USER", SCHEMA, _far())

    assert llm_server.requests[0].body["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize("kind", sorted(ADAPTERS))
def test_rate_limit_is_transient_and_carries_retry_after(llm_server, kind):
    llm_server.script(rate_limited(7))
    with pytest.raises(TransientProviderError) as caught:
        ADAPTERS[kind](llm_server).complete_spec("S", "U", SCHEMA, _far())

    assert caught.value.details["retry_after"] == 7
    assert caught.value.details["outcome"] == "rate_limited"
    assert caught.value.__cause__ is not None  # chained with `from`


@pytest.mark.parametrize("kind", sorted(ADAPTERS))
def test_server_error_is_transient_and_sdk_does_not_retry(llm_server, kind):
    llm_server.script(server_error(), server_error(), server_error())
    with pytest.raises(TransientProviderError):
        ADAPTERS[kind](llm_server).complete_spec("S", "U", SCHEMA, _far())

    assert llm_server.count() == 1


@pytest.mark.parametrize("kind", sorted(ADAPTERS))
def test_bad_key_is_permanent_and_the_message_holds_no_key(llm_server, kind):
    llm_server.script(unauthorized())
    with pytest.raises(PermanentProviderError) as caught:
        ADAPTERS[kind](llm_server).complete_spec("S", "U", SCHEMA, _far())

    assert caught.value.details["outcome"] == "auth_error"
    body = json.dumps(caught.value.to_body())
    assert OPENAI_KEY not in body and ANTHROPIC_KEY not in body


@pytest.mark.parametrize("kind", sorted(ADAPTERS))
def test_refusal_is_permanent(llm_server, kind):
    llm_server.script(refusal())
    with pytest.raises(PermanentProviderError) as caught:
        ADAPTERS[kind](llm_server).complete_spec("S", "U", SCHEMA, _far())

    assert caught.value.details["outcome"] == "refused"


@pytest.mark.parametrize("status", [400, 403, 404])
def test_client_errors_are_permanent(llm_server, status):
    llm_server.script(error(status))
    with pytest.raises(PermanentProviderError):
        openai_adapter(llm_server).complete_spec("S", "U", SCHEMA, _far())


def test_exhausted_quota_is_permanent_although_it_is_a_429(llm_server):
    llm_server.script(error(429, code="insufficient_quota"))
    with pytest.raises(PermanentProviderError) as caught:
        openai_adapter(llm_server).complete_spec("S", "U", SCHEMA, _far())

    assert caught.value.details["outcome"] == "quota_exhausted"


@pytest.mark.parametrize("kind", sorted(ADAPTERS))
def test_hanging_provider_times_out_as_transient(llm_server, kind):
    llm_server.script(hang(10))
    started = time.monotonic()
    with pytest.raises(TransientProviderError) as caught:
        ADAPTERS[kind](llm_server, timeout=0.3).complete_spec("S", "U", SCHEMA, _far())

    assert caught.value.details["outcome"] == "timeout"
    assert time.monotonic() - started < 2


def test_call_timeout_is_cut_to_the_deadline(llm_server):
    llm_server.script(hang(10))
    started = time.monotonic()
    with pytest.raises(TransientProviderError):
        openai_adapter(llm_server, timeout=30).complete_spec(
            "S", "U", SCHEMA, time.monotonic() + 0.4
        )

    assert time.monotonic() - started < 1.5


def test_retry_after_reads_seconds_milliseconds_and_dates():
    assert parse_retry_after({"retry-after": "3"}) == 3
    assert parse_retry_after({"retry-after-ms": "1500"}) == 1.5
    assert parse_retry_after({"retry-after": "100000"}) == 300  # capped
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
