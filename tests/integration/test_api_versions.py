"""/api/v1/strategies/<id>/versions: list, get, diff, revert and labels."""

from __future__ import annotations

import pytest

from engine.db import StrategyVersion
from tests.library_helpers import EMA_SPEC, spec

pytest_plugins = ["tests.library_fixtures"]
pytestmark = pytest.mark.integration


@pytest.fixture
def three_versions(client, auth, create_strategy):
    """A strategy edited twice: v1 stop 2%, v2 stop 1.5% + alerts, v3 EMA."""
    made = create_strategy()
    url = f"/api/v1/strategies/{made['id']}"
    v2 = spec(risk={"stop": {"type": "percent", "value": 1.5}})
    v2["alerts"] = {"on_entry": True, "on_exit": True}
    for body in (v2, spec(EMA_SPEC)):
        assert client.patch(url, json={"spec": body}, headers=auth).status_code == 200
    return url


def test_versions_are_listed_newest_first_without_spec_and_code(
    client, auth, three_versions
):
    body = client.get(f"{three_versions}/versions", headers=auth).get_json()

    assert [item["number"] for item in body["items"]] == [3, 2, 1]
    assert body["total"] == 3
    assert "code" not in body["items"][0]
    assert body["items"][0]["parent_number"] == 2
    assert body["items"][2]["source"] == "manual"

    page = client.get(f"{three_versions}/versions?size=2&page=2", headers=auth)
    assert [item["number"] for item in page.get_json()["items"]] == [1]


def test_one_version_carries_its_spec_code_and_origin(client, auth, three_versions):
    response = client.get(f"{three_versions}/versions/2", headers=auth)

    body = response.get_json()
    assert response.status_code == 200
    assert body["number"] == 2
    assert body["spec"]["risk"]["stop"]["value"] == 1.5
    assert body["code"].startswith("//@version=6")
    assert body["source"] == "manual"
    assert {"prompt_version", "provider", "model", "label"} <= set(body)


def test_a_missing_version_is_a_coded_404(client, auth, three_versions):
    response = client.get(f"{three_versions}/versions/9", headers=auth)

    assert response.status_code == 404
    assert response.get_json()["code"] == "VERSION_NOT_FOUND"


def test_diff_lists_spec_changes_and_a_unified_code_diff(client, auth, three_versions):
    response = client.get(f"{three_versions}/versions/diff?from=1&to=2", headers=auth)

    body = response.get_json()
    assert (body["from"], body["to"]) == (1, 2)
    changes = {change["path"]: change for change in body["changes"]}
    assert changes["risk.stop.value"] == {
        "path": "risk.stop.value",
        "op": "changed",
        "old": 2.0,
        "new": 1.5,
    }
    assert changes["alerts.on_entry"]["new"] is True
    assert body["code_diff"].startswith("--- v1.pine\n+++ v2.pine\n")
    assert "\n-" in body["code_diff"] and "\n+" in body["code_diff"]


def test_diff_matches_indicators_by_id(client, auth, three_versions):
    body = client.get(
        f"{three_versions}/versions/diff?from=2&to=3", headers=auth
    ).get_json()

    ops = {change["path"]: change["op"] for change in body["changes"]}
    assert ops["indicators[rsi]"] == "removed"
    assert ops["indicators[ema_fast]"] == "added"
    assert ops["indicators[ema_slow]"] == "added"
    assert ops["short"] == "removed"


def test_diff_of_a_version_with_itself_is_empty(client, auth, three_versions):
    body = client.get(
        f"{three_versions}/versions/diff?from=2&to=2", headers=auth
    ).get_json()

    assert body["changes"] == []
    assert body["code_diff"] == ""


@pytest.mark.parametrize(
    "query, status, code",
    [
        ("from=1", 422, "VALIDATION_ERROR"),
        ("from=0&to=1", 422, "VALIDATION_ERROR"),
        ("from=a&to=1", 422, "VALIDATION_ERROR"),
        ("from=1&to=7", 404, "VERSION_NOT_FOUND"),
    ],
)
def test_bad_diff_queries_are_coded(client, auth, three_versions, query, status, code):
    response = client.get(f"{three_versions}/versions/diff?{query}", headers=auth)

    assert response.status_code == status
    assert response.get_json()["code"] == code


def test_revert_makes_a_new_version_with_the_old_spec(client, auth, three_versions):
    response = client.post(f"{three_versions}/versions/1/revert", headers=auth)

    assert response.status_code == 201
    body = response.get_json()
    assert body["number"] == 4
    assert body["parent_number"] == 1
    v1 = client.get(f"{three_versions}/versions/1", headers=auth).get_json()
    assert body["spec"] == v1["spec"]
    assert body["code"] == v1["code"]
    strategy = client.get(three_versions, headers=auth).get_json()
    assert strategy["current_version"] == 4
    assert [v["number"] for v in strategy["versions"]] == [1, 2, 3, 4]
    diff = client.get(f"{three_versions}/versions/diff?from=1&to=4", headers=auth)
    assert diff.get_json()["changes"] == []


def test_versions_never_change_after_they_are_written(
    client, auth, three_versions, db_session
):
    before = client.get(f"{three_versions}/versions/2", headers=auth).get_json()

    client.post(f"{three_versions}/versions/1/revert", headers=auth)
    client.patch(three_versions, json={"spec": spec()}, headers=auth)

    after = client.get(f"{three_versions}/versions/2", headers=auth).get_json()
    assert after == before
    assert db_session.query(StrategyVersion).count() == 5


def test_labels_are_set_moved_and_removed(client, auth, three_versions):
    label_1 = f"{three_versions}/versions/1/label"
    label_3 = f"{three_versions}/versions/3/label"

    put = client.put(label_1, json={"label": "  live   account "}, headers=auth)
    assert put.status_code == 200
    assert put.get_json()["label"] == "live account"

    taken = client.put(label_3, json={"label": "live account"}, headers=auth)
    assert taken.status_code == 409
    assert taken.get_json()["code"] == "LABEL_TAKEN"
    assert taken.get_json()["details"]["version"] == 1

    assert client.delete(label_1, headers=auth).status_code == 204
    moved = client.put(label_3, json={"label": "live account"}, headers=auth)
    assert moved.status_code == 200
    listed = client.get(f"{three_versions}/versions", headers=auth).get_json()
    assert [item["label"] for item in listed["items"]] == ["live account", None, None]


def test_the_same_label_may_be_used_by_two_strategies(
    client, auth, create_strategy, three_versions
):
    other = create_strategy()
    label = {"label": "baseline"}

    first = client.put(f"{three_versions}/versions/1/label", json=label, headers=auth)
    second = client.put(
        f"/api/v1/strategies/{other['id']}/versions/1/label", json=label, headers=auth
    )

    assert (first.status_code, second.status_code) == (200, 200)


@pytest.mark.parametrize("label", ["", "x" * 41, "<b>", "tab\there?"])
def test_bad_labels_are_refused(client, auth, three_versions, label):
    response = client.put(
        f"{three_versions}/versions/1/label", json={"label": label}, headers=auth
    )

    assert response.status_code == 422
    assert response.get_json()["code"] in ("VALIDATION_ERROR", "INVALID_LABEL")


def test_another_users_versions_are_not_found(client, other_auth, three_versions):
    for method, path, body in (
        ("GET", "/versions", None),
        ("GET", "/versions/1", None),
        ("GET", "/versions/diff?from=1&to=2", None),
        ("POST", "/versions/1/revert", None),
        ("PUT", "/versions/1/label", {"label": "mine"}),
        ("DELETE", "/versions/1/label", None),
    ):
        response = client.open(
            three_versions + path, method=method, json=body, headers=other_auth
        )
        assert response.status_code == 404, path
        assert response.get_json()["code"] == "NOT_FOUND"
