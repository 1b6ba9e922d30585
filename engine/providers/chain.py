"""The ordered fallback chain of LLM providers.

For each provider in order: skip it while its shared cooldown runs; otherwise
hand the caller's task a `call(system, user)` that asks this provider, retrying
transient failures (tenacity: exponential backoff with jitter, at least the
Retry-After the provider sent, never past the job deadline). A permanent
failure, or transient ones that outlast the retries, moves on to the next
provider at once. When none succeeds: `AllProvidersFailed`, with one line per
provider in `details["attempts"]`.

Exceptions other than provider errors raised by the task (`SpecInvalid`, for
instance) end the run: they are answers, not outages.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TypeVar

from tenacity import Retrying, retry_if_exception_type, wait_exponential_jitter

from engine.errors import AllProvidersFailed, ProviderError, TransientProviderError
from engine.logging import get_logger
from engine.providers.base import MIN_CALL_SECONDS, ProviderAdapter, ProviderReply
from engine.providers.cooldown import Cooldown
from engine.providers.errors import transient

log = get_logger(__name__)

T = TypeVar("T")
SpecCall = Callable[[str, str], ProviderReply]


@dataclass
class Attempt:
    """One call to one provider (or one skipped provider), for accounting."""

    provider: str
    model: str | None
    outcome: str
    latency_ms: int = 0
    tokens_in: int = 0
    tokens_out: int = 0

    def to_dict(self) -> dict:
        """Plain data for the job's accounting."""
        return asdict(self)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently one provider is retried."""

    max_attempts: int = 3
    backoff_initial: float = 0.5
    backoff_max: float = 8.0

    @classmethod
    def from_settings(cls, settings) -> RetryPolicy:
        """Build from `ProviderSettings`."""
        return cls(
            max_attempts=settings.llm_max_attempts,
            backoff_initial=settings.llm_backoff_initial,
            backoff_max=settings.llm_backoff_max,
        )


class ProviderChain:
    """Ordered adapters with retries, fallback and a shared cooldown."""

    def __init__(
        self,
        adapters: Sequence[ProviderAdapter],
        *,
        policy: RetryPolicy | None = None,
        cooldown: Cooldown | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.adapters = tuple(adapters)
        self.policy = policy or RetryPolicy()
        self.cooldown = cooldown or Cooldown(
            None, threshold=1, window_seconds=1, cooldown_seconds=1
        )
        self._sleep = sleep
        self._backoff = wait_exponential_jitter(
            multiplier=self.policy.backoff_initial,
            max=self.policy.backoff_max,
            jitter=self.policy.backoff_initial,
        )

    def run(
        self,
        task: Callable[[SpecCall], T],
        *,
        schema: dict,
        deadline: float,
        attempts: list[Attempt],
    ) -> tuple[T, ProviderAdapter]:
        """Run `task` against each provider in turn until one succeeds.

        `attempts` receives one record per call made (and per skipped
        provider), whether the run succeeds or not.
        """
        lines: list[str] = []
        for adapter in self.adapters:
            if self.cooldown.is_cooling(adapter.cooldown_key):
                attempts.append(
                    Attempt(adapter.name, adapter.model, "skipped_cooldown")
                )
                lines.append(f"{_label(adapter)}: skipped, cooling down after failures")
                log.warning("llm.provider_skipped", provider=adapter.name)
                continue

            calls_before = len(attempts)

            def call(system: str, user: str, adapter=adapter) -> ProviderReply:
                return self._call_with_retries(
                    adapter, system, user, schema, deadline, attempts
                )

            try:
                return task(call), adapter
            except ProviderError as exc:
                made = len(attempts) - calls_before
                lines.append(_failure_line(adapter, exc, made))
                log.warning(
                    "llm.provider_failed",
                    provider=adapter.name,
                    outcome=exc.details.get("outcome", exc.code.lower()),
                    attempts=made,
                )

        raise AllProvidersFailed(details={"attempts": lines})

    def _call_with_retries(
        self,
        adapter: ProviderAdapter,
        system: str,
        user: str,
        schema: dict,
        deadline: float,
        attempts: list[Attempt],
    ) -> ProviderReply:
        number = 0
        tripped = False

        def once() -> ProviderReply:
            nonlocal number, tripped
            if deadline - time.monotonic() < MIN_CALL_SECONDS:
                raise transient(adapter.name, "deadline", "was not asked in time")
            number += 1
            started = time.monotonic()
            try:
                reply = adapter.complete_spec(system, user, schema, deadline)
            except ProviderError as exc:
                outcome = exc.details.get("outcome", exc.code.lower())
                self._record(attempts, adapter, number, outcome, started)
                tripped = self.cooldown.record_failure(adapter.cooldown_key)
                if tripped:
                    log.warning("llm.cooldown_started", provider=adapter.name)
                raise
            self._record(attempts, adapter, number, "ok", started, reply)
            self.cooldown.record_success(adapter.cooldown_key)
            return reply

        def give_up(state) -> bool:
            if tripped or state.attempt_number >= self.policy.max_attempts:
                return True
            resume_at = time.monotonic() + state.upcoming_sleep
            return resume_at + MIN_CALL_SECONDS >= deadline

        retrying = Retrying(
            stop=give_up,
            wait=self._wait,
            retry=retry_if_exception_type(TransientProviderError),
            sleep=self._sleep,
            reraise=True,
        )
        return retrying(once)

    def _wait(self, state) -> float:
        error = state.outcome.exception()
        retry_after = 0.0
        if isinstance(error, ProviderError):
            retry_after = error.details.get("retry_after") or 0.0
        return max(self._backoff(state), retry_after)

    @staticmethod
    def _record(attempts, adapter, number, outcome, started, reply=None) -> None:
        latency_ms = round((time.monotonic() - started) * 1000)
        record = Attempt(adapter.name, adapter.model, outcome, latency_ms)
        if reply is not None:
            record.model = reply.model
            record.tokens_in, record.tokens_out = reply.tokens_in, reply.tokens_out
        attempts.append(record)

        fields = {"provider": adapter.name, "model": record.model, "attempt": number}
        fields.update(outcome=outcome, duration_ms=latency_ms)
        if reply is None:
            log.warning("llm.attempt", **fields)
            return
        fields.update(tokens_in=reply.tokens_in, tokens_out=reply.tokens_out)
        log.info("llm.attempt", **fields)


def _label(adapter: ProviderAdapter) -> str:
    return f"{adapter.name} ({adapter.model})"


def _failure_line(adapter: ProviderAdapter, exc: ProviderError, calls: int) -> str:
    reason = exc.details.get("reason") or exc.message
    plural = "call" if calls == 1 else "calls"
    return f"{_label(adapter)}: {reason} ({calls} {plural})"
