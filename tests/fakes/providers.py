"""Adapters and worker settings pointed at a fake LLM server, test keys, Redis URL."""

from __future__ import annotations

import os

from engine.providers.anthropic_adapter import AnthropicAdapter
from engine.providers.openai_adapter import OpenAIAdapter
from tests.fakes.llm_server import FakeLLMServer

# Distinctive enough to grep for in logs and error bodies.
OPENAI_KEY = "sk-test-openai-5ecret-0001"
ANTHROPIC_KEY = "sk-ant-test-5ecret-0002"

# A Redis database of the LLM tests' own: they flush it freely.
LLM_REDIS_URL = os.environ.get(
    "PINEFORGE_TEST_LLM_REDIS_URL", "redis://127.0.0.1:6379/14"
)


def openai_adapter(server: FakeLLMServer, name: str = "openai", **extra):
    """An OpenAI adapter pointed at a fake server."""
    values = {"model": "gpt-test", "api_key": OPENAI_KEY, "timeout": 5.0}
    values.update(base_url=server.openai_url, cooldown_key=name)
    return OpenAIAdapter(name=name, **{**values, **extra})


def anthropic_adapter(server: FakeLLMServer, name: str = "anthropic", **extra):
    """An Anthropic adapter pointed at a fake server."""
    values = {"model": "claude-test", "api_key": ANTHROPIC_KEY, "timeout": 5.0}
    values.update(base_url=server.anthropic_url, cooldown_key=name)
    return AnthropicAdapter(name=name, **{**values, **extra})


def fake_provider_env(server: FakeLLMServer) -> dict[str, str]:
    """Environment that points the real pipeline at `server`, and only at it.

    The OpenAI-compatible link needs no key; with the offline fallback off and
    the result cache off, every job really asks the fake server.
    """
    return {
        "PINEFORGE_LLM_PROVIDERS": "openai_compatible",
        "PINEFORGE_OPENAI_COMPATIBLE__BASE_URL": server.openai_url,
        "PINEFORGE_LLM_OFFLINE_FALLBACK": "false",
        "PINEFORGE_LLM_RESULT_CACHE_TTL_SECONDS": "0",
    }
