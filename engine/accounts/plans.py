"""Plans: what a free, pro or admin account may do, as data.

Defaults live in :data:`DEFAULT_PLANS`; ``PINEFORGE_PLANS`` (a JSON object)
overrides any field of any plan or adds a plan, e.g.
``PINEFORGE_PLANS='{"free": {"monthly_credits": 20}}'``.

``queue_priority`` is a Celery priority for the Redis transport, where 0 is
served first and 9 last.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy.orm import Session

from engine.accounts.audit import AuditAction, record
from engine.accounts.config import AccountsSettings, get_accounts_settings
from engine.db.models import User
from engine.errors import InvalidRequest

FALLBACK_PLAN = "free"

DEFAULT_PLANS: dict[str, dict[str, int]] = {
    "free": {
        "monthly_credits": 100,
        "jobs_at_once": 2,
        "queued_limit": 20,
        "requests_per_minute": 30,
        "queue_priority": 6,
    },
    "pro": {
        "monthly_credits": 2000,
        "jobs_at_once": 8,
        "queued_limit": 100,
        "requests_per_minute": 120,
        "queue_priority": 3,
    },
    "admin": {
        "monthly_credits": 100_000,
        "jobs_at_once": 32,
        "queued_limit": 1000,
        "requests_per_minute": 1200,
        "queue_priority": 0,
    },
}


@dataclass(frozen=True)
class Plan:
    """The limits of one plan."""

    name: str
    monthly_credits: int
    #: Jobs of one user that workers run at the same time; more wait queued.
    jobs_at_once: int
    #: Jobs of one user that may be queued or running; a submit past it is a 429.
    queued_limit: int
    requests_per_minute: int
    queue_priority: int

    @property
    def rate_limit(self) -> str:
        """The plan's request budget in Flask-Limiter notation."""
        return f"{self.requests_per_minute}/minute"


def _build_plan(name: str, values: Mapping[str, Any]) -> Plan:
    names = {field.name for field in fields(Plan)} - {"name"}
    unknown = set(values) - names
    missing = names - set(values)
    if unknown or missing:
        raise ValueError(f"plan {name!r}: unknown {unknown or '-'}, missing {missing}")
    plan = Plan(name=name, **{key: int(values[key]) for key in names})
    limits = (plan.jobs_at_once - 1, plan.queued_limit - 1, plan.requests_per_minute)
    if min(plan.monthly_credits, *limits) < 0:
        raise ValueError(f"plan {name!r} has a negative or zero limit")
    if not 0 <= plan.queue_priority <= 9:
        raise ValueError(f"plan {name!r}: queue_priority must be 0..9")
    return plan


def load_plans(accounts: AccountsSettings | None = None) -> dict[str, Plan]:
    """Return every plan by name: the defaults with settings merged over them."""
    accounts = accounts or get_accounts_settings()
    merged = {name: dict(values) for name, values in DEFAULT_PLANS.items()}
    for name, override in accounts.plans.items():
        merged.setdefault(name, {}).update(override)
    return {name: _build_plan(name, values) for name, values in merged.items()}


def get_plan(name: str | None, accounts: AccountsSettings | None = None) -> Plan:
    """Return the plan called ``name``; an unknown name gets the free plan.

    A stored plan name that settings no longer define must not grant more than
    the least a user can have.
    """
    plans = load_plans(accounts)
    return plans.get(name or FALLBACK_PLAN) or plans[FALLBACK_PLAN]


def require_plan(name: str, accounts: AccountsSettings | None = None) -> Plan:
    """Return the plan called ``name`` or raise ``InvalidRequest``."""
    plans = load_plans(accounts)
    if name not in plans:
        raise InvalidRequest(
            message="Unknown plan.", details={"allowed": sorted(plans)}
        )
    return plans[name]


def change_plan(
    session: Session,
    user: User,
    name: str,
    *,
    actor_id: uuid.UUID | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> Plan:
    """Move ``user`` to plan ``name`` and audit it (the caller commits).

    The new plan's limits apply at once; its monthly credits from the next
    period, since this period's grant has been made already.
    """
    plan = require_plan(name)
    details = {"from": user.plan, "to": plan.name, "actor": str(actor_id or "")}
    user.plan = plan.name
    record(session, user.id, AuditAction.PLAN_CHANGED, ip, user_agent, details)
    return plan
