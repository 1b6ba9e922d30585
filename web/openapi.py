"""The OpenAPI 3.1 document, built from the routes and their pydantic models.

Every view declared with ``@operation`` (web/operations.py) contributes its
path, query parameters, body and responses; the schemas are the models'
own JSON Schemas, so what is documented is what is validated. The document is
built once per app and served at ``/api/v1/openapi.json``; ``/api/v1/docs`` is a
plain HTML page rendered from it, usable without any script or CDN.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, render_template_string
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from web.operations import Operation, RawResponse
from web.schemas import ErrorBody

API_PREFIX = "/api/v1"
API_TITLE = "PineForge API"
API_VERSION = "1.0.0"

ERROR_DESCRIPTIONS = {
    400: "Malformed JSON",
    401: "Missing, unknown or revoked access token",
    403: "Not allowed",
    404: "Unknown resource (or one owned by someone else)",
    409: "Conflicts with an earlier request",
    410: "Existed once, no longer available",
    413: "Request body too large",
    415: "Body is not JSON",
    422: "Validation failed; details.errors lists each field",
    429: "Too many requests",
    500: "Unexpected server error",
    503: "A dependency (database or broker) is unavailable",
}

_PATH_PARAM = re.compile(r"<(?:[a-z_]+:)?([a-z_]+)>")

bp = Blueprint("openapi", __name__, url_prefix=API_PREFIX)


def _operations(app: Flask) -> list[tuple[str, str, Any]]:
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        spec = getattr(view, "operation", None)
        if spec is None:
            continue
        path = _PATH_PARAM.sub(r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((path, method.lower(), view))
    return sorted(found, key=lambda item: (item[0], item[1]))


def _component_schemas(
    operations: list[tuple[str, str, Any]],
) -> dict[str, Any]:
    # A dict keeps first-seen order and drops repeats.
    models: dict[tuple[type[BaseModel], str], None] = {}
    models[(ErrorBody, "serialization")] = None
    for _path, _method, view in operations:
        spec: Operation = view.operation
        if spec.body is not None:
            models[(spec.body, "validation")] = None
        for response in spec.responses.values():
            if isinstance(response, type):
                models[(response, "serialization")] = None

    _keys, schema = models_json_schema(
        list(models), ref_template="#/components/schemas/{model}"
    )
    return schema.get("$defs", {})


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        prop.pop("title", None)
        parameters.append(
            {"name": name, "in": "query", "required": name in required, "schema": prop}
        )
    return parameters


def _responses(spec: Operation, secured: bool) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, model in sorted(spec.responses.items()):
        if isinstance(model, RawResponse):
            content = {model.media_type: {"schema": {"type": "string"}}}
            description = model.description
        else:
            content = {"application/json": {"schema": _ref(model)}}
            description = (model.__doc__ or model.__name__).strip().splitlines()[0]
        responses[str(status)] = {"description": description, "content": content}

    errors = set(spec.errors) | {500}
    if secured:
        errors.add(401)
    if spec.body is not None:
        errors |= {400, 413, 415, 422}
    if spec.query is not None:
        errors.add(422)
    for status in sorted(errors):
        responses[str(status)] = {
            "description": ERROR_DESCRIPTIONS.get(status, "Error"),
            "content": {"application/json": {"schema": _ref(ErrorBody)}},
        }
    return responses


def _operation_object(path: str, method: str, view: Any) -> dict[str, Any]:
    spec: Operation = view.operation
    secured = bool(getattr(view, "requires_auth", False))
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{([a-z_]+)}", path)
    ]
    if spec.query is not None:
        parameters += _query_parameters(spec.query)
    for name, schema in spec.headers.items():
        parameters.append({"name": name, "in": "header", "schema": schema})

    result: dict[str, Any] = {
        "operationId": view.__name__,
        "summary": spec.summary,
        "tags": [spec.tag],
        "parameters": parameters,
        "responses": _responses(spec, secured),
        "security": [{"bearerAuth": []}] if secured else [],
    }
    if spec.description:
        result["description"] = spec.description
    if spec.body is not None:
        schema = {"application/json": {"schema": _ref(spec.body)}}
        required = not spec.body_optional
        result["requestBody"] = {"required": required, "content": schema}
    return result


def build_openapi(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document for every ``@operation`` route of ``app``."""
    operations = _operations(app)
    paths: dict[str, dict[str, Any]] = {}
    for path, method, view in operations:
        paths.setdefault(path, {})[method] = _operation_object(path, method, view)

    return {
        "openapi": "3.1.0",
        "info": {
            "title": API_TITLE,
            "version": API_VERSION,
            "description": (
                "Plain-language trading ideas in, Pine Script v6 strategies out. "
                "Authenticate with `Authorization: Bearer pf_...`."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": _component_schemas(operations),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal access token (pf_...).",
                }
            },
        },
    }


def _document() -> dict[str, Any]:
    cache = current_app.extensions.setdefault("pineforge.openapi", {})
    if "document" not in cache:
        cache["document"] = build_openapi(current_app)
    return cache["document"]


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(_document())


DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ doc.info.title }}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
code,pre{background:#f4f4f4;padding:.1rem .3rem}
.m{display:inline-block;width:4rem;font-weight:bold}
section{border-top:1px solid #ddd;padding:.5rem 0}
</style></head><body>
<h1>{{ doc.info.title }} <small>{{ doc.info.version }}</small></h1>
<p>{{ doc.info.description }}</p>
<p>Machine-readable document: <a href="openapi.json">openapi.json</a>.
Every error has the body
<code>{"status": "error", "code", "message", "details"}</code>.</p>
{% for path, methods in doc.paths.items() %}{% for method, op in methods.items() %}
<section><h3><span class="m">{{ method|upper }}</span><code>{{ path }}</code></h3>
<p>{{ op.summary }}{% if op.security %} &middot; needs a token{% endif %}</p>
{% if op.parameters %}<p>Parameters:
{% for p in op.parameters -%}
<code>{{ p.name }}</code> ({{ p.in }}){{ ", " if not loop.last }}
{% endfor %}</p>{% endif %}
{% if op.requestBody %}<p>Body: <code>
{{ op.requestBody.content["application/json"].schema["$ref"].split("/")[-1] }}
</code></p>{% endif %}
<p>Responses: {% for status, r in op.responses.items() %}<code>{{ status }}</code>
{{ r.description }}{{ "; " if not loop.last }}{% endfor %}</p>
</section>{% endfor %}{% endfor %}
<h2>Schemas</h2>
{% for name, schema in doc.components.schemas.items() %}
<details><summary><code>{{ name }}</code></summary>
<pre>{{ schema|tojson(indent=2) }}</pre></details>{% endfor %}
</body></html>
"""


@bp.get("/docs")
def docs_page():
    return render_template_string(DOCS_PAGE, doc=_document())


def init_openapi(app: Flask) -> None:
    """Serve the document and the docs page."""
    app.register_blueprint(bp)
