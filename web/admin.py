"""Routes only admins may call (users have ``role`` "user" or "admin")."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from engine.errors import Forbidden
from web.auth import current_user


def require_admin(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse (403) a signed-in user whose role is not ``admin``.

    Goes between ``@require_user`` and ``@operation``, so the refusal comes
    before the input is read; the view is marked ``admin_only``.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user().role != "admin":
            raise Forbidden(message="Only admins may do this.")
        return view(*args, **kwargs)

    wrapper.admin_only = True  # type: ignore[attr-defined]
    return wrapper
