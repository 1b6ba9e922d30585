"""Rate limits with Flask-Limiter on Redis, answered in the standard error body.

* Auth routes share one budget per client IP (``PINEFORGE_AUTH_RATE_LIMIT``).
* Generation is limited per user, at their plan's requests per minute.

Limits are attached to the views after every blueprint is registered, so the
views' own modules stay free of limiter imports. A 429 says when to retry in
``Retry-After`` and in ``details.retry_after``, the same number in both, for
the limiter's refusals (the window's end) and for coded ones (their own value)
alike. No other response carries ``Retry-After``.
"""

from __future__ import annotations

import math
import time

from flask import Flask, Response, current_app, g
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from engine.accounts.config import AccountsSettings
from engine.accounts.plans import get_plan
from engine.errors import RateLimited
from engine.settings import Settings
from web.auth import authenticate
from web.errors import error_response

AUTH_ENDPOINTS = (
    "auth_google.login",
    "auth_google.callback",
    "auth_google.google_sign_in",
    "auth_session.refresh",
    "auth_session.logout",
    "auth_session.logout_all",
)
GENERATE_ENDPOINT = "strategies.generate"
#: Endpoints that start paid or outbound work, each limited at the plan's rate.
PLAN_LIMITED_ENDPOINTS = (GENERATE_ENDPOINT, "refine.refine", "exports.email_export")
DEFAULT_RETRY_AFTER = 1


def storage_uri(redis_url: str) -> str:
    """The limits library spells a unix socket ``redis+unix://``."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url.removeprefix("unix://")
    return redis_url


def _caller():
    # The limit is checked before the view's own authentication runs.
    user = g.get("user")
    if user is None:
        user = g.user = authenticate()
    return user


def _plan_key() -> str:
    user = _caller()
    return f"user:{user.id}:{user.plan}"


def _plan_limit() -> str:
    return get_plan(_caller().plan).rate_limit


def _retry_after(limiter: Limiter) -> int:
    current = limiter.current_limit
    if current is None:
        return DEFAULT_RETRY_AFTER
    # The store's expiry is rounded up to whole seconds; never past the window.
    window = current.limit.get_expiry()
    return max(1, min(window, math.ceil(current.reset_at - time.time())))


def _limited(error: RateLimitExceeded) -> Response:
    limiter: Limiter = current_app.extensions["pineforge.limiter"]
    retry_after = g.retry_after = _retry_after(limiter)
    coded = RateLimited(
        message="Too many requests; slow down.",
        details={"limit": str(error.limit.limit), "retry_after": retry_after},
    )
    return error_response(coded)


def _coded_limited(error: RateLimited) -> Response:
    retry_after = getattr(error, "retry_after", DEFAULT_RETRY_AFTER)
    error.details.setdefault("retry_after", retry_after)
    g.retry_after = error.details["retry_after"]
    return error_response(error)


def _settle_retry_after(response: Response) -> Response:
    # Flask-Limiter puts Retry-After on every response it counted, and
    # stretches a coded 429's value to the end of its own window; this hook
    # runs after it and leaves the header on 429s only, with their own value.
    if response.status_code != 429:
        response.headers.pop("Retry-After", None)
    elif g.get("retry_after") is not None:
        response.headers["Retry-After"] = str(g.retry_after)
    return response


def _wrap(app: Flask, endpoint: str, decorator) -> None:
    view = app.view_functions.get(endpoint)
    if view is not None:
        app.view_functions[endpoint] = decorator(view)


def init_limits(app: Flask, settings: Settings, accounts: AccountsSettings) -> Limiter:
    """Attach the limits; call after every blueprint is registered."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage_uri(settings.redis_url))
    app.config.setdefault("RATELIMIT_STRATEGY", "fixed-window")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", f"{settings.broker_key_prefix}pf:rl")
    # After-request hooks run last-registered first: this one must come
    # before the limiter's, so that it has the last word.
    app.after_request(_settle_retry_after)
    limiter = Limiter(key_func=get_remote_address, app=app)
    app.extensions["pineforge.limiter"] = limiter

    per_ip = limiter.shared_limit(
        accounts.auth_rate_limit, scope="auth", key_func=get_remote_address
    )
    for endpoint in AUTH_ENDPOINTS:
        _wrap(app, endpoint, per_ip)
    per_plan = limiter.limit(_plan_limit, key_func=_plan_key, scope="generate")
    for endpoint in PLAN_LIMITED_ENDPOINTS:
        _wrap(app, endpoint, per_plan)

    app.register_error_handler(RateLimitExceeded, _limited)
    app.register_error_handler(RateLimited, _coded_limited)
    return limiter
