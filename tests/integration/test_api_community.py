"""Publishing, the community list and page, likes, forks, reports and hiding."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text

from engine.db import Strategy, StrategyVersion, utcnow
from engine.db.community_models import StrategyFork, StrategyPublication
from tests.conftest import IS_POSTGRES

pytest_plugins = ["tests.community_fixtures"]
pytestmark = pytest.mark.integration

COMMUNITY = "/api/v1/community/strategies"


def publish(client, headers, strategy, **body):
    url = f"/api/v1/strategies/{getattr(strategy, 'id', strategy)}/publish"
    response = (
        client.post(url, json=body, headers=headers)
        if body
        else client.post(url, headers=headers)
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def names(client, headers=None, **params):
    response = client.get(COMMUNITY, query_string=params, headers=headers or {})
    assert response.status_code == 200, response.get_json()
    return [item["name"] for item in response.get_json()["items"]]


def test_publish_makes_one_version_public(client, auth, user, make_strategy):
    strategy = make_strategy(user, "EMA Cross", versions=2)

    body = publish(client, auth, strategy, version=1)

    assert body["version"] == 1 and body["published"] and not body["hidden"]
    detail = client.get(body["community_url"]).get_json()
    assert detail["version"] == 1
    assert 'strategy("EMA Cross v1"' in detail["code"]
    assert detail["spec"]["indicators"][0]["kind"] == "ema"
    assert detail["liked"] is None and detail["forked_from"] is None
    assert publish(client, auth, strategy)["version"] == 2  # default: current


def test_unpublish_makes_it_private_again(client, auth, user, make_strategy):
    strategy = make_strategy(user, "Gone Soon")
    publish(client, auth, strategy)
    url = f"/api/v1/strategies/{strategy.id}/publish"

    assert client.delete(url, headers=auth).status_code == 204
    assert client.delete(url, headers=auth).status_code == 204

    assert names(client) == []
    assert client.get(f"{COMMUNITY}/{strategy.id}").status_code == 404


def test_publishing_a_missing_version_is_not_found(client, auth, user, make_strategy):
    strategy = make_strategy(user)

    response = client.post(
        f"/api/v1/strategies/{strategy.id}/publish", json={"version": 7}, headers=auth
    )

    assert response.status_code == 404
    assert response.get_json()["details"] == {"version": 7}


def test_private_and_deleted_strategies_never_show(
    client, auth, user, make_strategy, db_session
):
    user.handle = "ada"
    db_session.commit()
    make_strategy(user, "Private One")
    deleted = make_strategy(user, "Deleted One")
    publish(client, auth, deleted)
    deleted.deleted_at = utcnow()
    db_session.commit()

    ids = list(db_session.scalars(select(Strategy.id)))
    db_session.rollback()  # SQLite: no transaction left open across requests

    assert names(client) == []
    assert names(client, auth, q="one") == []
    assert client.get("/api/v1/community/users/ada").get_json()["items"] == []
    for strategy_id in ids:
        assert client.get(f"{COMMUNITY}/{strategy_id}").status_code == 404
    assert client.get(f"{COMMUNITY}/not-a-uuid").status_code == 404


def test_owner_routes_refuse_another_users_strategy(
    client, auth, other_auth, user, make_strategy
):
    strategy = make_strategy(user)
    url = f"/api/v1/strategies/{strategy.id}/publish"

    for method in ("POST", "DELETE"):
        response = client.open(url, method=method, headers=other_auth)
        assert response.status_code == 404, method
        assert response.get_json()["code"] == "NOT_FOUND"
    assert names(client) == []


def test_search_matches_every_word_across_name_description_and_author(
    client, auth, user, make_strategy, db_session
):
    user.handle = "quantada"
    db_session.commit()
    for name, description in (
        ("RSI Dip Buyer", "Buys oversold dips"),
        ("Trend Rider", "Follows the EMA trend"),
        ("100% Breakout", "Donchian breakout"),
    ):
        publish(client, auth, make_strategy(user, name, description=description))

    assert names(client, q="dip") == ["RSI Dip Buyer"]
    assert names(client, q="EMA trend") == ["Trend Rider"]
    assert names(client, q="trend dip") == []
    assert len(names(client, q="QuantAda")) == 3
    assert names(client, q="100%") == ["100% Breakout"]
    assert names(client, q="%") == ["100% Breakout"]  # a literal, not a wildcard


def test_indicator_filter_uses_the_published_version(client, auth, user, make_strategy):
    publish(client, auth, make_strategy(user, "Momentum", kinds=("rsi", "macd")))
    publish(client, auth, make_strategy(user, "Bands", kinds=("bb",)))

    assert names(client, indicator="macd") == ["Momentum"]
    assert names(client, indicator="bb") == ["Bands"]
    assert names(client, indicator="vwap") == []
    item = client.get(COMMUNITY, query_string={"indicator": "rsi"}).get_json()
    assert item["items"][0]["indicators"] == ["macd", "rsi"]


def test_sorts_by_recent_likes_and_forks(
    client, auth, other_auth, user, make_strategy, make_user, db_session
):
    first, second, third = (
        make_strategy(user, name) for name in ("First", "Second", "Third")
    )
    for strategy in (first, second, third):
        publish(client, auth, strategy)
    client.put(f"{COMMUNITY}/{first.id}/like", headers=other_auth)
    client.put(f"{COMMUNITY}/{first.id}/like", headers=auth)
    client.put(f"{COMMUNITY}/{second.id}/like", headers=auth)
    client.post(f"{COMMUNITY}/{second.id}/fork", headers=other_auth)

    assert names(client) == ["Third", "Second", "First"]
    assert names(client, sort="likes") == ["First", "Second", "Third"]
    assert names(client, sort="forks") == ["Second", "Third", "First"]


def test_lists_page_with_a_next_link(client, auth, user, make_strategy):
    for n in range(5):
        publish(client, auth, make_strategy(user, f"S{n}", kinds=("ema",)))

    first = client.get(COMMUNITY, query_string={"size": 2, "indicator": "ema"})
    body = first.get_json()
    seen = [item["name"] for item in body["items"]]
    while body["next"]:
        assert "indicator=ema" in body["next"]
        body = client.get(body["next"]).get_json()
        seen += [item["name"] for item in body["items"]]

    assert seen == ["S4", "S3", "S2", "S1", "S0"]


def test_like_and_unlike_are_idempotent_and_counted_once(
    client, auth, other_auth, user, make_strategy
):
    strategy = make_strategy(user)
    publish(client, auth, strategy)
    like = f"{COMMUNITY}/{strategy.id}/like"

    assert client.put(like, headers=other_auth).get_json() == {
        "liked": True,
        "like_count": 1,
    }
    assert client.put(like, headers=other_auth).get_json()["like_count"] == 1
    assert client.put(like, headers=auth).get_json()["like_count"] == 2
    listed = client.get(COMMUNITY, headers=other_auth).get_json()["items"][0]
    assert listed["liked"] is True and listed["like_count"] == 2

    assert client.delete(like, headers=other_auth).get_json() == {
        "liked": False,
        "like_count": 1,
    }
    assert client.delete(like, headers=other_auth).get_json()["like_count"] == 1
    assert (
        client.get(COMMUNITY, headers=other_auth).get_json()["items"][0]["liked"]
        is False
    )
    assert client.put(like).status_code == 401


def test_likes_survive_unpublish_and_publish_again(client, auth, user, make_strategy):
    strategy = make_strategy(user)
    publish(client, auth, strategy)
    client.put(f"{COMMUNITY}/{strategy.id}/like", headers=auth)

    client.delete(f"/api/v1/strategies/{strategy.id}/publish", headers=auth)
    gone = client.put(f"{COMMUNITY}/{strategy.id}/like", headers=auth)
    publish(client, auth, strategy)

    assert gone.status_code == 404
    assert client.get(f"{COMMUNITY}/{strategy.id}").get_json()["like_count"] == 1


def test_fork_copies_the_published_version_with_a_link_back(
    client, auth, other_auth, other_user, user, make_strategy, db_session
):
    source = make_strategy(user, "Original", kinds=("rsi",), versions=2)
    publish(client, auth, source, version=1)

    response = client.post(f"{COMMUNITY}/{source.id}/fork", headers=other_auth)

    assert response.status_code == 201
    body = response.get_json()
    assert body["version"] == 1
    assert body["forked_from"]["strategy_id"] == str(source.id)
    assert body["forked_from"]["version"] == 1
    assert response.headers["Location"] == body["strategy_url"]
    copy = db_session.get(Strategy, uuid.UUID(body["strategy_id"]))
    assert copy.user_id == other_user.id and copy.name == "Original"
    version = db_session.scalar(
        select(StrategyVersion).where(StrategyVersion.strategy_id == copy.id)
    )
    assert version.source == "fork"
    assert version.code == source.versions[0].code
    assert version.spec == source.versions[0].spec
    assert db_session.get(StrategyFork, copy.id).source_strategy_id == source.id
    source_url = f"{COMMUNITY}/{source.id}"
    db_session.rollback()  # SQLite: no transaction left open across requests

    assert client.get(body["strategy_url"], headers=other_auth).status_code == 200
    assert client.get(source_url).get_json()["fork_count"] == 1
    assert names(client) == ["Original"]  # the fork itself stays private


def test_a_published_fork_links_to_its_source(
    client, auth, other_auth, user, make_strategy, db_session
):
    source = make_strategy(user, "Original")
    publish(client, auth, source)
    fork_id = client.post(
        f"{COMMUNITY}/{source.id}/fork", headers=other_auth
    ).get_json()["strategy_id"]

    publish(client, other_auth, fork_id)
    detail = client.get(f"{COMMUNITY}/{fork_id}").get_json()

    assert detail["forked_from"]["strategy_id"] == str(source.id)
    assert detail["forked_from"]["url"].endswith(f"/community/strategies/{source.id}")


def test_user_page_lists_that_users_public_strategies(
    client, auth, other_auth, user, other_user, make_strategy, db_session
):
    user.handle, other_user.handle = "ada", "bob"
    db_session.commit()
    publish(client, auth, make_strategy(user, "Ada's"))
    make_strategy(user, "Ada's private")
    publish(client, other_auth, make_strategy(other_user, "Bob's"))

    page = client.get("/api/v1/community/users/ada").get_json()

    assert page["user"]["handle"] == "ada"
    assert [item["name"] for item in page["items"]] == ["Ada's"]
    assert page["items"][0]["author"]["handle"] == "ada"
    assert client.get("/api/v1/community/users/nobody").status_code == 404


def test_reports_reach_admins_who_hide_and_unhide(
    client, auth, other_auth, admin_auth, user, make_strategy
):
    strategy = make_strategy(user, "Spammy")
    publish(client, auth, strategy)
    report = f"{COMMUNITY}/{strategy.id}/report"

    first = client.post(report, json={"reason": "spam"}, headers=other_auth)
    again = client.post(report, json={"reason": "spam!"}, headers=other_auth)
    assert (first.status_code, again.status_code) == (201, 200)
    assert client.get("/api/v1/community/reports", headers=auth).status_code == 403
    reports = client.get("/api/v1/community/reports", headers=admin_auth).get_json()
    assert [(r["strategy_name"], r["reason"]) for r in reports["items"]] == [
        ("Spammy", "spam!")
    ]

    hide = f"{COMMUNITY}/{strategy.id}/hide"
    assert client.post(hide, headers=auth).status_code == 403
    hidden = client.post(hide, json={"reason": "spam"}, headers=admin_auth)
    assert hidden.status_code == 200 and hidden.get_json()["hidden"] is True
    assert names(client) == []
    assert client.get(f"{COMMUNITY}/{strategy.id}").status_code == 404
    assert (
        client.put(f"{COMMUNITY}/{strategy.id}/like", headers=auth).status_code == 404
    )
    assert (
        client.get("/api/v1/community/reports", headers=admin_auth).get_json()["items"]
        == []
    )
    publish(client, auth, strategy)  # publishing again does not lift a hide
    assert names(client) == []

    unhide = f"{COMMUNITY}/{strategy.id}/unhide"
    assert client.post(unhide, headers=admin_auth).get_json()["hidden"] is False
    assert names(client) == ["Spammy"]


def test_counters_never_drift_from_the_rows(
    client, auth, other_auth, user, make_strategy, db_session
):
    strategy = make_strategy(user)
    publish(client, auth, strategy)
    like = f"{COMMUNITY}/{strategy.id}/like"
    for headers in (auth, other_auth, auth, other_auth):
        client.put(like, headers=headers)
    client.delete(like, headers=auth)

    row = db_session.get(StrategyPublication, strategy.id)
    db_session.refresh(row)
    likes = db_session.execute(
        text("SELECT count(*) FROM strategy_likes WHERE strategy_id = :id"),
        {"id": strategy.id if IS_POSTGRES else strategy.id.hex},
    ).scalar()
    assert row.like_count == likes == 1


@pytest.mark.skipif(not IS_POSTGRES, reason="the trigram index is PostgreSQL's")
def test_text_search_has_a_trigram_index_on_postgres(db_session):
    method = db_session.execute(
        text(
            "SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam "
            "WHERE c.relname = 'ix_strategy_publications_search_text'"
        )
    ).scalar()

    assert method == "gin"


def test_every_community_route_is_not_found_for_a_private_strategy(
    client, auth, other_auth, admin_auth, user, make_strategy
):
    strategy = make_strategy(user, "Private")
    base = f"{COMMUNITY}/{strategy.id}"
    calls = [
        ("GET", base, None, None),
        ("PUT", f"{base}/like", other_auth, None),
        ("DELETE", f"{base}/like", other_auth, None),
        ("POST", f"{base}/fork", other_auth, None),
        ("POST", f"{base}/report", other_auth, None),  # no body: 404 still first
        ("POST", f"{base}/report", other_auth, {"reason": "spam"}),
        ("GET", base, auth, None),  # the owner too: it is not public
        ("POST", f"{base}/hide", admin_auth, None),
    ]

    for method, url, headers, body in calls:
        response = client.open(url, method=method, headers=headers or {}, json=body)
        assert response.status_code == 404, (method, url, response.get_json())
        assert response.get_json()["code"] == "NOT_FOUND"
        assert str(strategy.id) not in response.get_data(as_text=True)
