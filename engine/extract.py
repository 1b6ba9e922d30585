"""Take the strategy spec out of a model's answer.

Models wrap JSON in code fences, preface it with chatter or trail it with
advice. We scan for the first balanced top-level `{...}` that parses as a JSON
object (string- and escape-aware, so braces inside strings do not count),
validate it with the spec model, and return either the spec or the list of
problems to send back in a repair round.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pydantic import ValidationError

from engine.spec import StrategySpec, parse_spec

MAX_ANSWER_CHARS = 100_000
MAX_CANDIDATES = 50
MAX_ERRORS = 20


@dataclass(frozen=True)
class Extraction:
    """The outcome of reading one answer: a spec, or what is wrong with it."""

    spec: StrategySpec | None
    errors: list[str] = field(default_factory=list)
    json_text: str | None = None  # the object we found, for a repair prompt

    @property
    def ok(self) -> bool:
        """True when the answer held a valid spec."""
        return self.spec is not None


def extract_spec(answer: str) -> Extraction:
    """Find the JSON object in `answer` and validate it as a `StrategySpec`."""
    json_text, decode_error = _scan(answer)
    if json_text is None:
        problem = "the answer holds no JSON object"
        if decode_error:
            problem = f"the answer's JSON does not parse: {decode_error}"
        return Extraction(None, [problem])
    try:
        spec = parse_spec(json_text)
    except ValidationError as exc:
        return Extraction(None, validation_messages(exc), json_text)
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
