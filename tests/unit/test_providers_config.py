"""Provider settings from PINEFORGE_ variables, prices, and key sources."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from engine.providers.config import ProviderSettings
from engine.providers.keys import NoUserKeys, PlatformKeys


def test_settings_read_flat_and_nested_environment_variables(monkeypatch):
    monkeypatch.setenv("PINEFORGE_LLM_PROVIDERS", "anthropic, openai_compatible")
    monkeypatch.setenv("PINEFORGE_ANTHROPIC__API_KEY", "sk-ant-env")
    monkeypatch.setenv("PINEFORGE_ANTHROPIC__TIMEOUT", "12.5")
    monkeypatch.setenv(
        "PINEFORGE_OPENAI_COMPATIBLE__BASE_URL", "http://ollama:11434/v1"
    )
    monkeypatch.setenv("PINEFORGE_LLM_COOLDOWN_SECONDS", "30")

    settings = ProviderSettings()

    assert settings.llm_providers == ["anthropic", "openai_compatible"]
    assert settings.anthropic.api_key.get_secret_value() == "sk-ant-env"
    assert settings.anthropic.timeout == 12.5
    assert settings.anthropic.model == "claude-sonnet-4-5"  # default kept
    assert settings.openai_compatible.base_url == "http://ollama:11434/v1"
    assert settings.llm_cooldown_seconds == 30
    assert "sk-ant-env" not in repr(settings)


def test_an_unknown_provider_name_fails_fast():
    with pytest.raises(ValidationError, match="unknown provider gemini"):
        ProviderSettings(llm_providers="openai,gemini")


def test_cost_estimates_use_settings_prices_before_the_built_in_table():
    settings = ProviderSettings(llm_prices={"gpt-4.1-mini": {"input": 1, "output": 2}})

    assert settings.estimate_cost("gpt-4.1-mini", 1_000_000, 500_000) == 2.0
    assert settings.estimate_cost("claude-haiku-4-5", 1000, 1000) == 0.006
    assert settings.estimate_cost("unpriced-model", 10, 10) is None


def test_platform_keys_come_from_settings_for_listed_providers_only():
    settings = ProviderSettings(
        llm_providers=["openai"],
        openai={"api_key": "sk-platform"},
        anthropic={"api_key": "sk-not-listed"},
    )

    assert PlatformKeys(settings).keys_for("any-user") == {"openai": "sk-platform"}
    assert NoUserKeys().keys_for("any-user") == {}
