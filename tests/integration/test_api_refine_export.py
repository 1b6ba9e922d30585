"""Refinement and email export through a real Celery worker and a real SMTP server."""

from __future__ import annotations

import email
import email.policy

import pytest
from sqlalchemy import select

from engine.db import Job, StrategyVersion
from engine.db.accounts_models import CreditEntry
from engine.settings import get_settings
from engine.validate import validate_script
from tests.library_helpers import spec

pytest_plugins = ["tests.library_fixtures"]
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("pipeline")]


def _attachment(message):
    parts = list(message.iter_attachments())
    assert len(parts) == 1
    return parts[0].get_filename(), parts[0].get_content()


@pytest.mark.usefixtures("api_worker")
def test_refine_adds_a_version_with_a_trailing_stop(
    client, auth, create_strategy, poll_job, db_session, user
):
    made = create_strategy(name="RSI Swing")
    url = f"/api/v1/strategies/{made['id']}"

    accepted = client.post(
        f"{url}/generate", json={"instruction": "add a 2% trailing stop"}, headers=auth
    )
    assert accepted.status_code == 202
    job = poll_job(accepted.get_json()["status_url"], auth)[-1]

    assert job["status"] == "succeeded", job.get("error")
    assert job["result"]["strategy_id"] == made["id"]
    assert job["result"]["version"] == 2
    v2 = client.get(f"{url}/versions/2", headers=auth).get_json()
    assert v2["source"] == "refine"
    assert v2["parent_number"] == 1
    assert v2["provider"] == "offline"
    assert v2["spec"]["risk"]["trailing"] == {
        "type": "percent",
        "value": 2.0,
        "activation": 0.0,
        "atr_length": 14,
    }
    assert v2["spec"]["risk"]["stop"]["value"] == 2
    assert "strategy.exit(" in v2["code"] and "trail_" in v2["code"]
    diff = client.get(f"{url}/versions/diff?from=1&to=2", headers=auth).get_json()
    assert [change["path"] for change in diff["changes"]] == ["risk.trailing"]
    assert client.get(url, headers=auth).get_json()["current_version"] == 2


@pytest.mark.usefixtures("api_worker")
def test_refine_adds_a_trend_filter_to_the_short_side(
    client, auth, create_strategy, poll_job
):
    made = create_strategy()
    url = f"/api/v1/strategies/{made['id']}"

    accepted = client.post(
        f"{url}/generate",
        json={"instruction": "only short below the 200 EMA"},
        headers=auth,
    )
    job = poll_job(accepted.get_json()["status_url"], auth)[-1]

    assert job["status"] == "succeeded", job.get("error")
    v2 = client.get(f"{url}/versions/2", headers=auth).get_json()
    uses = {use["id"]: use for use in v2["spec"]["indicators"]}
    assert uses["ema_200"]["params"] == {"length": 200}
    conditions = v2["spec"]["short"]["entry"]["conditions"]
    assert conditions[-1]["op"] == "<"
    assert conditions[-1]["right"]["id"] == "ema_200"
    assert v2["spec"]["long"]["entry"]["type"] == "cross"
    assert validate_script(v2["code"]).ok
    listed = client.get("/api/v1/strategies?indicator=ema", headers=auth).get_json()
    assert [item["id"] for item in listed["items"]] == [made["id"]]


@pytest.mark.usefixtures("api_worker")
def test_an_instruction_the_composer_cannot_read_fails_coded_and_refunds(
    client, auth, create_strategy, poll_job, db_session, user
):
    made = create_strategy()

    accepted = client.post(
        f"/api/v1/strategies/{made['id']}/generate",
        json={"instruction": "make it trade like a hedge fund"},
        headers=auth,
    )
    job = poll_job(accepted.get_json()["status_url"], auth)[-1]

    assert job["status"] == "failed"
    assert job["error"]["code"] == "NO_SUPPORTED_RULE"
    assert "hedge fund" in job["error"]["message"]
    entries = db_session.scalars(
        select(CreditEntry.kind).where(CreditEntry.job_id == job["id"])
    ).all()
    assert sorted(entries) == ["refund", "reserve"]
    versions = db_session.scalars(select(StrategyVersion.number)).all()
    assert versions == [1]


def test_a_refine_job_records_its_kind_strategy_and_base_version(
    client, auth, create_strategy, db_session
):
    made = create_strategy()

    accepted = client.post(
        f"/api/v1/strategies/{made['id']}/generate",
        json={"instruction": "take profit 3%"},
        headers=auth,
    ).get_json()

    job = db_session.get(Job, accepted["job_id"])
    assert (job.kind, str(job.strategy_id), job.base_version) == (
        "refine",
        made["id"],
        1,
    )
    assert job.request == "take profit 3%"


@pytest.mark.parametrize(
    "payload",
    [{}, {"instruction": ""}, {"instruction": "x" * 1001}, {"prompt": "add alerts"}],
)
def test_bad_refine_bodies_are_refused(client, auth, create_strategy, payload):
    made = create_strategy()

    response = client.post(
        f"/api/v1/strategies/{made['id']}/generate", json=payload, headers=auth
    )

    assert response.status_code == 422
    assert response.get_json()["code"] == "VALIDATION_ERROR"


def test_refining_someone_elses_strategy_is_not_found(
    client, other_auth, create_strategy
):
    made = create_strategy()

    for method, path, body in (
        ("POST", "/generate", {"instruction": "add alerts"}),
        ("POST", "/export", {"delivery": "email"}),
        ("GET", "/export", None),
        ("PATCH", "", {"name": "mine"}),
        ("DELETE", "", None),
    ):
        response = client.open(
            f"/api/v1/strategies/{made['id']}{path}",
            method=method,
            json=body,
            headers=other_auth,
        )
        assert response.status_code == 404, (method, path)
        assert response.get_json()["code"] == "NOT_FOUND"


def test_export_downloads_the_chosen_version(client, auth, create_strategy):
    made = create_strategy(name="RSI Swing")
    url = f"/api/v1/strategies/{made['id']}"
    client.patch(url, json={"spec": spec(name="RSI Swing v2")}, headers=auth)

    first = client.get(f"{url}/export?version=1", headers=auth)
    current = client.get(f"{url}/export", headers=auth)

    assert (
        first.headers["Content-Disposition"] == 'attachment; filename="rsi-swing.pine"'
    )
    assert 'strategy("RSI Swing"' in first.get_data(as_text=True)
    assert 'strategy("RSI Swing v2"' in current.get_data(as_text=True)
    assert client.get(f"{url}/export?version=5", headers=auth).status_code == 404


@pytest.mark.usefixtures("api_worker")
def test_export_by_email_arrives_over_smtp_with_the_script_attached(
    client, auth, user, create_strategy, poll_job, smtp_server
):
    made = create_strategy(name="RSI Swing")
    url = f"/api/v1/strategies/{made['id']}"
    code = client.get(f"{url}/export", headers=auth).get_data(as_text=True)

    accepted = client.post(
        f"{url}/export", json={"delivery": "email", "version": 1}, headers=auth
    )
    assert accepted.status_code == 202
    job = poll_job(accepted.get_json()["status_url"], auth)[-1]

    assert job["status"] == "succeeded", job.get("error")
    assert job["result"]["version"] == 1
    mail = smtp_server.wait_for(1)[0]
    assert mail.recipients == [user.email]
    message = mail.message
    assert message["To"] == user.email
    assert "RSI Swing" in message["Subject"]
    assert "RSI Swing" in message.get_body(("plain",)).get_content()
    assert "<html>" in message.get_body(("html",)).get_content()
    filename, content = _attachment(message)
    assert filename == "rsi-swing.pine"
    assert content == code
    assert validate_script(content).ok


@pytest.mark.usefixtures("api_worker")
def test_a_refused_recipient_fails_the_export_job_with_a_code(
    client, auth, create_strategy, poll_job, smtp_server
):
    smtp_server.refuse_recipients()
    made = create_strategy()

    accepted = client.post(
        f"/api/v1/strategies/{made['id']}/export",
        json={"delivery": "email"},
        headers=auth,
    )
    job = poll_job(accepted.get_json()["status_url"], auth)[-1]

    assert job["status"] == "failed"
    assert job["error"]["code"] == "MAIL_REJECTED"


@pytest.mark.usefixtures("api_worker")
def test_without_smtp_the_export_is_written_as_an_eml_file(
    client, auth, user, create_strategy, poll_job
):
    made = create_strategy(name="Embedded Mail")
    folder = get_settings().var_dir / "mail"
    before = set(folder.glob("*.eml"))

    accepted = client.post(
        f"/api/v1/strategies/{made['id']}/export",
        json={"delivery": "email", "email": user.email.upper()},
        headers=auth,
    )
    job = poll_job(accepted.get_json()["status_url"], auth)[-1]

    assert job["status"] == "succeeded", job.get("error")
    written = set(folder.glob("*.eml")) - before
    assert len(written) == 1
    message = email.message_from_bytes(
        written.pop().read_bytes(), policy=email.policy.default
    )
    assert message["To"] == user.email
    filename, content = _attachment(message)
    assert filename == "embedded-mail.pine"
    assert content.startswith("//@version=6")


@pytest.mark.parametrize(
    "payload, code",
    [
        ({"delivery": "email", "email": "someone@else.example"}, "EMAIL_NOT_ALLOWED"),
        ({"delivery": "fax"}, "VALIDATION_ERROR"),
        ({"delivery": "email", "email": "not an address"}, "VALIDATION_ERROR"),
        ({"delivery": "email", "version": 0}, "VALIDATION_ERROR"),
    ],
)
def test_bad_export_requests_are_refused_without_a_job(
    client, auth, create_strategy, db_session, payload, code
):
    made = create_strategy()

    response = client.post(
        f"/api/v1/strategies/{made['id']}/export", json=payload, headers=auth
    )

    assert response.status_code == 422
    assert response.get_json()["code"] == code
    assert db_session.scalars(select(Job)).all() == []


def test_exporting_a_missing_version_by_email_is_not_found(
    client, auth, create_strategy
):
    made = create_strategy()

    response = client.post(
        f"/api/v1/strategies/{made['id']}/export",
        json={"delivery": "email", "version": 3},
        headers=auth,
    )

    assert response.status_code == 404
    assert response.get_json()["code"] == "VERSION_NOT_FOUND"


@pytest.mark.usefixtures("api_worker")
def test_a_generation_with_deliver_email_mails_the_result(
    client, auth, user, poll_job, smtp_server
):
    payload = {
        "request": "EMA 9 / EMA 21 crossover, 1.5% stop loss and 3% take profit",
        "options": {"deliver": {"email": True}},
    }

    accepted = client.post("/api/v1/strategies/generate", json=payload, headers=auth)
    job = poll_job(accepted.get_json()["status_url"], auth)[-1]

    assert job["status"] == "succeeded", job.get("error")
    mail = smtp_server.wait_for(1)[0]
    assert mail.recipients == [user.email]
    filename, content = _attachment(mail.message)
    assert filename.endswith(".pine")
    assert "ready" in mail.message.get_body(("plain",)).get_content()


def test_deliver_email_to_another_address_is_refused_at_submit(client, auth):
    payload = {
        "request": "EMA 9 / EMA 21 crossover",
        "options": {"deliver": {"email": "friend@example.com"}},
    }

    response = client.post("/api/v1/strategies/generate", json=payload, headers=auth)

    assert response.status_code == 422
    assert response.get_json()["code"] == "EMAIL_NOT_ALLOWED"
