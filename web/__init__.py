"""The HTTP API: a thin Flask app in front of the database and the workers.

``create_app()`` wires one part at a time so the wiring can be read top to
bottom: request context (logs, size limit), database session, errors, auth,
then one blueprint per resource and the OpenAPI document built from them.
"""

from __future__ import annotations

from flask import Flask

from engine.settings import Settings, get_settings
from web import (
    community,
    exports,
    health,
    indicators,
    jobs,
    refine,
    strategies,
    versions,
)
from web.accounts import init_accounts
from web.auth import init_auth
from web.db import init_db
from web.errors import init_errors
from web.openapi import init_openapi
from web.request_context import init_request_context


def create_app(settings: Settings | None = None) -> Flask:
    """Build the API app from ``settings`` (default: the environment)."""
    settings = settings or get_settings()
    app = Flask(__name__)
    app.config["SECRET_KEY"] = settings.signing_secret()
    app.json.sort_keys = False
    app.extensions["pineforge.settings"] = settings

    init_request_context(app, settings)
    init_db(app, settings)
    init_errors(app)
    init_auth(app)

    app.register_blueprint(health.bp)
    app.register_blueprint(jobs.bp)
    app.register_blueprint(strategies.bp)
    app.register_blueprint(versions.bp)
    app.register_blueprint(refine.bp)
    app.register_blueprint(exports.bp)
    indicators.init_indicators(app, settings)
    community.init_community(app)
    init_accounts(app, settings)
    init_openapi(app)
    return app
