"""Browser-facing hardening: CORS allowlist, security headers, client info.

CORS answers only origins listed in ``PINEFORGE_CORS_ORIGINS``; any other
origin gets no CORS headers at all, so the browser refuses to hand it the
response. Every response carries headers that forbid sniffing, framing and
referrers; account and auth responses are never cached.
"""

from __future__ import annotations

from flask import Flask, Response, request

from engine.accounts.config import AccountsSettings
from engine.settings import Settings

ALLOWED_HEADERS = (
    "Authorization, Content-Type, Idempotency-Key, X-CSRF-Token, X-Request-ID"
)
EXPOSED_HEADERS = (
    "Location, Retry-After, X-Request-ID, X-RateLimit-Limit, "
    "X-RateLimit-Remaining, X-RateLimit-Reset"
)
PREFLIGHT_MAX_AGE = "600"
NO_STORE_PREFIXES = ("/api/v1/auth", "/api/v1/users")
# The docs page has an inline stylesheet and nothing else.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)


def client_ip() -> str | None:
    """The caller's address as the WSGI server saw it (a proxy sets it right)."""
    return request.remote_addr


def client_agent() -> str | None:
    """The caller's User-Agent, cut to what the audit trail stores."""
    agent = request.headers.get("User-Agent", "")
    return agent[:256] or None


def cookies_secure(settings: Settings, accounts: AccountsSettings) -> bool:
    """Secure cookies unless running embedded or under test on plain HTTP."""
    if accounts.cookie_secure is not None:
        return accounts.cookie_secure
    return settings.env not in ("embedded", "test", "development")


def _cors(response: Response, allowed: frozenset[str]) -> None:
    origin = request.headers.get("Origin", "").rstrip("/")
    response.vary.add("Origin")
    if not origin or origin not in allowed:
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Credentials"] = "true"
    response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = (
            "GET, POST, PATCH, DELETE, OPTIONS"
        )
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE


def _security_headers(response: Response, hsts: bool) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if hsts:
        headers.setdefault(
            "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
        )
    if request.path.startswith(NO_STORE_PREFIXES):
        headers["Cache-Control"] = "no-store"


def init_security(app: Flask, settings: Settings, accounts: AccountsSettings) -> None:
    """CORS from the allowlist and security headers on every response."""
    allowed = frozenset(accounts.cors_origin_list())
    secure = cookies_secure(settings, accounts)

    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"  # survives the sign-in redirect
    app.config["SESSION_COOKIE_SECURE"] = secure

    @app.after_request
    def _harden(response: Response) -> Response:
        _cors(response, allowed)
        _security_headers(response, hsts=secure)
        return response
