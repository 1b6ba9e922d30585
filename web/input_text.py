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

    Walks ``data`` without recursion, so the walk itself cannot overflow.
    """
    bad: list[str] = []
    pending: list[tuple[Any, tuple | None, int]] = [(data, None, 1)]
    while pending:
        value, link, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise MalformedJson(
                message="The request body nests too deeply.",
                details={"max_depth": MAX_JSON_DEPTH},
            )
        if isinstance(value, str):
            if has_forbidden_characters(value):
                bad.append(_field(link))
        elif isinstance(value, dict):
            for key, item in value.items():
                if has_forbidden_characters(key):
                    # The key itself is never echoed back.
                    bad.append(_field((link, "<key>")))
                    continue
                pending.append((item, (link, key), depth + 1))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                pending.append((item, (link, str(index)), depth + 1))

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
