"""Submit -> real Celery worker -> poll -> strategy -> export, through the API."""

from __future__ import annotations

import pytest

from engine.validate import validate_script

pytestmark = [
    pytest.mark.integration,
    pytest.mark.usefixtures("pipeline", "api_worker"),
]

GENERATE = "/api/v1/strategies/generate"
IDEA = "EMA 9 / EMA 21 crossover, 1.5% stop loss and 3% take profit"


def test_idea_becomes_a_validated_downloadable_strategy(client, auth, poll_job):
    payload = {"request": IDEA, "options": {"symbol": "BTCUSDT", "timeframe": "240"}}
    accepted = client.post(GENERATE, json=payload, headers=auth)
    assert accepted.status_code == 202

    seen = poll_job(accepted.get_json()["status_url"], auth)
    job = seen[-1]
    assert job["status"] == "succeeded", job.get("error")
    assert job["progress"] == 100
    assert job["attempts"] == 1
    assert job["started_at"] and job["finished_at"]
    progress = [body["progress"] for body in seen]
    assert progress == sorted(progress)

    strategy = client.get(job["result"]["strategy_url"], headers=auth).get_json()
    assert strategy["current_version"] == 1
    assert [v["number"] for v in strategy["versions"]] == [1]
    kinds = {indicator["kind"] for indicator in strategy["spec"]["indicators"]}
    assert "ema" in kinds
    assert strategy["code"].startswith("//@version=6")

    export = client.get(job["result"]["export_url"], headers=auth)
    assert export.status_code == 200
    assert export.headers["Content-Disposition"].endswith('.pine"')
    script = export.get_data(as_text=True)
    assert script.rstrip("\n") == strategy["code"].rstrip("\n")
    report = validate_script(script)
    assert report.ok, str(report)


def test_vague_idea_fails_with_a_coded_error_and_no_strategy(client, auth, poll_job):
    accepted = client.post(GENERATE, json={"request": "Make me rich"}, headers=auth)

    job = poll_job(accepted.get_json()["status_url"], auth)[-1]

    assert job["status"] == "failed"
    assert job["error"]["code"] == "REQUEST_TOO_VAGUE"
    assert job["error"]["message"]
    assert "result" not in job


def test_repeat_after_success_returns_the_finished_job(client, auth, poll_job):
    headers = {**auth, "Idempotency-Key": "e2e-once"}
    first = client.post(GENERATE, json={"request": IDEA}, headers=headers)
    poll_job(first.get_json()["status_url"], auth)

    again = client.post(GENERATE, json={"request": IDEA}, headers=headers)

    assert again.status_code == 200
    assert again.get_json()["job_id"] == first.get_json()["job_id"]
    assert again.get_json()["status"] == "succeeded"


def test_nobody_else_sees_the_job_or_its_strategy(client, auth, other_auth, poll_job):
    accepted = client.post(GENERATE, json={"request": IDEA}, headers=auth)
    job = poll_job(accepted.get_json()["status_url"], auth)[-1]
    assert job["status"] == "succeeded", job.get("error")

    for url in (
        accepted.get_json()["status_url"],
        job["result"]["strategy_url"],
        job["result"]["export_url"],
    ):
        response = client.get(url, headers=other_auth)
        assert response.status_code == 404
        assert response.get_json()["code"] == "NOT_FOUND"
