"""``users create`` and ``tokens create``: accounts made from the shell.

A token is printed once, on stdout alone, so ``$(pineforge tokens create me@x)``
captures it; only its SHA-256 digest is stored.
"""

from __future__ import annotations

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cli.services import prepare_local_services
from engine.db import User, session_scope
from engine.settings import get_settings


def find_user(session: Session, email: str) -> User | None:
    """The user with this email, compared without case."""
    wanted = email.strip().lower()
    return session.scalar(select(User).where(func.lower(User.email) == wanted))


def create_user(
    session: Session, email: str, name: str | None = None, plan: str = "free"
) -> User:
    """Insert a user; the email is stored lowercased."""
    user = User(email=email.strip().lower(), display_name=name, plan=plan)
    session.add(user)
    session.flush()
    return user


def _checked_email(email: str) -> str:
    email = email.strip()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 320:
        raise click.BadParameter(
            f"{email!r} is not an email address", param_hint="EMAIL"
        )
    return email


@click.group()
def users() -> None:
    """User accounts."""


@users.command("create")
@click.argument("email")
@click.option("--name", help="Display name.")
def users_create(email: str, name: str | None) -> None:
    """Create a user with EMAIL."""
    email = _checked_email(email)
    prepare_local_services(get_settings(), redis=False)
    with session_scope() as session:
        if find_user(session, email) is not None:
            raise click.ClickException(f"a user with email {email} already exists")
        user = create_user(session, email, name)
        user_id = user.id
    click.echo(f"created user {user_id} <{email.lower()}>")


@click.group()
def tokens() -> None:
    """Personal access tokens."""


@tokens.command("create")
@click.argument("email")
@click.option("--name", default="cli", show_default=True, help="A label for the token.")
def tokens_create(email: str, name: str) -> None:
    """Make an access token for the user with EMAIL and print it once."""
    prepare_local_services(get_settings(), redis=False)
    with session_scope() as session:
        user = find_user(session, email)
        if user is None:
            raise click.ClickException(
                f"no user with email {email}; run `pineforge users create {email}`"
            )
        # Imported here: the web package pulls in the Celery app, which would
        # start the embedded Redis for commands that never need it.
        from web.auth import issue_access_token

        token, _row = issue_access_token(session, user, name)
    click.echo(token)
    click.echo("Store it now: it is shown only once.", err=True)
