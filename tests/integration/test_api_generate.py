"""POST /api/v1/strategies/generate: input checks, the job row, idempotency."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.db import Job

pytestmark = pytest.mark.integration

GENERATE = "/api/v1/strategies/generate"
IDEA = "EMA 9 / EMA 21 crossover, 1.5% stop loss and 3% take profit"


def job_count(db_session) -> int:
    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(Job))


def assert_error(response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "error"
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], dict)
    return body


def test_submit_answers_202_with_job_and_status_url(client, auth, db_session):
    response = client.post(GENERATE, json={"request": IDEA}, headers=auth)

    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "queued"
    assert body["status_url"] == f"/api/v1/jobs/{body['job_id']}"
    assert response.headers["Location"] == body["status_url"]

    job = db_session.get(Job, uuid.UUID(body["job_id"]))
    assert job.request == IDEA
    assert job.status == "queued"


def test_submit_stores_normalised_options(client, auth, db_session):
    payload = {
        "request": f"  {IDEA}  ",
        "options": {"symbol": "BINANCE:BTCUSDT", "timeframe": "240"},
    }
    response = client.post(GENERATE, json=payload, headers=auth)

    assert response.status_code == 202
    job = db_session.scalar(select(Job))
    assert job.request == IDEA
    assert job.options == {"symbol": "BINANCE:BTCUSDT", "timeframe": "240"}


def test_malformed_json_is_a_coded_400_and_stores_nothing(client, auth, db_session):
    response = client.post(
        GENERATE, data='{"request": "EMA', content_type="application/json", headers=auth
    )

    body = assert_error(response, 400, "MALFORMED_JSON")
    assert body["details"]["line"] == 1
    assert job_count(db_session) == 0


def test_non_json_content_type_is_a_coded_415(client, auth, db_session):
    response = client.post(GENERATE, data=f"request={IDEA}", headers=auth)

    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert job_count(db_session) == 0


@pytest.mark.parametrize(
    ("payload", "field", "kind"),
    [
        ({}, "request", "missing"),
        ({"request": 42}, "request", "string_type"),
        ({"request": "   "}, "request", "string_too_short"),
        ({"request": "x" * 2001}, "request", "string_too_long"),
        ({"request": IDEA, "colour": "red"}, "colour", "extra_forbidden"),
        ({"request": IDEA, "options": []}, "options", "model_type"),
        ({"request": IDEA, "options": {"timeframe": "4 hours"}}, "options.timeframe",
         "string_pattern_mismatch"),
        ({"request": IDEA, "options": {"symbol": "BTC USD"}}, "options.symbol",
         "string_pattern_mismatch"),
        ({"request": IDEA, "options": {"deliver": {"webhook_url": "http://x"}}},
         "options.deliver.webhook_url", "extra_forbidden"),
    ],
)  # fmt: skip
def test_wrong_fields_are_422_with_field_paths(
    client, auth, db_session, payload, field, kind
):
    response = client.post(GENERATE, json=payload, headers=auth)

    body = assert_error(response, 422, "VALIDATION_ERROR")
    errors = body["details"]["errors"]
    assert {"in": "body", "field": field, "type": kind} == {
        key: errors[0][key] for key in ("in", "field", "type")
    }
    assert job_count(db_session) == 0


def test_a_json_array_body_is_a_validation_error(client, auth):
    response = client.post(GENERATE, json=[IDEA], headers=auth)

    body = assert_error(response, 422, "VALIDATION_ERROR")
    assert body["details"]["errors"][0]["type"] == "model_type"


def test_validation_errors_do_not_echo_the_input(client, auth):
    secret_looking = "sk-" + "a" * 40
    response = client.post(GENERATE, json={"request": [secret_looking]}, headers=auth)

    assert_error(response, 422, "VALIDATION_ERROR")
    assert secret_looking not in response.get_data(as_text=True)


def test_oversized_body_is_413_before_anything_else(client, auth, db_session):
    body = '{"request": "' + "x" * 70_000 + '"}'
    response = client.post(
        GENERATE, data=body, content_type="application/json", headers=auth
    )

    error = assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert error["details"]["limit_bytes"] == 64 * 1024
    assert job_count(db_session) == 0


def test_oversized_chunked_body_is_413_while_it_is_read(client, auth, db_session):
    # No Content-Length: the limit has to cut the stream itself. A server such
    # as gunicorn marks a de-chunked body as terminated.
    stream = io.BytesIO(b'{"request": "' + b"x" * 70_000 + b'"}')
    response = client.post(
        GENERATE,
        input_stream=stream,
        content_type="application/json",
        headers={**auth, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )

    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert job_count(db_session) == 0


def test_oversized_body_without_a_token_is_still_413(client):
    response = client.post(GENERATE, data="x" * 70_000, content_type="application/json")

    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


def test_repeat_with_the_same_idempotency_key_returns_the_first_job(
    client, auth, db_session
):
    headers = {**auth, "Idempotency-Key": "order-42"}
    first = client.post(GENERATE, json={"request": IDEA}, headers=headers)
    second = client.post(GENERATE, json={"request": IDEA}, headers=headers)

    assert first.status_code == 202
    assert second.status_code == 200
    assert second.get_json() == first.get_json()
    assert second.headers["Location"] == first.headers["Location"]
    assert job_count(db_session) == 1


def test_same_key_from_two_users_makes_two_jobs(client, auth, other_auth, db_session):
    key = {"Idempotency-Key": "shared-key"}
    mine = client.post(GENERATE, json={"request": IDEA}, headers={**auth, **key})
    theirs = client.post(
        GENERATE, json={"request": IDEA}, headers={**other_auth, **key}
    )

    assert mine.status_code == theirs.status_code == 202
    assert mine.get_json()["job_id"] != theirs.get_json()["job_id"]
    assert job_count(db_session) == 2


def test_same_key_with_a_different_request_is_a_409(client, auth, db_session):
    headers = {**auth, "Idempotency-Key": "order-43"}
    first = client.post(GENERATE, json={"request": IDEA}, headers=headers)
    second = client.post(GENERATE, json={"request": "RSI 14 < 30"}, headers=headers)

    body = assert_error(second, 409, "IDEMPOTENCY_KEY_REUSED")
    assert body["details"]["job_id"] == first.get_json()["job_id"]
    assert job_count(db_session) == 1


@pytest.mark.parametrize("key", ["k" * 129, "has space", "naïve"])
def test_malformed_idempotency_key_is_422(client, auth, db_session, key):
    headers = {**auth, "Idempotency-Key": key}
    response = client.post(GENERATE, json={"request": IDEA}, headers=headers)

    body = assert_error(response, 422, "VALIDATION_ERROR")
    assert body["details"]["errors"][0]["field"] == "Idempotency-Key"
    assert job_count(db_session) == 0


def test_submit_without_a_token_is_401_and_stores_nothing(client, db_session):
    response = client.post(GENERATE, json={"request": IDEA})

    assert_error(response, 401, "UNAUTHORIZED")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert job_count(db_session) == 0
