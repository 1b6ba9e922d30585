"""Every error in the one body; request ids; the OpenAPI document and docs page."""

from __future__ import annotations

from typing import Any

import pytest

from web import create_app

pytestmark = pytest.mark.integration

ERROR_KEYS = {"status", "code", "message", "details"}


def test_unknown_route_is_a_coded_404(client):
    response = client.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.is_json
    assert set(response.get_json()) == ERROR_KEYS
    assert response.get_json()["code"] == "NOT_FOUND"


def test_wrong_method_is_a_coded_405_listing_allowed_ones(client, auth):
    response = client.put("/api/v1/strategies/generate", headers=auth)

    assert response.status_code == 405
    body = response.get_json()
    assert body["code"] == "METHOD_NOT_ALLOWED"
    assert "POST" in body["details"]["allowed"]
    assert "POST" in response.headers["Allow"]


def test_unexpected_exception_is_a_bare_500_without_trace(database):
    app = create_app()

    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("SELECT secret FROM vault WHERE key='sk-live-123'")

    response = app.test_client().get("/api/v1/boom", headers={"X-Request-ID": "r-1"})

    assert response.status_code == 500
    body = response.get_json()
    assert body == {
        "status": "error",
        "code": "INTERNAL_ERROR",
        "message": body["message"],
        "details": {"request_id": "r-1"},
    }
    text = response.get_data(as_text=True)
    assert "sk-live" not in text and "Traceback" not in text and "SELECT" not in text


def test_request_id_is_echoed_or_made_up(client):
    given = client.get("/api/v1/health", headers={"X-Request-ID": "abc-123"})
    made = client.get("/api/v1/health", headers={"X-Request-ID": "bad id; drop"})

    assert given.headers["X-Request-ID"] == "abc-123"
    assert made.headers["X-Request-ID"] not in ("", "bad id; drop")
    assert len(made.headers["X-Request-ID"]) == 32


def _resolve(document: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_openapi_document_describes_every_endpoint(client):
    document = client.get("/api/v1/openapi.json").get_json()

    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) >= {
        "/api/v1/health",
        "/api/v1/jobs",
        "/api/v1/jobs/{job_id}",
        "/api/v1/strategies/generate",
        "/api/v1/strategies/{strategy_id}",
        "/api/v1/strategies/{strategy_id}/export",
    }
    for ref in _refs(document):
        assert _resolve(document, ref), ref


def test_openapi_request_schema_is_the_validating_model(client):
    from web.schemas import GenerateRequest

    document = client.get("/api/v1/openapi.json").get_json()
    generate = document["paths"]["/api/v1/strategies/generate"]["post"]

    body_ref = generate["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = _resolve(document, body_ref)
    assert schema["required"] == ["request"]
    assert schema["properties"]["request"]["maxLength"] == (
        GenerateRequest.model_fields["request"].metadata[0].max_length
    )
    assert schema["additionalProperties"] is False
    assert {"202", "200", "400", "401", "409", "413", "415", "422"} <= set(
        generate["responses"]
    )
    assert generate["security"] == [{"bearerAuth": []}]
    header = generate["parameters"][0]
    assert (header["name"], header["in"]) == ("Idempotency-Key", "header")


def test_openapi_marks_health_public_and_lists_query_parameters(client):
    document = client.get("/api/v1/openapi.json").get_json()

    assert document["paths"]["/api/v1/health"]["get"]["security"] == []
    export = document["paths"]["/api/v1/strategies/{strategy_id}/export"]["get"]
    names = {(p["name"], p["in"]) for p in export["parameters"]}
    assert names == {("strategy_id", "path"), ("version", "query")}
    assert "text/plain" in export["responses"]["200"]["content"]


def test_docs_page_lists_the_endpoints(client):
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "/api/v1/strategies/generate" in page
    assert 'href="openapi.json"' in page
