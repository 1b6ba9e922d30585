"""/api/v1/strategies as a library: create by hand, list, update, delete, restore."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.db import Job, Strategy, StrategyVersion, utcnow
from engine.library.strategies import purge_deleted
from tests.library_helpers import EMA_SPEC, RSI_SPEC, spec
from workers.library_tasks import purge_deleted_strategies

pytest_plugins = ["tests.library_fixtures"]
pytestmark = pytest.mark.integration

STRATEGIES = "/api/v1/strategies"


def test_a_spec_written_by_hand_becomes_version_1_without_credits(
    client, auth, db_session
):
    response = client.post(
        STRATEGIES, json={"spec": spec(), "name": "My RSI"}, headers=auth
    )

    assert response.status_code == 201
    body = response.get_json()
    assert body["name"] == "My RSI"
    assert body["description"] == RSI_SPEC["description"]
    assert body["current_version"] == 1
    assert body["indicators"] == ["rsi"]
    assert response.headers["Location"].endswith(body["id"])

    full = client.get(body["url"], headers=auth).get_json()
    assert full["code"].startswith("//@version=6")
    assert full["versions"][0]["source"] == "manual"
    assert full["spec"]["risk"]["stop"]["value"] == 2
    assert db_session.scalar(select(func.count()).select_from(Job)) == 0


def test_an_invalid_spec_is_refused_field_by_field(client, auth, db_session):
    broken = spec(indicators=[{"id": "rsi", "kind": "rsi", "params": {"length": 0}}])

    response = client.post(STRATEGIES, json={"spec": broken}, headers=auth)

    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "SPEC_INVALID"
    assert body["details"]["errors"][0]["field"].startswith("indicators")
    assert db_session.scalar(select(func.count()).select_from(Strategy)) == 0


@pytest.mark.parametrize(
    "payload, code",
    [
        ({}, "VALIDATION_ERROR"),
        ({"spec": spec(), "colour": "red"}, "VALIDATION_ERROR"),
        ({"spec": {"name": "no rules"}}, "SPEC_INVALID"),
        ({"spec": spec(), "name": ""}, "VALIDATION_ERROR"),
    ],
)
def test_bad_create_bodies_get_coded_422s(client, auth, payload, code):
    response = client.post(STRATEGIES, json=payload, headers=auth)

    assert response.status_code == 422
    assert response.get_json()["code"] == code


def test_list_shows_only_own_live_strategies_newest_first(
    client, auth, other_auth, create_strategy
):
    first = create_strategy(spec(), name="First")
    second = create_strategy(spec(EMA_SPEC), name="Second")
    create_strategy(spec(), name="Not mine", headers=other_auth)
    deleted = create_strategy(spec(), name="Deleted")
    client.delete(f"{STRATEGIES}/{deleted['id']}", headers=auth)

    body = client.get(STRATEGIES, headers=auth).get_json()

    assert [item["id"] for item in body["items"]] == [second["id"], first["id"]]
    assert body["total"] == 2
    assert body["page"] == 1
    assert body["next_cursor"] is None


def test_list_filters_by_indicator_and_by_text(client, auth, create_strategy):
    create_strategy(spec(), name="RSI dip buyer", description="Mean reversion")
    create_strategy(spec(EMA_SPEC), name="Trend rider", description="Follows EMAs")
    create_strategy(spec(EMA_SPEC), name="Another trend", description="100% sure")

    def names(query):
        items = client.get(f"{STRATEGIES}?{query}", headers=auth).get_json()["items"]
        return sorted(item["name"] for item in items)

    assert names("indicator=ema") == ["Another trend", "Trend rider"]
    assert names("indicator=RSI") == ["RSI dip buyer"]
    assert names("q=reversion") == ["RSI dip buyer"]
    assert names("q=TREND") == ["Another trend", "Trend rider"]
    assert names("q=100%25") == ["Another trend"]
    assert names("q=_") == []
    assert names("indicator=ema&q=rider") == ["Trend rider"]


def test_list_sorts_by_name_created_and_updated(client, auth, create_strategy):
    bravo = create_strategy(name="Bravo")
    alpha = create_strategy(name="alpha")
    charlie = create_strategy(name="Charlie")
    client.patch(f"{STRATEGIES}/{bravo['id']}", json={"name": "Bravo!"}, headers=auth)

    def ids(sort):
        body = client.get(f"{STRATEGIES}?sort={sort}", headers=auth).get_json()
        return [item["id"] for item in body["items"]]

    assert ids("-updated") == [bravo["id"], charlie["id"], alpha["id"]]
    assert ids("created") == [bravo["id"], alpha["id"], charlie["id"]]
    assert ids("-created") == [charlie["id"], alpha["id"], bravo["id"]]
    assert ids("name")[0] in (alpha["id"], bravo["id"])
    assert ids("name") == list(reversed(ids("-name")))


def test_numbered_pages_and_a_cursor_walk_the_same_rows(client, auth, create_strategy):
    made = [create_strategy(name=f"S{n}")["id"] for n in range(5)]
    newest_first = list(reversed(made))

    pages = [
        client.get(f"{STRATEGIES}?size=2&page={n}", headers=auth).get_json()
        for n in (1, 2, 3)
    ]
    assert [item["id"] for page in pages for item in page["items"]] == newest_first
    assert {page["total"] for page in pages} == {5}

    walked, url = [], f"{STRATEGIES}?size=2"
    while url:
        body = client.get(url, headers=auth).get_json()
        walked += [item["id"] for item in body["items"]]
        assert body["total"] is None or url == f"{STRATEGIES}?size=2"
        url = body["next"]
    assert walked == newest_first


@pytest.mark.parametrize(
    "query, code",
    [
        ("size=0", "VALIDATION_ERROR"),
        ("size=101", "VALIDATION_ERROR"),
        ("sort=colour", "VALIDATION_ERROR"),
        ("cursor=not-a-cursor", "INVALID_CURSOR"),
        ("page=2&cursor=abc", "PAGE_AND_CURSOR"),
        ("indicator=%3Cscript%3E", "VALIDATION_ERROR"),
    ],
)
def test_bad_list_queries_get_coded_422s(client, auth, query, code):
    response = client.get(f"{STRATEGIES}?{query}", headers=auth)

    assert response.status_code == 422
    assert response.get_json()["code"] == code


def test_a_cursor_of_another_sort_is_refused(client, auth, create_strategy):
    for n in range(3):
        create_strategy(name=f"S{n}")
    cursor = client.get(f"{STRATEGIES}?size=1", headers=auth).get_json()["next_cursor"]

    response = client.get(f"{STRATEGIES}?sort=name&cursor={cursor}", headers=auth)

    assert response.get_json()["code"] == "INVALID_CURSOR"


def test_update_renames_without_a_version_and_a_new_spec_makes_one(
    client, auth, create_strategy
):
    made = create_strategy()
    url = f"{STRATEGIES}/{made['id']}"

    renamed = client.patch(url, json={"name": "Renamed"}, headers=auth).get_json()
    assert (renamed["name"], renamed["current_version"]) == ("Renamed", 1)

    changed = client.patch(url, json={"spec": spec(EMA_SPEC)}, headers=auth)
    assert changed.status_code == 200
    assert changed.get_json()["current_version"] == 2
    assert changed.get_json()["indicators"] == ["ema"]

    full = client.get(url, headers=auth).get_json()
    assert full["version"] == 2
    assert [v["source"] for v in full["versions"]] == ["manual", "manual"]
    assert full["spec"]["indicators"][0]["kind"] == "ema"
    old = client.get(f"{url}?version=1", headers=auth).get_json()
    assert old["spec"]["indicators"][0]["kind"] == "rsi"


def test_empty_or_invalid_updates_change_nothing(client, auth, create_strategy):
    url = f"{STRATEGIES}/{create_strategy()['id']}"

    empty = client.patch(url, json={}, headers=auth)
    invalid = client.patch(url, json={"spec": {"name": "x"}}, headers=auth)

    assert (empty.status_code, empty.get_json()["code"]) == (422, "EMPTY_UPDATE")
    assert (invalid.status_code, invalid.get_json()["code"]) == (422, "SPEC_INVALID")
    assert client.get(url, headers=auth).get_json()["current_version"] == 1


def test_deleted_strategy_is_hidden_and_can_be_restored(client, auth, create_strategy):
    made = create_strategy()
    url = f"{STRATEGIES}/{made['id']}"

    assert client.delete(url, headers=auth).status_code == 204
    assert client.get(url, headers=auth).status_code == 404
    assert client.get(f"{url}/versions", headers=auth).status_code == 404
    assert client.get(f"{url}/export", headers=auth).status_code == 404
    assert client.delete(url, headers=auth).status_code == 404

    restored = client.post(f"{url}/restore", headers=auth)
    assert restored.status_code == 200
    assert restored.get_json()["id"] == made["id"]
    assert client.get(url, headers=auth).status_code == 200
    assert client.post(f"{url}/restore", headers=auth).status_code == 200


def test_restore_after_30_days_is_gone_and_then_purged(
    client, auth, create_strategy, db_session
):
    made = create_strategy()
    url = f"{STRATEGIES}/{made['id']}"
    client.delete(url, headers=auth)
    strategy = db_session.get(Strategy, made["id"])
    strategy.deleted_at = utcnow() - timedelta(days=31)
    db_session.commit()

    late = client.post(f"{url}/restore", headers=auth)
    assert late.status_code == 410
    assert late.get_json()["code"] == "RESTORE_EXPIRED"

    assert purge_deleted_strategies() == 1
    assert client.post(f"{url}/restore", headers=auth).status_code == 404
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(StrategyVersion)) == 0


def test_purge_keeps_strategies_deleted_within_30_days(
    client, auth, create_strategy, db_session
):
    recent = create_strategy()
    client.delete(f"{STRATEGIES}/{recent['id']}", headers=auth)

    assert purge_deleted(db_session, now=utcnow() + timedelta(days=29)) == 0
    assert purge_deleted(db_session, now=utcnow() + timedelta(days=31)) == 1
    db_session.commit()


def test_someone_elses_strategy_cannot_be_restored(
    client, auth, other_auth, create_strategy
):
    made = create_strategy()
    client.delete(f"{STRATEGIES}/{made['id']}", headers=auth)

    response = client.post(f"{STRATEGIES}/{made['id']}/restore", headers=other_auth)

    assert response.status_code == 404
    assert response.get_json()["code"] == "NOT_FOUND"
