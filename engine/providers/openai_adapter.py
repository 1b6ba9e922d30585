"""OpenAI Chat Completions through the official SDK, and its look-alikes.

The same adapter serves OpenAI itself, OpenRouter (its base URL plus its
attribution headers) and any OpenAI-compatible server such as Ollama, vLLM or
LM Studio (a base URL, often no key). Only the `response_format` differs.

The spec schema cannot be used in OpenAI's strict mode (strict needs every
property required and forbids `oneOf` discriminators, and the spec uses both),
so the schema goes in non-strict: it steers the model, our validation decides.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache

import openai

from engine.providers.base import ProviderReply, call_timeout, config_fields
from engine.providers.config import ProviderConfig
from engine.providers.errors import permanent, translate_sdk_error

# The SDK logs whole request options (prompt included) at DEBUG; a prompt body
# must never reach our logs, whatever level the root logger runs at.
logging.getLogger("openai").setLevel(logging.INFO)

# Local servers ignore the key but the SDK insists on one.
_NO_KEY = "not-needed"


@dataclass
class OpenAIAdapter:
    """A provider reached through `openai.OpenAI` (one HTTP call per request)."""

    name: str
    model: str
    api_key: str = field(repr=False)
    base_url: str
    timeout: float = 60.0
    max_tokens: int = 4096
    response_format: str = "json_schema"
    headers: dict[str, str] = field(default_factory=dict)
    token_param: str = "max_completion_tokens"
    cooldown_key: str | None = None
    #: False for a user's own key: its client lives for one call only, so the
    #: key is not kept in the worker's memory between jobs.
    reuse_client: bool = True

    @classmethod
    def from_config(
        cls, name: str, config: ProviderConfig, api_key: str | None, **extra
    ) -> OpenAIAdapter:
        """Build from a provider's settings block; `extra` overrides fields."""
        values = config_fields(name, config, api_key or _NO_KEY)
        values["response_format"] = config.response_format
        return cls(**{**values, **extra})

    def complete_spec(
        self, system: str, user: str, schema: dict, deadline: float
    ) -> ProviderReply:
        """One chat completion asking for a strategy spec as JSON."""
        headers = tuple(self.headers.items())
        if self.reuse_client:
            client = _client(self.base_url, self.api_key, headers)
        else:
            client = _client.__wrapped__(self.base_url, self.api_key, headers)
        request = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            self.token_param: self.max_tokens,
            "timeout": call_timeout(deadline, self.timeout),
        }
        response_format = _response_format(self.response_format, schema)
        if response_format is not None:
            request["response_format"] = response_format

        try:
            completion = client.chat.completions.create(**request)
        except openai.OpenAIError as exc:
            raise translate_sdk_error(exc, self.name, openai) from exc

        if not completion.choices:
            raise permanent(self.name, "bad_response", "sent an answer with no choices")
        message = completion.choices[0].message
        if getattr(message, "refusal", None):
            raise permanent(self.name, "refused", "refused to answer")

        usage = completion.usage
        return ProviderReply(
            text=message.content or "",
            tokens_in=usage.prompt_tokens if usage else 0,
            tokens_out=usage.completion_tokens if usage else 0,
            model=completion.model or self.model,
        )


def _response_format(kind: str, schema: dict) -> dict | None:
    if kind == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": "strategy_spec", "schema": schema, "strict": False},
        }
    if kind == "json_object":
        return {"type": "json_object"}
    return None


@lru_cache(maxsize=64)
def _client(
    base_url: str, api_key: str, headers: tuple[tuple[str, str], ...]
) -> openai.OpenAI:
    # One SDK client (and so one connection pool and TLS context) per endpoint
    # and key, shared by the jobs of a worker process; building one per job
    # costs more than the rest of the pipeline's overhead together.
    return openai.OpenAI(
        api_key=api_key,
        base_url=base_url,
        max_retries=0,
        default_headers=dict(headers) or None,
    )
