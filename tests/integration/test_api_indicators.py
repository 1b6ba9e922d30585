"""/api/v1/indicators: the catalog, categories, custom indicators, admin edits."""

from __future__ import annotations

import copy

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from engine.catalog import CATALOG, CATEGORIES
from engine.library.catalog_store import CatalogStore
from engine.library.strategies import manual_version
from engine.settings import get_settings
from tests.community_helpers import SMOOTH_RSI
from web.catalog_common import user_catalog

pytest_plugins = ["tests.community_fixtures"]
pytestmark = pytest.mark.integration

URL = "/api/v1/indicators"


def create(client, auth, **changes):
    return client.post(f"{URL}/custom", json={**SMOOTH_RSI, **changes}, headers=auth)


def all_entries(client, auth, **params):
    response = client.get(URL, query_string={"size": 200, **params}, headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_catalog_lists_every_builtin_with_params_and_outputs(client, auth):
    items = all_entries(client, auth)

    assert [item["kind"] for item in items] == list(CATALOG)
    rsi = next(item for item in items if item["kind"] == "rsi")
    assert rsi["builtin"] is True and rsi["overridden"] is False
    assert rsi["outputs"] == ["value"]
    assert {key: rsi["params"][1][key] for key in ("name", "type", "default")} == {
        "name": "length",
        "type": "int",
        "default": 14,
    }


def test_catalog_filters_by_category_text_and_source(client, auth):
    momentum = all_entries(client, auth, category="momentum")
    assert {item["category"] for item in momentum} == {"momentum"}
    assert "rsi" in {item["kind"] for item in momentum}

    found = all_entries(client, auth, q="volume weighted")
    assert {item["kind"] for item in found} == {"vwma", "vwap", "mfi"}
    assert create(client, auth).status_code == 201
    assert [i["kind"] for i in all_entries(client, auth, source="custom")] == [
        "my_rsi_smooth"
    ]


def test_catalog_pages_with_a_next_link(client, auth):
    first = client.get(URL, query_string={"size": 10}, headers=auth).get_json()
    second = client.get(first["next"], headers=auth).get_json()

    assert len(first["items"]) == len(second["items"]) == 10
    assert first["items"][-1]["kind"] != second["items"][0]["kind"]
    assert second["page"] == 2


def test_categories_count_builtins_and_your_own(client, auth, other_auth):
    assert create(client, auth, category="smoothing").status_code == 201

    mine = client.get(f"{URL}/categories", headers=auth).get_json()["items"]
    theirs = client.get(f"{URL}/categories", headers=other_auth).get_json()["items"]

    counts = {item["category"]: item["count"] for item in mine}
    assert set(CATEGORIES) <= set(counts)
    assert counts["smoothing"] == 1
    assert counts["momentum"] == sum(e.category == "momentum" for e in CATALOG.values())
    assert "smoothing" not in {item["category"] for item in theirs}


def test_custom_indicator_crud(client, auth):
    created = create(client, auth)
    assert created.status_code == 201
    body = created.get_json()
    assert body["builtin"] is False and body["kind"] == "my_rsi_smooth"
    assert created.headers["Location"].endswith(f"/custom/{body['id']}")

    item_url = f"{URL}/custom/{body['id']}"
    assert client.get(item_url, headers=auth).get_json() == body
    changed = client.patch(
        item_url,
        json={"name": "Smoother RSI", "template": SMOOTH_RSI["template"] + " * 1.0"},
        headers=auth,
    )
    assert changed.status_code == 200
    assert changed.get_json()["title"] == "Smoother RSI"
    listed = client.get(f"{URL}/custom", headers=auth).get_json()["items"]
    assert [item["title"] for item in listed] == ["Smoother RSI"]

    assert client.delete(item_url, headers=auth).status_code == 204
    assert client.get(item_url, headers=auth).status_code == 404
    assert all_entries(client, auth, source="custom") == []


def test_custom_kind_must_be_new_for_its_owner(client, auth, other_auth):
    assert create(client, auth).status_code == 201

    again = create(client, auth)
    assert again.status_code == 409
    assert again.get_json()["code"] == "INDICATOR_KIND_TAKEN"
    assert create(client, other_auth).status_code == 201
    builtin = create(client, auth, kind="ema")
    assert builtin.status_code == 422


def test_template_that_does_not_parse_is_refused_with_a_coded_422(client, auth):
    response = create(client, auth, template="ta.ema(ta.rsi({{ source }}, {{ length }}")

    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "INDICATOR_TEMPLATE_INVALID"
    assert "does not parse" in body["message"]
    assert body["details"]["problem"].startswith("the Pine expression does not parse")
    assert all_entries(client, auth, source="custom") == []


def test_template_reaching_for_python_internals_is_refused(client, auth):
    response = create(client, auth, template="{{ ''.__class__ }}", params=[])

    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "INDICATOR_TEMPLATE_INVALID"
    assert "__class__" not in body["message"] or "placeholders" in body["message"]
    assert "<class" not in response.get_data(as_text=True)


def test_a_patch_that_breaks_the_template_changes_nothing(client, auth):
    item_url = f"{URL}/custom/{create(client, auth).get_json()['id']}"

    response = client.patch(item_url, json={"template": "ta.rsi(("}, headers=auth)

    assert response.get_json()["code"] == "INDICATOR_TEMPLATE_INVALID"
    assert (
        client.get(item_url, headers=auth).get_json()["template"]
        == (SMOOTH_RSI["template"])
    )


def test_custom_indicator_in_a_spec_renders_and_validates_clean(
    client, auth, user, db_session, api_app
):
    assert create(client, auth).status_code == 201
    spec = {
        "name": "Smoothed RSI dip",
        "indicators": [
            {"id": "srsi", "kind": "my_rsi_smooth", "params": {"length": 21}}
        ],
        "long": {
            "entry": {
                "type": "cross",
                "direction": "above",
                "left": {"type": "indicator", "id": "srsi"},
                "right": {"type": "number", "value": 30},
            }
        },
    }
    with api_app.test_request_context(), user_catalog(user.id):
        version = manual_version(spec)

    assert "srsi_value = ta.ema(ta.rsi(srsi_source, srsi_length), srsi_smooth)" in (
        version.code
    )
    assert version.spec["indicators"][0]["kind"] == "my_rsi_smooth"


def _smoothed_rsi_spec(length: int) -> dict:
    return {
        "name": "Smoothed RSI dip",
        "indicators": [
            {"id": "srsi", "kind": "my_rsi_smooth", "params": {"length": length}}
        ],
        "long": {
            "entry": {
                "type": "cross",
                "direction": "above",
                "left": {"type": "indicator", "id": "srsi"},
                "right": {"type": "number", "value": 30},
            }
        },
    }


def test_the_library_stores_specs_using_your_own_indicator(client, auth, other_auth):
    assert create(client, auth).status_code == 201

    made = client.post(
        "/api/v1/strategies", json={"spec": _smoothed_rsi_spec(21)}, headers=auth
    )
    assert made.status_code == 201, made.get_json()
    strategy_url = f"/api/v1/strategies/{made.get_json()['id']}"
    changed = client.patch(
        strategy_url, json={"spec": _smoothed_rsi_spec(34)}, headers=auth
    )
    reverted = client.post(f"{strategy_url}/versions/1/revert", headers=auth)
    stranger = client.post(
        "/api/v1/strategies", json={"spec": _smoothed_rsi_spec(21)}, headers=other_auth
    )

    assert changed.status_code == 200, changed.get_json()
    assert reverted.status_code == 201, reverted.get_json()
    assert "srsi_length = input.int(21" in reverted.get_json()["code"]
    assert stranger.status_code == 422
    assert stranger.get_json()["code"] == "SPEC_INVALID"


def test_other_users_custom_indicators_are_not_found(client, auth, other_auth):
    item_url = f"{URL}/custom/{create(client, auth).get_json()['id']}"

    for method in ("GET", "PATCH", "DELETE"):
        kwargs = {"json": {"name": "Mine"}} if method == "PATCH" else {}
        response = client.open(item_url, method=method, headers=other_auth, **kwargs)
        assert response.status_code == 404, method
        assert response.get_json()["code"] == "NOT_FOUND"
    assert client.get(f"{URL}/custom/not-a-uuid", headers=auth).status_code == 404
    assert client.get(item_url, headers=auth).status_code == 200


def test_only_admins_edit_builtins(client, auth):
    response = client.patch(f"{URL}/rsi", json={"description": "Mine"}, headers=auth)

    assert response.status_code == 403
    assert response.get_json()["code"] == "FORBIDDEN"


def test_admin_edit_shows_at_once_despite_the_cache(client, auth, admin_auth):
    before = {i["kind"]: i for i in all_entries(client, auth)}["rsi"]
    assert before["description"] == CATALOG["rsi"].description
    prefix = f"{get_settings().broker_key_prefix}pf:catalog:builtins"
    redis = client.application.extensions["pineforge.redis"]
    assert redis.exists(f"{prefix}:0")  # the read filled the cache

    edited = client.patch(
        f"{URL}/rsi",
        json={
            "description": "Tuned by the desk",
            "category": "oscillator",
            "params": {"length": {"default": 21, "min": 5, "max": 60}},
        },
        headers=admin_auth,
    )
    assert edited.status_code == 200, edited.get_json()

    after = {i["kind"]: i for i in all_entries(client, auth)}["rsi"]
    assert after["description"] == "Tuned by the desk"
    assert after["category"] == "oscillator" and after["overridden"] is True
    length = after["params"][1]
    assert (length["default"], length["min"], length["max"]) == (21, 5, 60)
    assert not redis.exists(f"{prefix}:0")
    assert redis.exists(f"{prefix}:1")


def test_admin_edit_refuses_bounds_wider_than_the_builtin(client, admin_auth):
    response = client.patch(
        f"{URL}/rsi",
        json={"params": {"length": {"min": 0}, "bogus": {"default": 1}}},
        headers=admin_auth,
    )

    assert response.status_code == 422
    messages = [e["message"] for e in response.get_json()["details"]["errors"]]
    assert any("below the built-in's 1" in m for m in messages)
    assert any("no parameter 'bogus'" in m for m in messages)
    unknown = client.patch(f"{URL}/nope", json={}, headers=admin_auth)
    assert unknown.status_code == 404


def test_admin_can_reset_an_override(client, auth, admin_auth):
    client.patch(
        f"{URL}/ema",
        json={"description": "X", "params": {"length": {"default": 50}}},
        headers=admin_auth,
    )

    reset = client.patch(
        f"{URL}/ema",
        json={"description": None, "params": {"length": None}},
        headers=admin_auth,
    )

    assert reset.get_json()["overridden"] is False
    ema = {i["kind"]: i for i in all_entries(client, auth)}["ema"]
    assert ema["description"] == CATALOG["ema"].description


def test_custom_changes_drop_only_their_owners_cache(client, auth, other_auth):
    assert all_entries(client, other_auth, source="custom") == []
    assert all_entries(client, auth, source="custom") == []

    body = copy.deepcopy(SMOOTH_RSI)
    assert create(client, auth, **body).status_code == 201

    assert [i["kind"] for i in all_entries(client, auth, source="custom")] == [
        "my_rsi_smooth"
    ]
    assert all_entries(client, other_auth, source="custom") == []


def test_openapi_documents_the_catalog_and_community_routes(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]

    assert {
        "/api/v1/indicators",
        "/api/v1/indicators/categories",
        "/api/v1/indicators/trending",
        "/api/v1/indicators/custom",
        "/api/v1/indicators/custom/{indicator_id}",
        "/api/v1/indicators/{kind}",
        "/api/v1/strategies/{strategy_id}/publish",
        "/api/v1/community/strategies",
        "/api/v1/community/strategies/{strategy_id}/fork",
        "/api/v1/community/users/{handle}",
    } <= set(paths)
    publish = paths["/api/v1/strategies/{strategy_id}/publish"]["post"]
    assert publish["requestBody"]["required"] is False
    assert "403" in paths["/api/v1/indicators/{kind}"]["patch"]["responses"]
    assert paths["/api/v1/community/strategies"]["get"]["security"] == []


def test_catalog_falls_back_to_the_database_when_redis_is_down(db_session, user):
    no_retry = Retry(NoBackoff(), 0)
    unreachable = redis.Redis(port=1, socket_connect_timeout=0.2, retry=no_retry)
    store = CatalogStore(unreachable)

    entries = store.entries(db_session, user.id)
    store.drop_builtins()  # logged, never raised: the change is committed

    assert [entry["kind"] for entry in entries] == list(CATALOG)
