"""Take the strategy spec out of a model's answer.

Models wrap JSON in code fences, preface it with chatter or trail it with
advice. We scan for the first balanced top-level `{...}` that parses as a JSON
object (string- and escape-aware, so braces inside strings do not count),
validate it with the spec model, and return either the spec or the list of
problems to send back in a repair round.

Those problems quote the model's own text back to it, which is what a repair
round needs and what a user must never see. :attr:`Extraction.summary` (and
:func:`error_summary`) says the same without any of it: field paths in the
spec's own words and a plain alphabet, pydantic error types and fixed words,
fit for a job's error.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Literal, get_args, get_origin

from pydantic import BaseModel, ValidationError

from engine import spec as spec_module
from engine.spec import StrategySpec, parse_spec

MAX_ANSWER_CHARS = 100_000
MAX_CANDIDATES = 50
MAX_ERRORS = 20
#: A field path shown to a user keeps only these characters, and this many.
_UNSAFE_PATH_CHARS = re.compile(r"[^A-Za-z0-9_.\[\]-]")
MAX_PATH_PART_CHARS = 40
MAX_PATH_CHARS = 100
UNKNOWN_PART = "[unknown]"


@dataclass(frozen=True)
class Extraction:
    """The outcome of reading one answer: a spec, or what is wrong with it."""

    spec: StrategySpec | None
    errors: list[str] = field(default_factory=list)
    json_text: str | None = None  # the object we found, for a repair prompt
    #: The errors without any of the answer's text, for a user to see.
    summary: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the answer held a valid spec."""
        return self.spec is not None


def extract_spec(answer: str) -> Extraction:
    """Find the JSON object in `answer` and validate it as a `StrategySpec`."""
    json_text, decode_error = _scan(answer)
    if json_text is None:
        problem = "the answer holds no JSON object"
        kind = "no_json_object"
        if decode_error:
            problem = f"the answer's JSON does not parse: {decode_error}"
            kind = "json_invalid"
        return Extraction(None, [problem], summary=[{"field": "", "type": kind}])
    try:
        spec = parse_spec(json_text)
    except ValidationError as exc:
        messages = validation_messages(exc)
        return Extraction(None, messages, json_text, error_summary(exc))
    return Extraction(spec, [], json_text)


def find_json_object(text: str) -> str | None:
    """The first balanced top-level `{...}` in `text` that parses as an object."""
    return _scan(text)[0]


def validation_messages(exc: ValidationError) -> list[str]:
    """pydantic errors as short 'where: what' lines, at most MAX_ERRORS."""
    lines = []
    for error in exc.errors(include_url=False)[:MAX_ERRORS]:
        where = ".".join(str(part) for part in error["loc"]) or "spec"
        lines.append(f"{where}: {error['msg']}")
    return lines


def error_summary(exc: ValidationError) -> list[dict[str, str]]:
    """pydantic errors as ``{"field", "type"}`` with no input text, at most MAX_ERRORS.

    Messages are left out because a validator's message may quote the value
    it refused; paths are told in the spec's own vocabulary (see
    :func:`safe_field_path`).
    """
    return [
        {"field": safe_field_path(error["loc"]), "type": error["type"]}
        for error in exc.errors(include_url=False, include_input=False)[:MAX_ERRORS]
    ]


def safe_field_path(loc: tuple) -> str:
    """``loc`` as a dotted path of at most MAX_PATH_CHARS plain characters.

    A part that is not an index, a spec field name or one of the spec's own
    literal values is a key the answer made up (an unknown field, a parameter
    name) and becomes ``[unknown]``.
    """
    known = _spec_vocabulary()
    parts = []
    for part in loc:
        if not isinstance(part, int) and part not in known:
            part = UNKNOWN_PART
        parts.append(_UNSAFE_PATH_CHARS.sub("", str(part))[:MAX_PATH_PART_CHARS])
    return ".".join(parts)[:MAX_PATH_CHARS]


@functools.cache
def _spec_vocabulary() -> frozenset[str]:
    # Field names, aliases and Literal values (union tags) of every spec model.
    words: set[str] = set()
    for value in vars(spec_module).values():
        if not (isinstance(value, type) and issubclass(value, BaseModel)):
            continue
        for name, info in value.model_fields.items():
            words.update(w for w in (name, info.alias) if w)
            if get_origin(info.annotation) is Literal:
                words.update(a for a in get_args(info.annotation) if isinstance(a, str))
    return frozenset(words)


def _scan(text: str) -> tuple[str | None, str | None]:
    # Returns (object text, first JSON error). A candidate that fails to parse
    # is skipped whole, so an object nested inside broken JSON is never taken
    # for the answer.
    text = text[:MAX_ANSWER_CHARS]
    first_error = None
    start = text.find("{")
    for _ in range(MAX_CANDIDATES):
        if start == -1:
            break
        end = _balanced_end(text, start)
        if end is None:
            start = text.find("{", start + 1)
            continue
        candidate = text[start : end + 1]
        try:
            if isinstance(json.loads(candidate), dict):
                return candidate, None
        except ValueError as exc:
            first_error = first_error or str(exc)
        start = text.find("{", end + 1)
    return None, first_error


def _balanced_end(text: str, start: int) -> int | None:
    depth = 0
    in_string = False
    escaped = False
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
    return None
