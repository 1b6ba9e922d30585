"""The account list endpoints run a fixed number of SQL statements, however many
rows they show (the same rule as tests/integration/test_library_queries.py)."""

from __future__ import annotations

import pytest

from engine.accounts.api_keys import PROVIDER_KEY_PREFIXES, PROVIDERS, store_key
from engine.accounts.audit import record
from engine.accounts.credits import grant_credits
from tests.library_helpers import counted_statements
from web.auth import issue_access_token

pytestmark = pytest.mark.integration


def _statements(client, auth, url):
    client.get(url, headers=auth)  # warm: token bookkeeping, lazy imports
    with counted_statements() as statements:
        response = client.get(url, headers=auth)
    assert response.status_code == 200, response.get_json()
    return len(statements)


def _add_credits(session, user, count):
    for _ in range(count):
        grant_credits(session, user.id, 1, reason="test")


def _add_audit(session, user, count):
    for n in range(count):
        record(session, user.id, "login", "127.0.0.1", "pytest", {"n": n})


def _add_tokens(session, user, count):
    for n in range(count):
        issue_access_token(session, user, f"script {n}")


def _add_keys(session, user, count):
    for provider in PROVIDERS[:count]:
        secret = PROVIDER_KEY_PREFIXES[provider] + "x" * 30
        store_key(session, user.id, provider, secret)


@pytest.mark.parametrize(
    ("url", "add", "few", "many"),
    [
        ("/api/v1/users/credits", _add_credits, 2, 12),
        ("/api/v1/users/audit", _add_audit, 2, 12),
        ("/api/v1/users/tokens", _add_tokens, 2, 12),
        ("/api/v1/users/api-keys", _add_keys, 1, 3),
    ],
)
def test_account_lists_do_not_query_per_row(
    client, auth, db_session, user, url, add, few, many
):
    add(db_session, user, few)
    db_session.commit()
    with_few = _statements(client, auth, url)

    add(db_session, user, many - few)
    db_session.commit()
    with_many = _statements(client, auth, url)

    assert with_many == with_few
