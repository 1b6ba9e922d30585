"""The generation pipeline: plain-language request in, validated script out.

`run_generation` makes a new spec; `run_refinement` changes an existing one
(the LLM sees it in the prompt, the offline composer edits a copy). Both then
go through the same stages:

    prompting  -> result cache lookup (hit: reuse the stored spec, no model call)
    calling_llm-> the provider chain in order; each answer is extracted and
                  validated, with up to two repair rounds, then SPEC_INVALID
    composing  -> the offline composer, the chain's last link (when enabled;
                  with no provider configured it is the only one)
    rendering  -> render_strategy(spec)
    validating -> validate_script(code); a failure is our bug: RENDER_INVALID

Only the spec and the rendered code leave this module, never raw model text.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pydantic import ValidationError

from engine.composer import compose_spec
from engine.composer.refine import refine_spec
from engine.errors import AllProvidersFailed, ComposeError, RenderInvalid, SpecInvalid
from engine.extract import error_summary, extract_spec
from engine.logging import get_logger
from engine.prompting import PromptBuilder, get_prompt_builder
from engine.providers.chain import Attempt, ProviderChain, SpecCall
from engine.providers.config import ProviderSettings, get_provider_settings
from engine.providers.keys import KeySource, NoUserKeys, PlatformKeys
from engine.providers.registry import build_chain
from engine.render import render_strategy
from engine.result_cache import ResultCache, cache_key
from engine.spec import StrategySpec, parse_spec, spec_to_data
from engine.validate import validate_script_cached as validate_script

log = get_logger(__name__)

MAX_REPAIR_ROUNDS = 2
OFFLINE = "offline"

StageCallback = Callable[[str, int], None]

#: The stage every run reports first; a worker may record it with its claim.
FIRST_STAGE = ("prompting", 10)
#: The stage of the model call, where a job with a provider spends its time.
CALLING_STAGE = ("calling_llm", 30)


@dataclass
class GenerationOutcome:
    """What a successful generation hands to the job: spec, code, accounting."""

    spec: dict
    code: str
    name: str
    description: str
    prompt_version: str | None
    provider: str
    model: str | None
    accounting: dict = field(default_factory=dict)


@dataclass
class _Made:
    spec: StrategySpec
    provider: str
    model: str | None
    prompt_version: str | None
    attempts: list[Attempt]
    cached: bool = False


def run_generation(
    request: str,
    options: Mapping | None,
    on_stage: StageCallback,
    *,
    user_id=None,
    key_source: KeySource | None = None,
    redis=None,
    chain: ProviderChain | None = None,
    settings: ProviderSettings | None = None,
    prompts: PromptBuilder | None = None,
) -> GenerationOutcome:
    """Turn one request into a validated strategy (see the module docstring).

    `redis` enables the shared cooldown and the result cache; `chain` replaces
    the chain built from settings, platform keys and `key_source`'s user keys.
    Raises SpecInvalid, AllProvidersFailed, ComposeError or RenderInvalid.
    """
    options = dict(options or {})
    return _run(
        request,
        options,
        on_stage,
        lambda builder: builder.build(request, options),
        lambda: compose_spec(request, options),
        _Links(user_id, key_source, redis, chain, settings, prompts),
    )


def run_refinement(
    instruction: str,
    current_spec: Mapping,
    options: Mapping | None,
    on_stage: StageCallback,
    *,
    user_id=None,
    key_source: KeySource | None = None,
    redis=None,
    chain: ProviderChain | None = None,
    settings: ProviderSettings | None = None,
    prompts: PromptBuilder | None = None,
) -> GenerationOutcome:
    """Change an existing spec as ``instruction`` says; same stages as generation.

    The LLM sees the current spec in the prompt (``refine.j2``) and answers
    with the whole updated spec; the offline composer applies the simple edits
    it understands (`engine.composer.refine`). Raises what `run_generation`
    raises, and SpecInvalid when ``current_spec`` itself no longer validates.
    """
    options = dict(options or {})
    try:
        current = parse_spec(dict(current_spec))
    except ValidationError as exc:
        raise SpecInvalid(
            message="The version being refined is no longer a valid spec.",
            details={"errors": error_summary(exc)},
        ) from None
    data = spec_to_data(current)
    return _run(
        instruction,
        {**options, "refine": data},
        on_stage,
        lambda builder: builder.build_refine(instruction, data, options),
        lambda: refine_spec(instruction, current),
        _Links(user_id, key_source, redis, chain, settings, prompts),
    )


@dataclass(frozen=True)
class _Links:
    """Where a run gets its providers, settings and prompts from."""

    user_id: object
    key_source: KeySource | None
    redis: object
    chain: ProviderChain | None
    settings: ProviderSettings | None
    prompts: PromptBuilder | None


def _run(
    text, shaping, on_stage, build_prompt, make_offline, links
) -> GenerationOutcome:
    settings = links.settings or get_provider_settings()
    started = time.monotonic()
    deadline = started + settings.llm_deadline_seconds

    on_stage(*FIRST_STAGE)
    prompts = links.prompts or get_prompt_builder(settings.llm_prompt_token_budget)
    cache = ResultCache(links.redis, settings.llm_result_cache_ttl_seconds)
    key = cache_key(text, shaping, prompts.fingerprint, owner=links.user_id)
    made = _from_cache(cache.get(key))
    if made is None:
        chain = links.chain or _chain_for(
            settings, links.user_id, links.key_source, links.redis
        )
        prompt = build_prompt(prompts) if chain.adapters else None
        made = _call_chain(
            prompt, make_offline, on_stage, chain, prompts, settings, deadline
        )
    return _finish(made, on_stage, settings, started, cache, key)


def _finish(made, on_stage, settings, started, cache, key) -> GenerationOutcome:
    on_stage("rendering", 70)
    code = render_strategy(made.spec)

    on_stage("validating", 85)
    # Cached by the code's digest: identical specs are common, and validation
    # is deterministic.
    report = validate_script(code)
    if not report.ok:
        log.error("render_invalid", issues=len(report.issues), provider=made.provider)
        raise RenderInvalid(details={"report": report.to_dict()})

    # Dumped once: the cache entry and the outcome share the same plain data.
    data = spec_to_data(made.spec)
    if not made.cached and made.provider != OFFLINE:
        cache.put(key, _cache_entry(made, data))
    accounting = _accounting(made, settings, time.monotonic() - started)
    log.info(
        "llm.generation_done",
        **{k: accounting[k] for k in ("provider", "model", "cached", "cost_usd")},
        latency_ms=accounting["latency_ms"],
    )
    return GenerationOutcome(
        spec=data,
        code=code,
        name=made.spec.name,
        description=made.spec.description,
        prompt_version=made.prompt_version,
        provider=made.provider,
        model=made.model,
        accounting=accounting,
    )


def _chain_for(settings, user_id, key_source, redis) -> ProviderChain:
    # The user's own keys (from the vault, through `key_source`) lead the chain.
    return build_chain(
        settings,
        platform_keys=PlatformKeys(settings).keys_for(None),
        user_keys=(key_source or NoUserKeys()).keys_for(user_id),
        user_id=user_id,
        redis_client=redis,
    )


def opening_stage(has_own_keys: bool, redis: object) -> tuple[str, int]:
    """The first stage a run will spend time in, for a worker's claim to record.

    Prompting takes a millisecond, so with a provider to call that is the model
    call; with none it is prompting, the offline composer following. (A result
    cache hit then goes on to rendering a millisecond later.) Reports stages
    run in a known order, so a worker recording this need not record the
    earlier ones when the run reports them.
    """
    if has_own_keys:
        return CALLING_STAGE
    settings = get_provider_settings()
    platform = _chain_for(settings, None, NoUserKeys(), redis)
    return CALLING_STAGE if platform.adapters else FIRST_STAGE


def _call_chain(
    prompt, make_offline, on_stage, chain, prompts, settings, deadline
) -> _Made:
    # The providers in order; the offline composer when they all fail (or
    # when there are none) and the settings allow it.
    attempts: list[Attempt] = []
    if chain.adapters:
        on_stage(*CALLING_STAGE)
        task = _answer_task(prompts, prompt, attempts)
        try:
            spec, adapter = chain.run(
                task, schema=prompts.schema, deadline=deadline, attempts=attempts
            )
        except AllProvidersFailed as failure:
            if not settings.llm_offline_fallback:
                raise
            lines = failure.details.get("attempts", [])
            return _offline(make_offline, on_stage, attempts, lines)
        model = next(a.model for a in reversed(attempts) if a.outcome == "ok")
        return _Made(spec, adapter.name, model, prompt.version, attempts)

    if not settings.llm_offline_fallback:
        raise AllProvidersFailed(details={"attempts": ["no provider is configured"]})
    return _offline(make_offline, on_stage, attempts, None)


def _answer_task(prompts: PromptBuilder, prompt, attempts: list[Attempt]):
    def ask(call: SpecCall) -> StrategySpec:
        user = prompt.user
        for round_number in range(MAX_REPAIR_ROUNDS + 1):
            reply = call(prompt.system, user)
            extraction = extract_spec(reply.text)
            if extraction.ok:
                return extraction.spec
            # The call itself worked; its answer did not.
            attempts[-1].outcome = "invalid_spec"
            log.info(
                "llm.answer_invalid",
                provider=attempts[-1].provider,
                repair_round=round_number,
                errors=len(extraction.errors),
            )
            user = prompts.repair(prompt, extraction.json_text, extraction.errors)
        raise SpecInvalid(
            message="The model's answer was not a valid strategy, even after repairs.",
            details={"errors": extraction.summary},
        )

    return ask


def _offline(make_spec, on_stage, attempts, failed_lines) -> _Made:
    on_stage("composing", 50)
    started = time.monotonic()
    try:
        spec = make_spec()
    except ComposeError as exc:
        if failed_lines is None:
            raise  # the composer is the only link: its own words say it best
        lines = [*failed_lines, f"offline composer: {exc.message}"]
        raise AllProvidersFailed(details={"attempts": lines}) from exc
    latency_ms = round((time.monotonic() - started) * 1000)
    attempts.append(Attempt(OFFLINE, None, "ok", latency_ms))
    if failed_lines:
        log.warning("llm.fell_back_to_offline", failed_providers=len(failed_lines))
    return _Made(spec, OFFLINE, None, None, attempts)


def _from_cache(entry: dict | None) -> _Made | None:
    if not entry:
        return None
    try:
        spec = parse_spec(entry["spec"])
    except (KeyError, ValidationError):
        return None  # stored under an older spec model: generate afresh
    provider, model = entry.get("provider", ""), entry.get("model")
    return _Made(spec, provider, model, entry.get("prompt_version"), [], cached=True)


def _cache_entry(made: _Made, data: dict) -> dict:
    return {
        "spec": data,
        "provider": made.provider,
        "model": made.model,
        "prompt_version": made.prompt_version,
    }


def _accounting(made: _Made, settings: ProviderSettings, elapsed: float) -> dict:
    tokens_in = sum(a.tokens_in for a in made.attempts)
    tokens_out = sum(a.tokens_out for a in made.attempts)
    cost = 0.0
    for attempt in made.attempts:
        if attempt.tokens_in or attempt.tokens_out:
            price = settings.estimate_cost(
                attempt.model, attempt.tokens_in, attempt.tokens_out
            )
            cost = None if price is None or cost is None else cost + price
    return {
        "provider": made.provider,
        "model": made.model,
        "attempts": [a.to_dict() for a in made.attempts],
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
        "latency_ms": round(elapsed * 1000),
        "cost_usd": round(cost, 6) if cost is not None else None,
        "cached": made.cached,
    }
