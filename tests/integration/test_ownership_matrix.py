"""Every route that takes an id refuses another user's id with a 404.

The matrix is read from the app's URL map, so a new route with an id parameter
fails here until it is given an owner's resource to try.
"""

from __future__ import annotations

import re
import uuid

import pytest

from engine.accounts.api_keys import store_key
from engine.db import Job, Strategy, StrategyVersion, User
from tests.accounts_helpers import api_sign_in, bearer
from web.auth import issue_access_token

pytest_plugins = ["tests.accounts_web"]
pytestmark = pytest.mark.integration

OPENAI_KEY = "sk-proj-Matrix0123456789abcdefghijklmnopqrst"
PARAM = re.compile(r"<(?:[a-z_]+:)?([a-z_]+)>")


@pytest.fixture
def owners(web, oidc_provider, db_session, make_user):
    """Ada (signed in with Google) owns one of everything; Bob uses a PAT."""
    ada_tokens = api_sign_in(web, oidc_provider, "sub-matrix-ada")
    ada_id = uuid.UUID(
        web.get(
            "/api/v1/users/profile", headers=bearer(ada_tokens["access_token"])
        ).get_json()["id"]
    )

    strategy = Strategy(user_id=ada_id, name="Ada's", description="", current_version=1)
    strategy.versions.append(
        StrategyVersion(number=1, spec={}, code="//@version=6\n", provider="offline")
    )
    db_session.add(strategy)
    db_session.flush()
    job = Job(user_id=ada_id, request="EMA cross", options={}, strategy_id=strategy.id)
    db_session.add(job)
    key = store_key(db_session, job.user_id, "openai", OPENAI_KEY)
    db_session.commit()
    return ada_tokens, ada_id, {"job": job.id, "strategy": strategy.id, "key": key.id}


def _ids(db_session, ada_id, resources):
    ada = db_session.get(User, ada_id)
    _token, row = issue_access_token(db_session, ada, "matrix")
    db_session.commit()
    return {
        "job_id": resources["job"],
        "strategy_id": resources["strategy"],
        "key_id": resources["key"],
        "token_id": row.id,
    }


def _id_routes(app):
    for rule in app.url_map.iter_rules():
        names = PARAM.findall(rule.rule)
        if not rule.rule.startswith("/api/v1/") or not names:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.rule, method, names


def _call(web, method, path, headers):
    return web.open(path, method=method, headers=headers)


@pytest.mark.parametrize("intruder_scheme", ["pat", "jwt"])
def test_every_route_refuses_another_users_ids(
    web, accounts_app, oidc_provider, owners, db_session, make_user, intruder_scheme
):
    ada_tokens, ada_id, resources = owners
    ids = _ids(db_session, ada_id, resources)
    if intruder_scheme == "jwt":
        bob = bearer(api_sign_in(web, oidc_provider, "sub-matrix-bob")["access_token"])
    else:
        token, _row = issue_access_token(db_session, make_user(), "bob")
        db_session.commit()
        bob = bearer(token)

    tried = []
    for rule, method, names in _id_routes(accounts_app):
        assert set(names) <= set(ids), f"no owned resource to try for {rule}"
        path = PARAM.sub(lambda m: str(ids[m.group(1)]), rule)
        response = _call(web, method, path, bob)
        assert response.status_code == 404, (method, rule, response.get_json())
        assert response.get_json()["code"] == "NOT_FOUND"
        assert str(ids[names[0]]) not in response.get_data(as_text=True)
        tried.append((method, rule))

    assert len(tried) >= 5
    ada = bearer(ada_tokens["access_token"])
    for method, rule in tried:
        path = PARAM.sub(lambda m: str(ids[m.group(1)]), rule)
        assert _call(web, method, path, ada).status_code in (200, 204), rule


def test_listings_never_show_another_users_rows(web, oidc_provider, owners):
    bob = bearer(api_sign_in(web, oidc_provider, "sub-matrix-bob2")["access_token"])

    for path in ("/api/v1/jobs", "/api/v1/users/api-keys", "/api/v1/users/tokens"):
        assert web.get(path, headers=bob).get_json()["items"] == [], path
    kinds = {
        e["kind"] for e in web.get("/api/v1/users/credits", headers=bob).json["items"]
    }
    assert kinds == {"grant"}
    actions = [
        e["action"] for e in web.get("/api/v1/users/audit", headers=bob).json["items"]
    ]
    assert actions == ["login"]
