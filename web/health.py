"""``GET /api/v1/health``: is the database answering, is the broker answering.

No authentication: load balancers and ``pineforge up`` poll it. A failed check
says which dependency is down, never why (no driver text leaves the server).
"""

from __future__ import annotations

import redis
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from engine.errors import DependencyUnavailable
from engine.logging import get_logger
from engine.settings import Settings
from web.db import db_session
from web.operations import operation
from web.schemas import Health

CHECK_TIMEOUT_SECONDS = 2.0

bp = Blueprint("health", __name__, url_prefix="/api/v1")
log = get_logger(__name__)


def _redis_client_url(settings: Settings) -> str:
    # kombu spells a unix socket redis+socket://, redis-py spells it unix://.
    url = settings.broker_url
    if url.startswith("redis+socket://"):
        return "unix://" + url.removeprefix("redis+socket://")
    return url


def _report_failure(dependency: str, exc: Exception) -> None:
    log.warning("health_check_failed", dependency=dependency, error=type(exc).__name__)


def check_database() -> bool:
    try:
        db_session().execute(text("SELECT 1"))
    except Exception as exc:
        _report_failure("database", exc)
        return False
    return True


def check_broker(settings: Settings) -> bool:
    client = redis.Redis.from_url(
        _redis_client_url(settings),
        socket_timeout=CHECK_TIMEOUT_SECONDS,
        socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
    )
    try:
        return bool(client.ping())
    except Exception as exc:
        _report_failure("broker", exc)
        return False
    finally:
        client.close()


@bp.get("/health")
@operation(
    "Report whether the database and the broker answer",
    tag="health",
    responses={200: Health},
    errors=(503,),
)
def health():
    settings: Settings = current_app.extensions["pineforge.settings"]
    checks = {
        "database": "ok" if check_database() else "down",
        "broker": "ok" if check_broker(settings) else "down",
    }
    if "down" in checks.values():
        down = ", ".join(name for name, state in checks.items() if state == "down")
        raise DependencyUnavailable(message=f"Unavailable: {down}.", details=checks)
    return jsonify({"status": "ok", **checks})
