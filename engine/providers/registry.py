"""Build adapters and the chain for one job from settings and keys."""

from __future__ import annotations

import hashlib
import threading

from engine.providers.base import ProviderAdapter
from engine.providers.chain import ProviderChain, RetryPolicy
from engine.providers.config import ProviderSettings
from engine.providers.cooldown import Cooldown
from engine.providers.openai_adapter import OpenAIAdapter

OWN_KEY_SUFFIX = " (own key)"

#: Chains kept per worker process; the cache is emptied when it fills up.
MAX_CACHED_CHAINS = 256

_chains: dict[tuple, tuple[ProviderSettings, object, ProviderChain]] = {}
_chains_lock = threading.Lock()


def build_adapter(
    name: str, settings: ProviderSettings, api_key: str | None
) -> ProviderAdapter | None:
    """One adapter for a provider name, or None when it cannot be used.

    A provider needs a key, except an OpenAI-compatible server, which needs a
    base URL instead (local servers usually take no key).
    """
    config = settings.provider(name)
    if name == "anthropic":
        if not api_key:
            return None
        # Imported on first use: the SDK is large, and most workers never call it.
        from engine.providers.anthropic_adapter import AnthropicAdapter

        return AnthropicAdapter.from_config(name, config, api_key)
    if name == "openai_compatible":
        if not config.base_url:
            return None
        return OpenAIAdapter.from_config(
            name, config, api_key, token_param="max_tokens"
        )
    if not api_key:
        return None
    if name == "openrouter":
        headers = {"X-Title": settings.openrouter_app_title}
        if settings.openrouter_app_url:
            headers["HTTP-Referer"] = settings.openrouter_app_url
        return OpenAIAdapter.from_config(
            name, config, api_key, headers=headers, token_param="max_tokens"
        )
    return OpenAIAdapter.from_config(name, config, api_key)


def build_adapters(
    settings: ProviderSettings,
    platform_keys: dict[str, str],
    user_keys: dict[str, str] | None = None,
    user_id: str | None = None,
) -> list[ProviderAdapter]:
    """The chain's links in order: the user's own keys first, then the platform's.

    A user's own key has its own cooldown, scoped to that user, so one user's
    revoked key never benches the platform's key for everybody else.
    """
    adapters: list[ProviderAdapter] = []
    scope = _user_scope(user_id)
    for name in settings.llm_providers:
        key = (user_keys or {}).get(name)
        if not key:
            continue
        adapter = build_adapter(name, settings, key)
        if adapter is not None:
            adapter.name = name + OWN_KEY_SUFFIX
            adapter.cooldown_key = f"{name}:user:{scope}"
            adapter.reuse_client = False
            adapters.append(adapter)

    for name in settings.llm_providers:
        adapter = build_adapter(name, settings, platform_keys.get(name))
        if adapter is not None:
            adapters.append(adapter)
    return adapters


def build_chain(
    settings: ProviderSettings,
    *,
    platform_keys: dict[str, str],
    user_keys: dict[str, str] | None = None,
    user_id: str | None = None,
    redis_client=None,
) -> ProviderChain:
    """A `ProviderChain` for one job, sharing cooldown state through Redis.

    Chains hold no per-job state, so one built for the same settings object,
    platform keys and Redis client is reused. A chain with a user's own keys is
    built for the job and dropped with it: a user's key is opened only in
    memory, for the call, never kept between jobs.
    """
    if user_keys:
        return _new_chain(settings, platform_keys, user_keys, user_id, redis_client)
    key = (id(settings), id(redis_client), tuple(sorted(platform_keys.items())))
    with _chains_lock:
        cached = _chains.get(key)
    # The objects themselves are compared: an id can be reused after one dies.
    if cached is not None and cached[0] is settings and cached[1] is redis_client:
        return cached[2]

    chain = _new_chain(settings, platform_keys, None, user_id, redis_client)
    with _chains_lock:
        if len(_chains) >= MAX_CACHED_CHAINS:
            _chains.clear()
        _chains[key] = (settings, redis_client, chain)
    return chain


def _new_chain(settings, platform_keys, user_keys, user_id, redis_client):
    adapters = build_adapters(settings, platform_keys, user_keys, user_id)
    return ProviderChain(
        adapters,
        policy=RetryPolicy.from_settings(settings),
        cooldown=Cooldown.from_settings(redis_client, settings),
    )


def _user_scope(user_id: str | None) -> str:
    # A digest, not the id itself: cooldown keys are visible to anyone with
    # access to Redis and need not say who the user is.
    return hashlib.sha256(str(user_id).encode()).hexdigest()[:16]
