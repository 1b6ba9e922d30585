"""Provider keys and personal access tokens over HTTP: never shown, never stored
in clear, revocable."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from engine.accounts.api_keys import VaultKeySource
from engine.db import get_sessionmaker
from tests.accounts_helpers import api_sign_in, bearer

pytest_plugins = ["tests.accounts_web"]
pytestmark = pytest.mark.integration

KEYS = "/api/v1/users/api-keys"
TOKENS = "/api/v1/users/tokens"
OPENAI_KEY = "sk-proj-Secret0123456789abcdefghijklmnopQRST"
OPENROUTER_KEY = "sk-or-v1-0123456789abcdef0123456789abcdefZZ99"


@pytest.fixture
def ada(web, oidc_provider):
    return bearer(api_sign_in(web, oidc_provider, "sub-keys")["access_token"])


def _all_rows_text(db_session) -> str:
    tables = ["user_api_keys", "audit_events", "access_tokens", "credit_entries"]
    dump = []
    for table in tables:
        for row in db_session.execute(text(f"SELECT * FROM {table}")):
            for value in row:
                dump.append(
                    bytes(value).decode("latin-1")
                    if isinstance(value, bytes | memoryview)
                    else str(value)
                )
    return "\n".join(dump)


def test_added_key_comes_back_as_last_four_only(web, ada):
    created = web.post(
        KEYS, json={"provider": "openai", "api_key": OPENAI_KEY}, headers=ada
    )

    assert created.status_code == 201
    listed = web.get(KEYS, headers=ada)
    for response in (created, listed):
        assert OPENAI_KEY not in response.get_data(as_text=True)
        assert OPENAI_KEY[8:-4] not in response.get_data(as_text=True)
    [item] = listed.get_json()["items"]
    assert (item["provider"], item["last4"]) == ("openai", "QRST")


def test_raw_tables_hold_no_key_in_clear(web, ada, db_session):
    web.post(KEYS, json={"provider": "openai", "api_key": OPENAI_KEY}, headers=ada)
    web.post(
        KEYS, json={"provider": "openrouter", "api_key": OPENROUTER_KEY}, headers=ada
    )

    dump = _all_rows_text(db_session)

    for secret in (OPENAI_KEY, OPENROUTER_KEY):
        assert secret not in dump
        assert secret[6:-4] not in dump


def test_pipeline_opens_the_key_in_memory_and_marks_it_used(web, ada):
    web.post(KEYS, json={"provider": "openai", "api_key": OPENAI_KEY}, headers=ada)
    user_id = web.get("/api/v1/users/profile", headers=ada).get_json()["id"]

    assert VaultKeySource(get_sessionmaker()).keys_for(user_id) == {
        "openai": OPENAI_KEY
    }
    [item] = web.get(KEYS, headers=ada).get_json()["items"]
    assert item["last_used_at"] is not None


def test_key_for_the_wrong_provider_is_refused_without_echo(web, ada):
    response = web.post(
        KEYS, json={"provider": "anthropic", "api_key": OPENAI_KEY}, headers=ada
    )
    assert response.status_code == 422
    assert OPENAI_KEY not in response.get_data(as_text=True)


def test_deleted_key_is_gone_and_audited(web, ada):
    key_id = web.post(
        KEYS, json={"provider": "openai", "api_key": OPENAI_KEY}, headers=ada
    ).get_json()["id"]

    assert web.delete(f"{KEYS}/{key_id}", headers=ada).status_code == 204
    assert web.delete(f"{KEYS}/{key_id}", headers=ada).status_code == 404
    assert web.get(KEYS, headers=ada).get_json()["items"] == []
    actions = [
        e["action"] for e in web.get("/api/v1/users/audit", headers=ada).json["items"]
    ]
    assert actions[:2] == ["key_removed", "key_added"]


def test_personal_token_is_shown_once_listed_and_revocable(web, ada):
    created = web.post(TOKENS, json={"name": "ci"}, headers=ada)
    assert created.status_code == 201
    token = created.get_json()["token"]
    assert token.startswith("pf_")

    assert web.get("/api/v1/jobs", headers=bearer(token)).status_code == 200
    [item] = web.get(TOKENS, headers=ada).get_json()["items"]
    assert "token" not in item
    assert item["last_used_at"] is not None
    assert token not in web.get(TOKENS, headers=ada).get_data(as_text=True)

    assert web.delete(f"{TOKENS}/{item['id']}", headers=ada).status_code == 204
    revoked = web.get("/api/v1/jobs", headers=bearer(token))
    assert revoked.get_json()["code"] == "TOKEN_REVOKED"
    [item] = web.get(TOKENS, headers=ada).get_json()["items"]
    assert item["revoked_at"] is not None


def test_personal_token_is_stored_only_as_a_digest(web, ada, db_session):
    token = web.post(TOKENS, json={"name": "ci"}, headers=ada).get_json()["token"]
    assert token not in _all_rows_text(db_session)
