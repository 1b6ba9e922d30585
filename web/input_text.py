"""Checks every decoded request value passes before any model sees it.

JSON may nest at most :data:`MAX_JSON_DEPTH` deep; no request schema comes
near it, and a bound keeps validation and storage code from recursing on
hostile input. No string (key or value, body or query) may hold a C0 control
character other than tab, newline and carriage return, nor a lone surrogate:
PostgreSQL text and JSON cannot store NUL, psycopg cannot encode a surrogate,
and none of them belongs in any field. Checking once here covers every model,
including ones that take free-form JSON such as a strategy spec.
"""

from __future__ import annotations

import re
from typing import Any

from engine.errors import InvalidRequest
from web.errors import MalformedJson

MAX_JSON_DEPTH = 64
#: At most this many offending fields are named in one error.
MAX_REPORTED_FIELDS = 20
#: A reported field path is cut to this many characters.
MAX_FIELD_CHARS = 120
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
CONTROL_MESSAGE = "must not contain control characters other than tab and newline"


def has_forbidden_characters(text: str) -> bool:
    """True when ``text`` holds a character no request string may hold."""
    return _FORBIDDEN.search(text) is not None


def _field(link: tuple | None) -> str:
    # ``link`` is (parent link, key): the path is only spelled out when needed.
    parts: list[str] = []
    while link is not None:
        link, key = link
        parts.append(key)
    return ".".join(reversed(parts))[:MAX_FIELD_CHARS]


def refuse_unsafe_input(data: Any, where: str) -> None:
    """Raise MalformedJson (too deep) or InvalidRequest (bad characters).

    Walks ``data`` without recursion, so the walk itself cannot overflow; a
    path is spelled out only for a value that is refused.
    """
    bad: list[str] = []
    pending: list[tuple[Any, tuple | None, int]] = [(data, None, 1)]
    while pending:
        container, link, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise MalformedJson(
                message="The request body nests too deeply.",
                details={"max_depth": MAX_JSON_DEPTH},
            )
        if isinstance(container, dict):
            items: Any = container.items()
        elif isinstance(container, list):
            items = enumerate(container)
        else:
            # Only the top-level value can get here as a scalar.
            if isinstance(container, str) and has_forbidden_characters(container):
                bad.append(_field(link))
            continue
        for key, item in items:
            if isinstance(key, str) and has_forbidden_characters(key):
                bad.append(_field((link, "<key>")))  # never echo the key itself
            elif isinstance(item, dict | list):
                pending.append((item, (link, str(key)), depth + 1))
            elif isinstance(item, str) and has_forbidden_characters(item):
                bad.append(_field((link, str(key))))

    if bad:
        errors = [
            {
                "in": where,
                "field": field,
                "message": CONTROL_MESSAGE,
                "type": "control_character",
            }
            for field in sorted(set(bad))[:MAX_REPORTED_FIELDS]
        ]
        raise InvalidRequest(details={"errors": errors})
