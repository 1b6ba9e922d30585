"""One declaration per endpoint: it validates the input and documents it.

``@operation(body=GenerateRequest, ...)`` parses the request with the model and
passes it to the view as ``body=``; web/openapi.py reads the same declaration
to write the OpenAPI document. A body that is not JSON, has the wrong media
type or fails the model is refused before the view touches anything.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from engine.errors import InvalidRequest, PayloadTooLarge
from web.errors import MalformedJson, UnsupportedMediaType
from web.input_text import refuse_unsafe_input

ModelT = TypeVar("ModelT", bound=BaseModel)

#: Validation messages name fields and rules, never echo a whole value back.
MAX_REPORTED_ERRORS = 20


@dataclass(frozen=True)
class RawResponse:
    """A documented response that is not JSON (a file download)."""

    media_type: str
    description: str


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    responses: dict[int, type[BaseModel] | RawResponse] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    description: str = ""
    #: Optional request headers the view reads: name -> JSON Schema.
    headers: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: An empty request (no body at all) stands for ``{}``.
    body_optional: bool = False


def validation_details(error: ValidationError, where: str) -> dict[str, Any]:
    """``details`` for a VALIDATION_ERROR: one entry per field, with its path."""
    errors = []
    for item in error.errors(include_url=False, include_input=False)[
        :MAX_REPORTED_ERRORS
    ]:
        path = ".".join(str(part) for part in item["loc"])
        errors.append(
            {"in": where, "field": path, "message": item["msg"], "type": item["type"]}
        )
    return {"errors": errors}


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or mimetype.endswith("+json")


def parse_body(model: type[ModelT]) -> ModelT:
    """Validate the JSON body of the current request with ``model``."""
    if not _is_json(request.mimetype):
        raise UnsupportedMediaType(details={"content_type": request.mimetype or None})

    raw = request.get_data(cache=True)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # werkzeug stops a chunked body at the limit without complaint; a body
        # that fills the limit is taken as one that went past it.
        raise PayloadTooLarge(details={"limit_bytes": limit})
    try:
        data = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise MalformedJson(message="The request body is not UTF-8 JSON.") from exc
    except json.JSONDecodeError as exc:
        details = {"line": exc.lineno, "column": exc.colno, "reason": exc.msg}
        raise MalformedJson(details=details) from exc
    except (RecursionError, ValueError) as exc:
        # Nesting past the parser's stack, or an integer too long to convert.
        raise MalformedJson(details={"reason": type(exc).__name__}) from None
    refuse_unsafe_input(data, "body")

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(details=validation_details(exc, "body")) from None


def parse_query(model: type[ModelT]) -> ModelT:
    """Validate the query string of the current request with ``model``."""
    values = request.args.to_dict(flat=True)
    refuse_unsafe_input(values, "query")
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise InvalidRequest(details=validation_details(exc, "query")) from None


def operation(
    summary: str,
    *,
    tag: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    responses: dict[int, type[BaseModel] | RawResponse] | None = None,
    errors: tuple[int, ...] = (),
    description: str = "",
    headers: dict[str, dict[str, Any]] | None = None,
    body_optional: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare an endpoint's input and output; validated input arrives as kwargs."""
    spec = Operation(
        summary=summary,
        tag=tag,
        body=body,
        query=query,
        responses=dict(responses or {}),
        errors=errors,
        description=description,
        headers=dict(headers or {}),
        body_optional=body_optional,
    )

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if query is not None:
                kwargs["query"] = parse_query(query)
            if body is not None and body_optional and not request.get_data():
                kwargs["body"] = body.model_validate({})
            elif body is not None:
                kwargs["body"] = parse_body(body)
            return view(*args, **kwargs)

        wrapper.operation = spec  # type: ignore[attr-defined]
        return wrapper

    return decorate
