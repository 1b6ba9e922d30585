"""Hostile request bodies get coded 4xx answers, never a 500, and never reach
the logs: deep nesting, huge numbers, control characters, values the database
refuses."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from engine.db import User
from tests.accounts_helpers import api_sign_in, bearer
from web import create_app
from web.db import db_session as request_session
from web.input_text import MAX_JSON_DEPTH

pytest_plugins = ["tests.accounts_web"]
pytestmark = pytest.mark.integration

GENERATE = "/api/v1/strategies/generate"
DEEP = "[" * 20000 + "]" * 20000
MARKER = "zq-secret-prompt-7731"


@pytest.fixture
def ada(web, oidc_provider) -> dict[str, str]:
    return bearer(api_sign_in(web, oidc_provider, "sub-input")["access_token"])


def _post_raw(web, path: str, raw: str | bytes, headers=None):
    return web.post(
        path, data=raw, content_type="application/json", headers=headers or {}
    )


def _assert_coded(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert (body["status"], body["code"]) == ("error", code)
    return body


@pytest.mark.parametrize(
    "path", ["/api/v1/auth/refresh", "/api/v1/auth/logout", GENERATE]
)
def test_deeply_nested_json_is_malformed_json_not_a_500(web, ada, path):
    response = _post_raw(web, path, DEEP, headers=ada)

    _assert_coded(response, 400, "MALFORMED_JSON")


def test_json_nested_past_the_depth_limit_is_malformed_json(web, ada):
    nested = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    raw = f'{{"request": {nested}}}'

    body = _assert_coded(_post_raw(web, GENERATE, raw, ada), 400, "MALFORMED_JSON")

    assert body["details"]["max_depth"] == MAX_JSON_DEPTH


def test_an_integer_too_long_to_convert_is_malformed_json(web):
    raw = '{"id_token": 1' + "0" * 5000 + "}"

    _assert_coded(_post_raw(web, "/api/v1/auth/google", raw), 400, "MALFORMED_JSON")


@pytest.mark.parametrize(
    ("method", "path", "field", "extra"),
    [
        ("post", GENERATE, "request", {}),
        ("patch", "/api/v1/users/profile", "bio", {}),
        ("patch", "/api/v1/users/profile", "display_name", {}),
        ("post", "/api/v1/users/tokens", "name", {}),
        ("post", "/api/v1/users/api-keys", "api_key", {"provider": "openai"}),
    ],
)
def test_nul_in_a_string_field_is_a_coded_422_and_stores_nothing(
    web, ada, db_session, method, path, field, extra
):
    payload = {field: f"EMA cross\u0000{MARKER}", **extra}

    response = getattr(web, method)(path, json=payload, headers=ada)

    body = _assert_coded(response, 422, "VALIDATION_ERROR")
    [error] = body["details"]["errors"]
    assert (error["in"], error["field"], error["type"]) == (
        "body",
        field,
        "control_character",
    )
    assert MARKER not in response.get_data(as_text=True)
    assert db_session.scalar(text("SELECT count(*) FROM jobs")) == 0
    assert db_session.scalar(text("SELECT count(*) FROM access_tokens")) == 0


def test_nul_deep_inside_a_body_is_found_and_named(web, ada):
    payload = {"request": "EMA", "options": {"symbol": "BTC\u0000USD"}}

    body = _assert_coded(
        web.post(GENERATE, json=payload, headers=ada), 422, "VALIDATION_ERROR"
    )

    assert body["details"]["errors"][0]["field"] == "options.symbol"


@pytest.mark.parametrize("character", ["\u0007", "\u001b", "\u000b"])
def test_other_control_characters_are_refused(web, ada, character):
    response = web.post(GENERATE, json={"request": f"EMA{character}"}, headers=ada)

    _assert_coded(response, 422, "VALIDATION_ERROR")


def test_tab_and_newline_still_pass_in_free_text(web, ada):
    response = web.post(
        GENERATE, json={"request": "EMA 9 / 21 cross\n\tlong only\r\n"}, headers=ada
    )

    assert response.status_code == 202, response.get_json()


@pytest.mark.parametrize(
    "raw",
    [b'{"request": "EMA \\ud800 cross"}', b'{"request": "EMA \xed\xa0\x80 cross"}'],
    ids=["escaped", "encoded"],
)
def test_a_lone_surrogate_is_refused_not_a_500(web, ada, raw):
    response = _post_raw(web, GENERATE, raw, ada)

    _assert_coded(response, 422, "VALIDATION_ERROR")


def test_a_control_character_in_a_key_is_refused_without_echoing_the_key(web, ada):
    raw = json.dumps({"request": "EMA", f"x\u0000{MARKER}": 1})

    response = _post_raw(web, GENERATE, raw, ada)

    _assert_coded(response, 422, "VALIDATION_ERROR")
    assert MARKER not in response.get_data(as_text=True)


def test_nul_in_the_query_string_is_a_coded_422(web, ada):
    response = web.get("/api/v1/strategies?q=ema%00cross", headers=ada)

    body = _assert_coded(response, 422, "VALIDATION_ERROR")
    assert body["details"]["errors"][0]["in"] == "query"


# ------------------------------------------------- the database's last word


@pytest.fixture
def db_app(database, db_session, redis_client):
    """The real app plus two routes that hand the database what it refuses."""
    app = create_app()
    app.testing = True

    @app.post("/test/store-nul")
    def store_nul():
        session = request_session()
        session.add(User(email=f"nul\u0000{MARKER}@example.com"))
        session.commit()
        return {"stored": True}

    @app.post("/test/unexpected-db-error")
    def unexpected_db_error():
        # A unique violation: PostgreSQL's DETAIL quotes the duplicated value.
        session = request_session()
        for _ in range(2):
            session.add(User(email=f"{MARKER}@example.com"))
            session.flush()
        return {"stored": True}

    return app


def test_a_value_the_database_refuses_is_a_coded_422(db_app, db_session, capsys):
    response = db_app.test_client().post("/test/store-nul")

    body = _assert_coded(response, 422, "VALIDATION_ERROR")
    assert body["details"]["request_id"]
    assert db_session.scalar(text("SELECT count(*) FROM users")) == 0
    assert MARKER not in capsys.readouterr().err


def test_an_unexpected_database_error_is_logged_without_values(db_app, capsys):
    response = db_app.test_client().post("/test/unexpected-db-error")

    _assert_coded(response, 500, "INTERNAL_ERROR")
    assert MARKER not in response.get_data(as_text=True)
    logged = capsys.readouterr().err
    assert "unhandled_database_error" in logged
    assert MARKER not in logged


def test_database_errors_never_carry_their_parameters(db_session):
    with pytest.raises(DBAPIError) as caught:
        db_session.execute(text("SELECT :value"), {"value": f"a\u0000{MARKER}"})
    db_session.rollback()

    assert MARKER not in str(caught.value)
    assert "hide_parameters" in str(caught.value)


def test_a_rejected_request_leaves_no_request_text_in_the_logs(web, ada, capsys):
    web.post(GENERATE, json={"request": f"EMA\u0000{MARKER}"}, headers=ada)
    web.post(GENERATE, json={"request": f"EMA {MARKER}"}, headers=ada)

    assert MARKER not in capsys.readouterr().err
