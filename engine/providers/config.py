"""Provider settings, read once from `PINEFORGE_` environment variables.

Flat values use the prefix directly (`PINEFORGE_LLM_PROVIDERS=openai,anthropic`);
per-provider values nest with a double underscore
(`PINEFORGE_OPENAI__API_KEY`, `PINEFORGE_ANTHROPIC__MODEL`,
`PINEFORGE_OPENAI_COMPATIBLE__BASE_URL`). A provider takes part in the chain
when it is listed in `llm_providers` and has a key (an OpenAI-compatible server
needs only a base URL). With none, the offline composer is the only link.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROVIDER_NAMES = ("openai", "anthropic", "openrouter", "openai_compatible")

ResponseFormat = Literal["json_schema", "json_object", "none"]


class ModelPrice(BaseModel):
    """US dollars per one million tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


# List prices when this table was written; estimates only, override per model
# with PINEFORGE_LLM_PRICES='{"model": {"input": 0.4, "output": 1.6}}'.
DEFAULT_PRICES: dict[str, ModelPrice] = {
    "gpt-4.1-mini": ModelPrice(input=0.40, output=1.60),
    "gpt-4.1": ModelPrice(input=2.00, output=8.00),
    "gpt-4o-mini": ModelPrice(input=0.15, output=0.60),
    "claude-sonnet-4-5": ModelPrice(input=3.00, output=15.00),
    "claude-haiku-4-5": ModelPrice(input=1.00, output=5.00),
    "openai/gpt-4.1-mini": ModelPrice(input=0.40, output=1.60),
}


class ProviderConfig(BaseModel):
    """One provider's connection: key, endpoint, model and limits."""

    api_key: SecretStr | None = None
    base_url: str | None = None
    model: str = ""
    timeout: float = Field(60.0, gt=0, le=600)
    max_tokens: int = Field(4096, ge=256, le=64_000)
    response_format: ResponseFormat = "json_schema"


class OpenAIConfig(ProviderConfig):
    """OpenAI's own API."""

    base_url: str | None = "https://api.openai.com/v1"
    model: str = "gpt-4.1-mini"


class AnthropicConfig(ProviderConfig):
    """Anthropic's Messages API."""

    base_url: str | None = "https://api.anthropic.com"
    model: str = "claude-sonnet-4-5"


class OpenRouterConfig(ProviderConfig):
    """OpenRouter, an OpenAI-compatible router to many models."""

    base_url: str | None = "https://openrouter.ai/api/v1"
    model: str = "openai/gpt-4.1-mini"


class CompatibleConfig(ProviderConfig):
    """A self-hosted OpenAI-compatible server; off until it has a base URL."""

    # Local servers (Ollama, vLLM, LM Studio) disagree on json_schema support;
    # JSON mode is the widest common ground and our own validation does the rest.
    model: str = "llama3.1"
    response_format: ResponseFormat = "json_object"


class ProviderSettings(BaseSettings):
    """Everything the provider chain, prompts and result cache read."""

    model_config = SettingsConfigDict(
        env_prefix="PINEFORGE_", env_nested_delimiter="__", extra="ignore"
    )

    llm_providers: Annotated[list[str], NoDecode] = list(PROVIDER_NAMES)
    llm_offline_fallback: bool = True
    openai: OpenAIConfig = OpenAIConfig()
    anthropic: AnthropicConfig = AnthropicConfig()
    openrouter: OpenRouterConfig = OpenRouterConfig()
    openai_compatible: CompatibleConfig = CompatibleConfig()
    openrouter_app_url: str | None = None
    openrouter_app_title: str = "PineForge"

    llm_deadline_seconds: float = Field(90.0, gt=0, le=900)
    llm_max_attempts: int = Field(3, ge=1, le=10)
    llm_backoff_initial: float = Field(0.5, ge=0, le=60)
    llm_backoff_max: float = Field(8.0, ge=0, le=120)
    llm_cooldown_threshold: int = Field(5, ge=1, le=1000)
    llm_cooldown_window_seconds: int = Field(60, ge=1, le=86_400)
    llm_cooldown_seconds: int = Field(120, ge=1, le=86_400)
    llm_result_cache_ttl_seconds: int = Field(86_400, ge=0, le=30 * 86_400)
    llm_prompt_token_budget: int = Field(6000, ge=1000, le=200_000)
    llm_prices: dict[str, ModelPrice] = Field(default_factory=dict)

    @field_validator("llm_providers", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("llm_providers")
    @classmethod
    def _known_names(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(PROVIDER_NAMES))
        if unknown:
            known = ", ".join(PROVIDER_NAMES)
            raise ValueError(f"unknown provider {', '.join(unknown)} (known: {known})")
        return list(dict.fromkeys(value))

    def provider(self, name: str) -> ProviderConfig:
        """The configuration block of one provider by name."""
        if name not in PROVIDER_NAMES:
            raise KeyError(name)
        return getattr(self, name)

    def price_for(self, model: str | None) -> ModelPrice | None:
        """The price of a model: settings first, then the built-in table."""
        if not model:
            return None
        return self.llm_prices.get(model) or DEFAULT_PRICES.get(model)

    def estimate_cost(
        self, model: str | None, tokens_in: int, tokens_out: int
    ) -> float | None:
        """Dollars for one call, or None when the model has no known price."""
        price = self.price_for(model)
        if price is None:
            return None
        dollars = tokens_in * price.input + tokens_out * price.output
        return round(dollars / 1_000_000, 6)


@lru_cache(maxsize=1)
def get_provider_settings() -> ProviderSettings:
    """The process-wide provider settings (read from the environment once)."""
    return ProviderSettings()
