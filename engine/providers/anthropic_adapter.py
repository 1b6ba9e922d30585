"""Anthropic's Messages API through the official SDK, with one forced tool.

The model is made to call a single tool whose `input_schema` is the spec's
JSON Schema, so its answer arrives as the tool's input object rather than
prose. We still validate it: the schema steers, the spec model decides.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache

import anthropic

from engine.providers.base import ProviderReply, call_timeout, config_fields
from engine.providers.config import ProviderConfig
from engine.providers.errors import permanent, translate_sdk_error

# As with openai: the SDK's DEBUG lines carry request bodies, i.e. prompts.
logging.getLogger("anthropic").setLevel(logging.INFO)

TOOL_NAME = "submit_strategy_spec"
_TOOL_DESCRIPTION = "Submit the strategy spec that implements the trader's request."


@dataclass
class AnthropicAdapter:
    """A provider reached through `anthropic.Anthropic` (one call per request)."""

    name: str
    model: str
    api_key: str = field(repr=False)
    base_url: str
    timeout: float = 60.0
    max_tokens: int = 4096
    cooldown_key: str | None = None
    #: False for a user's own key: its client lives for one call only.
    reuse_client: bool = True

    @classmethod
    def from_config(
        cls, name: str, config: ProviderConfig, api_key: str, **extra
    ) -> AnthropicAdapter:
        """Build from the provider's settings block; `extra` overrides fields."""
        return cls(**{**config_fields(name, config, api_key), **extra})

    def complete_spec(
        self, system: str, user: str, schema: dict, deadline: float
    ) -> ProviderReply:
        """One Messages call that must answer through the spec tool."""
        make = _client if self.reuse_client else _client.__wrapped__
        client = make(self.base_url, self.api_key)
        tool = {"name": TOOL_NAME, "description": _TOOL_DESCRIPTION}
        tool["input_schema"] = schema
        try:
            message = client.messages.create(
                model=self.model,
                max_tokens=self.max_tokens,
                system=system,
                messages=[{"role": "user", "content": user}],
                tools=[tool],
                tool_choice={"type": "tool", "name": TOOL_NAME},
                timeout=call_timeout(deadline, self.timeout),
            )
        except anthropic.AnthropicError as exc:
            raise translate_sdk_error(exc, self.name, anthropic) from exc

        if message.stop_reason == "refusal":
            raise permanent(self.name, "refused", "refused to answer")

        return ProviderReply(
            text=_answer_text(message.content),
            tokens_in=message.usage.input_tokens if message.usage else 0,
            tokens_out=message.usage.output_tokens if message.usage else 0,
            model=message.model or self.model,
        )


def _answer_text(blocks: list) -> str:
    for block in blocks:
        if block.type == "tool_use" and block.name == TOOL_NAME:
            return json.dumps(block.input)
    # No tool call after all: hand over any prose, extraction may find JSON in it.
    return "\n".join(block.text for block in blocks if block.type == "text")


@lru_cache(maxsize=64)
def _client(base_url: str, api_key: str) -> anthropic.Anthropic:
    # Shared per endpoint and key within a worker process, like the openai one.
    return anthropic.Anthropic(api_key=api_key, base_url=base_url, max_retries=0)
