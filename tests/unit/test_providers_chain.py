"""The fallback chain: order, retries, Retry-After, deadline, shared cooldown."""

from __future__ import annotations

import json
import time

import pytest
import redis

from engine.errors import AllProvidersFailed, SpecInvalid
from engine.providers.chain import ProviderChain, RetryPolicy
from engine.providers.config import ProviderSettings
from engine.providers.cooldown import Cooldown
from engine.providers.registry import build_adapters
from tests.fakes.llm_server import (
    hang,
    rate_limited,
    server_error,
    unauthorized,
)
from tests.fakes.providers import (
    ANTHROPIC_KEY,
    LLM_REDIS_URL,
    OPENAI_KEY,
    anthropic_adapter,
    openai_adapter,
)

pytest_plugins = ["tests.llm_fixtures"]

QUICK = RetryPolicy(max_attempts=3, backoff_initial=0.01, backoff_max=0.05)


def _ask(call):
    return call("SYSTEM", "USER").text


def _run(chain, deadline_in=30.0):
    attempts = []
    deadline = time.monotonic() + deadline_in
    try:
        _, adapter = chain.run(_ask, schema={}, deadline=deadline, attempts=attempts)
    except AllProvidersFailed as failure:
        return None, attempts, failure
    return adapter, attempts, None


def _cooldown(client, threshold=3, cooldown_seconds=60):
    return Cooldown(
        client,
        threshold=threshold,
        window_seconds=60,
        cooldown_seconds=cooldown_seconds,
    )


def test_transient_errors_are_retried_then_the_next_provider_answers(llm_servers):
    first, second = llm_servers(), llm_servers()
    first.script(server_error(), server_error(), server_error())
    chain = ProviderChain(
        [openai_adapter(first), anthropic_adapter(second)], policy=QUICK
    )

    adapter, attempts, _ = _run(chain)

    assert adapter.name == "anthropic"
    assert (first.count(), second.count()) == (3, 1)
    outcomes = [(a.provider, a.outcome) for a in attempts]
    assert outcomes == [("openai", "server_error")] * 3 + [("anthropic", "ok")]


def test_retry_after_is_honoured_before_the_next_attempt(llm_server):
    llm_server.script(rate_limited(1))
    chain = ProviderChain([openai_adapter(llm_server)], policy=QUICK)

    adapter, attempts, _ = _run(chain)

    first, second = llm_server.requests
    assert second.at - first.at >= 0.95
    assert [a.outcome for a in attempts] == ["rate_limited", "ok"]


def test_retry_after_beyond_the_deadline_gives_up_at_once(llm_server):
    llm_server.script(rate_limited(30))
    chain = ProviderChain([openai_adapter(llm_server)], policy=QUICK)

    started = time.monotonic()
    _, _, failure = _run(chain, deadline_in=3)

    assert failure is not None and time.monotonic() - started < 1
    assert llm_server.count() == 1


def test_permanent_error_moves_to_the_next_provider_without_retrying(llm_servers):
    first, second = llm_servers(), llm_servers()
    first.script(unauthorized())
    chain = ProviderChain([openai_adapter(first), openai_adapter(second, "b")])

    adapter, _, _ = _run(chain)

    assert adapter.name == "b" and first.count() == 1


def test_all_failing_gives_one_line_per_provider_and_no_key(llm_servers):
    first, second = llm_servers(), llm_servers()
    first.script(*[server_error()] * 3)
    second.script(unauthorized())
    chain = ProviderChain(
        [openai_adapter(first), anthropic_adapter(second)], policy=QUICK
    )

    _, _, failure = _run(chain)

    assert failure.code == "LLM_PROVIDER_ERROR" and failure.http_status == 502
    lines = failure.details["attempts"]
    assert lines == [
        "openai (gpt-test): had a server error (HTTP 500) (3 calls)",
        "anthropic (claude-test): rejected the API key (HTTP 401) (1 call)",
    ]
    body = json.dumps(failure.to_body())
    assert OPENAI_KEY not in body and ANTHROPIC_KEY not in body


def test_deadline_cuts_a_hanging_call_and_skips_the_rest(llm_servers):
    first, second = llm_servers(), llm_servers()
    first.script(hang(10))
    chain = ProviderChain(
        [openai_adapter(first, timeout=30), openai_adapter(second, "b")], policy=QUICK
    )

    started = time.monotonic()
    _, attempts, failure = _run(chain, deadline_in=0.6)

    assert time.monotonic() - started < 1.5
    assert second.count() == 0
    assert [a.outcome for a in attempts] == ["timeout"]
    assert "was not asked in time" in failure.details["attempts"][1]


def test_backoff_grows_exponentially_with_jitter(llm_server):
    llm_server.script(*[server_error()] * 3)
    waits: list[float] = []
    policy = RetryPolicy(max_attempts=4, backoff_initial=0.1, backoff_max=5)
    chain = ProviderChain(
        [openai_adapter(llm_server)], policy=policy, sleep=waits.append
    )

    _run(chain)

    assert len(waits) == 3
    for wait, base in zip(waits, (0.1, 0.2, 0.4), strict=True):
        assert base <= wait <= base + 0.1


def test_a_failing_provider_cools_down_for_every_worker(llm_servers, llm_redis):
    first, second = llm_servers(), llm_servers()
    first.script(*[server_error()] * 3)
    worker_a = ProviderChain(
        [openai_adapter(first), openai_adapter(second, "b")],
        policy=QUICK,
        cooldown=_cooldown(llm_redis, threshold=3, cooldown_seconds=60),
    )
    _run(worker_a)

    other_client = redis.Redis.from_url(LLM_REDIS_URL)  # another worker process
    worker_b = ProviderChain(
        [openai_adapter(first), openai_adapter(second, "b")],
        policy=QUICK,
        cooldown=_cooldown(other_client, threshold=3, cooldown_seconds=60),
    )
    adapter, attempts, _ = _run(worker_b)
    other_client.close()

    assert adapter.name == "b"
    assert first.count() == 3  # nothing more reached the cooling provider
    assert attempts[0].outcome == "skipped_cooldown"
    assert 0 < llm_redis.ttl("pineforge:llm:cooldown:openai") <= 60


def test_a_success_clears_the_failure_count(llm_server, llm_redis):
    cooldown = _cooldown(llm_redis, threshold=3)
    llm_server.script(server_error(), server_error())
    chain = ProviderChain([openai_adapter(llm_server)], policy=QUICK, cooldown=cooldown)

    _run(chain)
    llm_server.script(server_error(), server_error())
    _run(chain)

    assert not cooldown.is_cooling("openai")
    assert llm_server.count() == 6


def test_an_answer_error_from_the_task_ends_the_run(llm_servers):
    first, second = llm_servers(), llm_servers()
    chain = ProviderChain([openai_adapter(first), openai_adapter(second, "b")])

    def task(call):
        call("S", "U")
        raise SpecInvalid()

    with pytest.raises(SpecInvalid):
        chain.run(task, schema={}, deadline=time.monotonic() + 5, attempts=[])
    assert second.count() == 0


def test_a_users_own_keys_come_first_and_cool_down_apart(llm_server):
    settings = ProviderSettings(
        llm_providers=["anthropic", "openai"],
        openai={"base_url": llm_server.openai_url},
        anthropic={"base_url": llm_server.anthropic_url},
    )
    platform = {"openai": "platform-openai", "anthropic": "platform-anthropic"}

    adapters = build_adapters(settings, platform, {"openai": "mine"}, user_id="u1")
    others = build_adapters(settings, platform, {"openai": "theirs"}, user_id="u2")

    assert [a.name for a in adapters] == ["openai (own key)", "anthropic", "openai"]
    assert adapters[0].api_key == "mine"
    assert adapters[0].cooldown_key != others[0].cooldown_key
    assert adapters[2].cooldown_key == "openai"


def test_attempt_log_lines_name_provider_and_outcome_but_no_secret(
    llm_server, log_lines
):
    llm_server.script(server_error())
    chain = ProviderChain([openai_adapter(llm_server)], policy=QUICK)
    attempts = []

    chain.run(
        lambda call: call("SYSTEM RULES 7f3a", "TRADER IDEA 9b1c"),
        schema={},
        deadline=time.monotonic() + 5,
        attempts=attempts,
    )

    events = [json.loads(line) for line in log_lines() if line.startswith("{")]
    tried = [e for e in events if e["event"] == "llm.attempt"]
    assert [(e["attempt"], e["outcome"]) for e in tried] == [
        (1, "server_error"),
        (2, "ok"),
    ]
    assert all("duration_ms" in e and e["provider"] == "openai" for e in tried)
    text = "\n".join(log_lines())
    for secret in (OPENAI_KEY, "SYSTEM RULES 7f3a", "TRADER IDEA 9b1c"):
        assert secret not in text
