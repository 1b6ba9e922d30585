"""Translate SDK exceptions into PineForge's provider errors, at the boundary.

Both official SDKs (openai, anthropic) share one shape: a status error with
`status_code` and the response headers, a connection error, and a timeout
error beneath it. Messages are our own words: the SDKs' texts can echo part
of a key, so they never travel further than the chained `__cause__`.

Every translated error carries `details["outcome"]` (a short slug used in
attempt records), `details["reason"]` (what happened, in a few safe words) and,
when the provider said so, `details["retry_after"]` in seconds.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping

from engine.errors import PermanentProviderError, TransientProviderError

MAX_RETRY_AFTER = 300.0

# Status codes worth another try: throttling, request timeout, server trouble
# (Anthropic's 529 "overloaded" included by the >= 500 rule).
_TRANSIENT_STATUS = {408, 409, 425, 429}

_PERMANENT_WORDS = {
    400: ("bad_request", "rejected the request"),
    401: ("auth_error", "rejected the API key"),
    402: ("quota_exhausted", "has no credit left on this account"),
    403: ("forbidden", "refused access for this key"),
    404: ("not_found", "does not know this model or endpoint"),
    413: ("bad_request", "found the request too large"),
    422: ("bad_request", "rejected the request"),
}


def transient(
    provider: str, outcome: str, message: str, retry_after: float | None = None
) -> TransientProviderError:
    """Build a retryable provider error with our own wording."""
    details: dict = {"provider": provider, "outcome": outcome, "reason": message}
    if retry_after is not None:
        details["retry_after"] = retry_after
    return TransientProviderError(message=f"{provider} {message}", details=details)


def permanent(provider: str, outcome: str, message: str) -> PermanentProviderError:
    """Build a provider error that moves the chain on to the next provider."""
    details = {"provider": provider, "outcome": outcome, "reason": message}
    return PermanentProviderError(message=f"{provider} {message}", details=details)


def translate_sdk_error(exc: Exception, provider: str, sdk) -> Exception:
    """Map one openai/anthropic SDK exception onto our error tree.

    `sdk` is the SDK module itself (`openai` or `anthropic`); both expose the
    same class names. Raise the result `from exc`.
    """
    if isinstance(exc, sdk.APITimeoutError):
        return transient(provider, "timeout", "did not answer in time")
    if isinstance(exc, sdk.APIConnectionError):
        return transient(provider, "connection_error", "could not be reached")
    if not isinstance(exc, sdk.APIStatusError):
        return permanent(provider, "bad_response", "sent an answer we cannot read")

    status = exc.status_code
    if status == 429 and _is_quota_exhausted(exc.body):
        return permanent(provider, "quota_exhausted", "has no quota left (HTTP 429)")
    if status in _TRANSIENT_STATUS:
        retry_after = parse_retry_after(exc.response.headers)
        outcome = "rate_limited" if status == 429 else "busy"
        words = "is rate limiting us" if status == 429 else "asked us to retry"
        return transient(provider, outcome, f"{words} (HTTP {status})", retry_after)
    if status >= 500:
        retry_after = parse_retry_after(exc.response.headers)
        return transient(
            provider, "server_error", f"had a server error (HTTP {status})", retry_after
        )

    outcome, words = _PERMANENT_WORDS.get(status, ("http_error", "failed"))
    return permanent(provider, outcome, f"{words} (HTTP {status})")


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from `retry-after-ms` or `retry-after` (seconds or a date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return _bounded(float(millis) / 1000)
        except ValueError:
            pass

    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return _bounded(float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return _bounded(when.timestamp() - time.time())


def _bounded(seconds: float) -> float:
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _is_quota_exhausted(body: object) -> bool:
    # OpenAI answers an empty balance with 429 + code "insufficient_quota";
    # waiting does not help, so it is permanent, unlike ordinary throttling.
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        body = body["error"]
    return isinstance(body, Mapping) and body.get("code") == "insufficient_quota"
