"""GET /api/v1/strategies/<id>[/export]: spec, code, versions and the download."""

from __future__ import annotations

import uuid

import pytest

from engine.db import utcnow

pytestmark = pytest.mark.integration


def test_strategy_shows_current_spec_code_and_every_version(
    client, auth, user, insert_strategy
):
    strategy = insert_strategy(user, name="EMA Cross", versions=2)

    response = client.get(f"/api/v1/strategies/{strategy.id}", headers=auth)

    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == str(strategy.id)
    assert body["name"] == "EMA Cross"
    assert body["current_version"] == body["version"] == 2
    assert body["spec"] == {"name": "EMA Cross", "number": 2}
    assert 'strategy("EMA Cross v2"' in body["code"]
    assert [v["number"] for v in body["versions"]] == [1, 2]
    assert body["versions"][0]["provider"] == "offline"
    assert body["versions"][0]["source"] == "generate"
    assert body["export_url"].endswith(f"/strategies/{strategy.id}/export?version=2")


def test_strategy_can_show_an_older_version(client, auth, user, insert_strategy):
    strategy = insert_strategy(user, versions=2)

    body = client.get(
        f"/api/v1/strategies/{strategy.id}?version=1", headers=auth
    ).get_json()

    assert body["version"] == 1
    assert body["current_version"] == 2
    assert body["spec"]["number"] == 1


def test_export_is_a_pine_file_download(client, auth, user, insert_strategy):
    strategy = insert_strategy(user, name="EMA 9/21 Cross: BTC (4h)", versions=1)

    response = client.get(f"/api/v1/strategies/{strategy.id}/export", headers=auth)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert (
        response.headers["Content-Disposition"]
        == 'attachment; filename="ema-9-21-cross-btc-4h.pine"'
    )
    text = response.get_data(as_text=True)
    assert text.startswith("//@version=6\n")
    assert text.endswith("\n")


def test_export_of_a_named_version(client, auth, user, insert_strategy):
    strategy = insert_strategy(user, name="Swing", versions=3)

    response = client.get(
        f"/api/v1/strategies/{strategy.id}/export?version=2", headers=auth
    )

    assert 'strategy("Swing v2"' in response.get_data(as_text=True)


def test_a_name_without_letters_still_gets_a_file_name(
    client, auth, user, insert_strategy
):
    strategy = insert_strategy(user, name="📈📉")

    response = client.get(f"/api/v1/strategies/{strategy.id}/export", headers=auth)

    assert 'filename="strategy.pine"' in response.headers["Content-Disposition"]


def test_unknown_version_is_404(client, auth, user, insert_strategy):
    strategy = insert_strategy(user, versions=1)

    for path in ("", "/export"):
        response = client.get(
            f"/api/v1/strategies/{strategy.id}{path}?version=9", headers=auth
        )
        assert response.status_code == 404
        assert response.get_json()["code"] == "VERSION_NOT_FOUND"
        assert response.get_json()["details"] == {"version": 9}


@pytest.mark.parametrize("version", ["0", "two", "1.5", "-1"])
def test_malformed_version_is_422(client, auth, user, insert_strategy, version):
    strategy = insert_strategy(user)

    response = client.get(
        f"/api/v1/strategies/{strategy.id}/export?version={version}", headers=auth
    )

    assert response.status_code == 422
    assert response.get_json()["details"]["errors"][0]["field"] == "version"


def test_another_users_strategy_is_like_an_unknown_one(
    client, auth, other_user, insert_strategy
):
    theirs = insert_strategy(other_user)

    for path in ("", "/export"):
        hidden = client.get(f"/api/v1/strategies/{theirs.id}{path}", headers=auth)
        unknown = client.get(f"/api/v1/strategies/{uuid.uuid4()}{path}", headers=auth)
        malformed = client.get(f"/api/v1/strategies/nope{path}", headers=auth)

        assert hidden.status_code == unknown.status_code == malformed.status_code == 404
        assert hidden.get_json() == unknown.get_json() == malformed.get_json()


def test_deleted_strategy_is_gone(client, auth, user, insert_strategy, db_session):
    strategy = insert_strategy(user)
    strategy.deleted_at = utcnow()
    db_session.commit()

    response = client.get(f"/api/v1/strategies/{strategy.id}", headers=auth)

    assert response.status_code == 404
