"""Every list endpoint of the catalog and the community runs a fixed number of
SQL statements, however many rows it shows (no N+1)."""

from __future__ import annotations

import pytest

from tests.community_helpers import SMOOTH_RSI

pytest_plugins = ["tests.community_fixtures"]
pytestmark = pytest.mark.integration

COMMUNITY = "/api/v1/community/strategies"


def count(client, statements, url, headers=None, cold_for=None, **params):
    """(statements run, items shown) by one GET; ``cold_for`` empties the cache."""
    # A first call pays one-off costs (a token's last-use stamp, an empty cache).
    client.get(url, query_string=params, headers=headers or {})
    if cold_for is not None:
        store = client.application.extensions["pineforge.catalog"]
        store.drop_builtins()
        store.drop_user(cold_for.id)
    with statements.counting() as seen:
        response = client.get(url, query_string=params, headers=headers or {})
    assert response.status_code == 200, response.get_json()
    return len(seen), len(response.get_json()["items"])


def add_customs(client, auth, kinds):
    for kind in kinds:
        response = client.post(
            "/api/v1/indicators/custom", json={**SMOOTH_RSI, "kind": kind}, headers=auth
        )
        assert response.status_code == 201, response.get_json()


def publish_many(client, auth, make_strategy, owner, first, last, others=()):
    for n in range(first, last):
        strategy = make_strategy(owner, f"Strategy {n}", kinds=("ema", "rsi", "atr"))
        url = f"/api/v1/strategies/{strategy.id}/publish"
        assert client.post(url, headers=auth).status_code == 200
        for headers in others:
            client.put(f"{COMMUNITY}/{strategy.id}/like", headers=headers)
            client.post(
                f"{COMMUNITY}/{strategy.id}/report",
                json={"reason": "x"},
                headers=headers,
            )


@pytest.mark.parametrize("warm", [False, True], ids=["cold-cache", "warm-cache"])
def test_catalog_list_and_categories_do_not_grow_with_rows(
    client, auth, user, statements, warm
):
    cold_for = None if warm else user
    urls = ("/api/v1/indicators", "/api/v1/indicators/categories")
    add_customs(client, auth, ["my_a", "my_b"])
    few = [count(client, statements, u, auth, cold_for, size=200) for u in urls]

    add_customs(client, auth, [f"my_more_{n}" for n in range(8)])
    many = [count(client, statements, u, auth, cold_for, size=200) for u in urls]

    assert [n for n, _ in few] == [n for n, _ in many]
    assert many[0][1] == few[0][1] + 8
    if warm:  # only the token lookup: the catalog itself comes from Redis
        assert all(n <= 2 for n, _ in many)


def test_own_indicator_list_does_not_grow_with_rows(client, auth, statements):
    add_customs(client, auth, ["my_a", "my_b"])
    few = count(client, statements, "/api/v1/indicators/custom", auth)

    add_customs(client, auth, [f"my_more_{n}" for n in range(8)])
    many = count(client, statements, "/api/v1/indicators/custom", auth)

    assert few[0] == many[0] and (few[1], many[1]) == (2, 10)


def test_trending_does_not_grow_with_versions(
    client, auth, user, make_strategy, statements
):
    make_strategy(user, "A", kinds=("ema",))
    client.get("/api/v1/indicators/trending", headers=auth)
    few = count(client, statements, "/api/v1/indicators/trending", auth)

    for n in range(10):
        make_strategy(user, f"B{n}", kinds=("rsi", "macd"))
    many = count(client, statements, "/api/v1/indicators/trending", auth)

    assert few[0] == many[0]


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
def test_community_list_does_not_grow_with_rows(
    client, auth, other_auth, user, make_strategy, statements, signed_in
):
    viewer = other_auth if signed_in else None
    publish_many(client, auth, make_strategy, user, 0, 2, others=[other_auth])
    few = count(client, statements, COMMUNITY, viewer, size=50)

    publish_many(client, auth, make_strategy, user, 2, 12, others=[other_auth])
    many = count(client, statements, COMMUNITY, viewer, size=50)
    filtered = count(
        client, statements, COMMUNITY, viewer, size=50, q="strategy", indicator="rsi"
    )

    assert few[0] == many[0] == filtered[0]
    assert (few[1], many[1], filtered[1]) == (2, 12, 12)


def test_user_page_does_not_grow_with_rows(
    client, auth, user, make_strategy, statements, db_session
):
    user.handle = "ada"
    db_session.commit()
    publish_many(client, auth, make_strategy, user, 0, 2)
    few = count(client, statements, "/api/v1/community/users/ada")

    publish_many(client, auth, make_strategy, user, 2, 12)
    many = count(client, statements, "/api/v1/community/users/ada")

    assert few[0] == many[0] and (few[1], many[1]) == (2, 12)


def test_report_list_does_not_grow_with_rows(
    client, auth, other_auth, admin_auth, user, make_strategy, statements
):
    publish_many(client, auth, make_strategy, user, 0, 2, others=[other_auth])
    few = count(client, statements, "/api/v1/community/reports", admin_auth, size=50)

    publish_many(client, auth, make_strategy, user, 2, 12, others=[other_auth])
    many = count(client, statements, "/api/v1/community/reports", admin_auth, size=50)

    assert few[0] == many[0] and (few[1], many[1]) == (2, 12)
