"""The one small interface every LLM provider adapter keeps.

An adapter turns (system prompt, user prompt, spec JSON Schema) into the
model's answer text and its token counts. It makes exactly one HTTP call per
`complete_spec`: retries, fallback and cooldown belong to `ProviderChain`, so
the SDKs' own retries are always switched off.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from engine.providers.config import ProviderConfig

# Below this many seconds left, a call cannot finish; the chain stops trying.
MIN_CALL_SECONDS = 0.05


@dataclass(frozen=True)
class ProviderReply:
    """What one successful model call gave back."""

    text: str
    tokens_in: int
    tokens_out: int
    model: str


@runtime_checkable
class ProviderAdapter(Protocol):
    """One configured provider (plus model and key) that can be asked for a spec.

    `name` labels the link in attempts and logs ("openai", "openai (own key)").
    `cooldown_key` names the shared failure breaker in Redis; None disables it.
    """

    name: str
    model: str
    cooldown_key: str | None

    def complete_spec(
        self, system: str, user: str, schema: dict, deadline: float
    ) -> ProviderReply:
        """Ask the model once; `deadline` is an absolute `time.monotonic()` value.

        Raises TransientProviderError or PermanentProviderError, never an SDK
        exception.
        """
        ...


def call_timeout(deadline: float, cap: float) -> float:
    """Seconds one call may take: the provider's timeout, cut to the deadline."""
    return max(MIN_CALL_SECONDS, min(cap, deadline - time.monotonic()))


def config_fields(name: str, config: ProviderConfig, api_key: str) -> dict[str, Any]:
    """The adapter fields every provider's settings block fills in the same way."""
    return {
        "name": name,
        "model": config.model,
        "api_key": api_key,
        "base_url": config.base_url or "",
        "timeout": config.timeout,
        "max_tokens": config.max_tokens,
        "cooldown_key": name,
    }
