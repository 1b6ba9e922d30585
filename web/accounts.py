"""Wiring of the accounts part into the app, in one call.

``init_accounts`` runs after the core blueprints are registered (the limits
attach to their views) and before the OpenAPI document is built: JWT sessions
and their authenticator, Google sign-in, the auth and users blueprints, CORS
and security headers, then rate limits.
"""

from __future__ import annotations

from flask import Flask

from engine.accounts.config import get_accounts_settings
from engine.accounts.vault import load_vault
from engine.settings import Settings
from web import auth_google, auth_session, user_credentials, users
from web.limits import init_limits
from web.security import init_security
from web.tokens import init_tokens


def init_accounts(app: Flask, settings: Settings) -> None:
    """Register sign-in, tokens, users routes, hardening and rate limits."""
    accounts = get_accounts_settings()
    # Fail at start, not at the first stored key, when production has no keys.
    load_vault(settings, accounts)

    init_tokens(app, settings, accounts)
    auth_google.init_google(app, settings, accounts)
    app.register_blueprint(auth_google.bp)
    app.register_blueprint(auth_session.bp)
    app.register_blueprint(users.bp)
    app.register_blueprint(user_credentials.bp)
    init_security(app, settings, accounts)
    init_limits(app, settings, accounts)
