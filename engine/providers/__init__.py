"""LLM provider adapters and the fallback chain in front of the offline composer.

base.py               ProviderAdapter protocol, ProviderReply
openai_adapter.py     OpenAI, OpenRouter, OpenAI-compatible servers
anthropic_adapter.py  Anthropic Messages with one forced tool
errors.py             SDK exceptions -> Transient/PermanentProviderError
chain.py              ProviderChain: retries, fallback, attempt records
cooldown.py           per-provider breaker shared through Redis
config.py             ProviderSettings (PINEFORGE_ env vars), prices
keys.py               KeySource, PlatformKeys, NoUserKeys
registry.py           build_adapters / build_chain for one job
"""

from engine.providers.base import ProviderAdapter, ProviderReply
from engine.providers.chain import Attempt, ProviderChain, RetryPolicy
from engine.providers.config import ProviderSettings, get_provider_settings
from engine.providers.keys import KeySource, NoUserKeys, PlatformKeys
from engine.providers.registry import build_adapters, build_chain

__all__ = [
    "Attempt",
    "KeySource",
    "NoUserKeys",
    "PlatformKeys",
    "ProviderAdapter",
    "ProviderChain",
    "ProviderReply",
    "ProviderSettings",
    "RetryPolicy",
    "build_adapters",
    "build_chain",
    "get_provider_settings",
]
