"""Every route that takes an id refuses another user's id with a 404.

The matrix is read from the app's URL map, so a new route with an id parameter
fails here until it is given an owner's resource to try. Two kinds of route are
told apart by a mark on the view: admin routes (``admin_only``) must answer 403
to everyone else, and routes whose path names something public (``public_ids``:
the community, a handle) are covered by tests/integration/test_api_community.py.
"""

from __future__ import annotations

import re
import uuid

import pytest

from engine.accounts.api_keys import store_key
from engine.db import Job, Strategy, StrategyVersion, User
from engine.db.indicator_models import CustomIndicator
from tests.accounts_helpers import api_sign_in, bearer
from web.auth import issue_access_token

pytest_plugins = ["tests.accounts_web"]
pytestmark = pytest.mark.integration

OPENAI_KEY = "sk-proj-Matrix0123456789abcdefghijklmnopqrst"
PARAM = re.compile(r"<(?:[a-z_]+:)?([a-z_]+)>")
SPEC = {
    "name": "Ada's",
    "indicators": [{"id": "rsi", "kind": "rsi", "params": {"length": 14}}],
    "long": {
        "entry": {
            "type": "compare",
            "op": "<",
            "left": {"type": "indicator", "id": "rsi"},
            "right": {"type": "number", "value": 30},
        }
    },
}
#: What the owner sends to routes that need input: (query string, JSON body).
VALID_INPUT = {
    ("PATCH", "/api/v1/strategies/<strategy_id>"): ("", {"name": "Renamed"}),
    ("GET", "/api/v1/strategies/<strategy_id>/versions/diff"): ("?from=1&to=1", None),
    ("PUT", "/api/v1/strategies/<strategy_id>/versions/<int:number>/label"): (
        "",
        {"label": "first"},
    ),
    ("POST", "/api/v1/strategies/<strategy_id>/generate"): (
        "",
        {"instruction": "add alerts"},
    ),
    ("POST", "/api/v1/strategies/<strategy_id>/export"): ("", {"delivery": "email"}),
    ("PATCH", "/api/v1/indicators/custom/<indicator_id>"): ("", {"name": "Renamed"}),
}


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
        StrategyVersion(number=1, spec=SPEC, code="//@version=6\n", provider="offline")
    )
    db_session.add(strategy)
    db_session.flush()
    job = Job(user_id=ada_id, request="EMA cross", options={}, strategy_id=strategy.id)
    db_session.add(job)
    key = store_key(db_session, job.user_id, "openai", OPENAI_KEY)
    indicator = CustomIndicator(
        user_id=ada_id,
        kind="ada_close",
        name="Ada's close",
        category="custom",
        params=[],
        outputs=["value"],
        template="close",
    )
    db_session.add(indicator)
    db_session.commit()
    resources = {"job": job.id, "strategy": strategy.id, "key": key.id}
    return ada_tokens, ada_id, {**resources, "indicator": indicator.id}


def _ids(db_session, ada_id, resources):
    ada = db_session.get(User, ada_id)
    _token, row = issue_access_token(db_session, ada, "matrix")
    db_session.commit()
    return {
        "job_id": resources["job"],
        "strategy_id": resources["strategy"],
        "key_id": resources["key"],
        "token_id": row.id,
        "number": 1,
        "indicator_id": resources["indicator"],
        "kind": "rsi",
    }


def _id_routes(app):
    for rule in app.url_map.iter_rules():
        names = PARAM.findall(rule.rule)
        if not rule.rule.startswith("/api/v1/") or not names:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.rule, method, names


def _view(app, rule_text, method):
    for rule in app.url_map.iter_rules():
        if rule.rule == rule_text and method in rule.methods:
            return app.view_functions[rule.endpoint]
    raise LookupError(rule_text)


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
        view = _view(accounts_app, rule, method)
        admin_only = getattr(view, "admin_only", False)
        if getattr(view, "public_ids", False) and not admin_only:
            continue
        assert set(names) <= set(ids), f"no owned resource to try for {rule}"
        path = PARAM.sub(lambda m: str(ids[m.group(1)]), rule)
        response = _call(web, method, path, bob)
        if admin_only:
            assert response.status_code == 403, (method, rule, response.get_json())
            continue
        assert response.status_code == 404, (method, rule, response.get_json())
        assert response.get_json()["code"] == "NOT_FOUND"
        assert str(ids[names[0]]) not in response.get_data(as_text=True)
        tried.append((method, rule))

    assert len(tried) >= 5
    ada = bearer(ada_tokens["access_token"])
    # Deletes come after the routes that need their resource there, and
    # deleting the strategy comes last of all.
    deletes_strategy = ("DELETE", "/api/v1/strategies/<strategy_id>")
    order = {pair: (pair == deletes_strategy, pair[0] == "DELETE") for pair in tried}
    for method, rule in sorted(tried, key=order.__getitem__):
        path = PARAM.sub(lambda m: str(ids[m.group(1)]), rule)
        query, body = VALID_INPUT.get((method, rule), ("", None))
        response = web.open(path + query, method=method, headers=ada, json=body)
        assert response.status_code in (200, 201, 202, 204), (rule, response.json)


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
