"""Exporting a version: its file name, who may receive it, the email it goes in.

Scripts are only ever mailed to the account's own address: anything else would
let the service send mail on a user's behalf to strangers.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.db.base import utcnow
from engine.db.models import Job, Strategy, StrategyVersion, User
from engine.errors import InvalidRequest, NotFound
from engine.mail import ScriptMail

MAX_SLUG_LENGTH = 60


def slugify(name: str) -> str:
    """A file name stem from a strategy name: ascii, lowercase, dashes."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:MAX_SLUG_LENGTH].rstrip("-") or "strategy"


def script_filename(strategy_name: str) -> str:
    """The .pine file name a strategy downloads and mails as."""
    return f"{slugify(strategy_name)}.pine"


def with_final_newline(code: str) -> str:
    """Scripts end with one newline, as editors expect."""
    return code if code.endswith("\n") else code + "\n"


def allowed_recipient(user: User, requested: str | bool | None) -> str:
    """The address to mail ``user``'s script to: only their own is accepted.

    ``True``, None or an empty value mean the account's address. Any other
    address is refused with a 422 EMAIL_NOT_ALLOWED.
    """
    if requested is None or requested is True or requested == "":
        return user.email
    if isinstance(requested, str) and (
        requested.strip().casefold() == user.email.casefold()
    ):
        return user.email
    raise InvalidRequest(
        code="EMAIL_NOT_ALLOWED",
        message="Scripts can only be emailed to your account's own address.",
        details={"field": "email"},
    )


def script_mail_for_job(
    session: Session, job: Job, strategy_url: str | None
) -> ScriptMail:
    """The email for a job's script: the version it exported or produced.

    Export jobs name their version by number (``base_version``); generation
    and refinement jobs by ``version_id`` once they succeeded. Raises NotFound
    when the strategy or version is gone (deleted, purged).
    """
    version = job_version(session, job)
    strategy = session.get(Strategy, version.strategy_id)
    if strategy is None or strategy.deleted_at is not None:
        raise NotFound(code="STRATEGY_NOT_FOUND", message="The strategy is gone.")
    user = session.get(User, job.user_id)
    if user is None:
        raise NotFound(message="The account is gone.")
    requested = ((job.options or {}).get("deliver") or {}).get("email")
    return ScriptMail(
        to=allowed_recipient(user, requested),
        strategy_name=strategy.name,
        version=version.number,
        filename=script_filename(strategy.name),
        code=with_final_newline(version.code),
        kind=job.kind,
        display_name=user.display_name,
        strategy_url=strategy_url,
    )


def job_version(session: Session, job: Job) -> StrategyVersion:
    """The version a job exported or produced, or NotFound (VERSION_NOT_FOUND)."""
    if job.version_id is not None:
        version = session.get(StrategyVersion, job.version_id)
    elif job.strategy_id is not None and job.base_version is not None:
        version = session.scalar(
            select(StrategyVersion).where(
                StrategyVersion.strategy_id == job.strategy_id,
                StrategyVersion.number == job.base_version,
            )
        )
    else:
        version = None
    if version is None:
        raise NotFound(code="VERSION_NOT_FOUND", message="The version is gone.")
    return version


def claim_delivery(
    session: Session, job_id: uuid.UUID, now: datetime | None = None
) -> bool:
    """Mark a job's email as going out; False if another run already did."""
    statement = (
        update(Job)
        .where(Job.id == job_id, Job.delivered_at.is_(None))
        .values(delivered_at=now or utcnow())
    )
    result = session.execute(
        statement, execution_options={"synchronize_session": False}
    )
    return result.rowcount == 1


def release_delivery(session: Session, job_id: uuid.UUID) -> None:
    """Forget a claim whose send failed, so a retry may send it."""
    session.execute(
        update(Job).where(Job.id == job_id).values(delivered_at=None),
        execution_options={"synchronize_session": False},
    )
