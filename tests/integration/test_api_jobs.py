"""GET /api/v1/jobs[/<id>]: status from the database, visible to its owner only."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from engine.db import JobStatus, utcnow

pytestmark = pytest.mark.integration


def test_queued_job_reports_status_without_result_or_error(
    client, auth, user, insert_job
):
    job = insert_job(user)

    response = client.get(f"/api/v1/jobs/{job.id}", headers=auth)

    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == str(job.id)
    assert body["status"] == "queued"
    assert body["progress"] == 0
    assert body["attempts"] == 0
    assert body["started_at"] is None and body["finished_at"] is None
    assert body["created_at"].endswith("Z")
    assert "result" not in body and "error" not in body


def test_running_job_reports_stage_and_progress(client, auth, user, insert_job):
    job = insert_job(
        user,
        status=JobStatus.RUNNING,
        stage="render",
        progress=60,
        attempts=1,
        started_at=utcnow(),
    )

    body = client.get(f"/api/v1/jobs/{job.id}", headers=auth).get_json()

    assert (body["status"], body["stage"], body["progress"]) == (
        "running",
        "render",
        60,
    )
    assert body["started_at"] is not None


def test_succeeded_job_links_strategy_and_export(client, auth, finished_job):
    body = client.get(f"/api/v1/jobs/{finished_job.id}", headers=auth).get_json()

    strategy_id = str(finished_job.strategy_id)
    assert body["status"] == "succeeded"
    assert body["result"] == {
        "strategy_id": strategy_id,
        "version": 2,
        "strategy_url": f"/api/v1/strategies/{strategy_id}",
        "export_url": f"/api/v1/strategies/{strategy_id}/export?version=2",
    }
    assert body["accounting"] == {"credits": 1}
    assert "error" not in body


def test_failed_job_reports_its_coded_error(client, auth, user, insert_job):
    job = insert_job(
        user,
        status=JobStatus.FAILED,
        attempts=1,
        finished_at=utcnow(),
        error_code="REQUEST_TOO_VAGUE",
        error_message="Say which indicator to use.",
        error_details={"missing": ["entry"]},
    )

    body = client.get(f"/api/v1/jobs/{job.id}", headers=auth).get_json()

    assert body["status"] == "failed"
    assert body["error"] == {
        "code": "REQUEST_TOO_VAGUE",
        "message": "Say which indicator to use.",
        "details": {"missing": ["entry"]},
    }
    assert "result" not in body


def test_another_users_job_is_exactly_like_an_unknown_one(
    client, auth, other_user, insert_job
):
    theirs = insert_job(other_user)

    hidden = client.get(f"/api/v1/jobs/{theirs.id}", headers=auth)
    unknown = client.get(f"/api/v1/jobs/{uuid.uuid4()}", headers=auth)

    assert hidden.status_code == unknown.status_code == 404
    assert hidden.get_json() == unknown.get_json()
    assert hidden.get_json()["code"] == "NOT_FOUND"


@pytest.mark.parametrize("raw", ["not-a-uuid", "1", "%00", "x" * 300])
def test_malformed_job_id_is_a_404_like_any_unknown_id(client, auth, raw):
    response = client.get(f"/api/v1/jobs/{raw}", headers=auth)
    unknown = client.get(f"/api/v1/jobs/{uuid.uuid4()}", headers=auth)

    assert response.status_code == 404
    assert response.get_json() == unknown.get_json()


def test_job_needs_a_token(client, user, insert_job):
    job = insert_job(user)

    response = client.get(f"/api/v1/jobs/{job.id}")

    assert response.status_code == 401
    assert response.get_json()["code"] == "UNAUTHORIZED"


def test_job_list_is_own_jobs_newest_first_and_paginated(
    client, auth, user, other_user, insert_job
):
    now = utcnow()
    mine = [
        insert_job(user, request=f"idea {n}", created_at=now - timedelta(minutes=n))
        for n in range(5)
    ]
    insert_job(other_user)

    first = client.get("/api/v1/jobs?limit=2", headers=auth).get_json()
    second = client.get(first["next"], headers=auth).get_json()
    last = client.get(second["next"], headers=auth).get_json()

    ids = [item["id"] for page in (first, second, last) for item in page["items"]]
    assert ids == [str(job.id) for job in mine]
    assert last["next"] is None


def test_job_list_filters_by_status(client, auth, user, insert_job):
    insert_job(user)
    failed = insert_job(user, status=JobStatus.FAILED, error_code="NO_SUPPORTED_RULE")

    body = client.get("/api/v1/jobs?status=failed", headers=auth).get_json()

    assert [item["id"] for item in body["items"]] == [str(failed.id)]


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "limit=ten", "offset=-1", "status=lost", "page=2"]
)
def test_job_list_rejects_bad_query_parameters(client, auth, query):
    response = client.get(f"/api/v1/jobs?{query}", headers=auth)

    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "VALIDATION_ERROR"
    assert body["details"]["errors"][0]["in"] == "query"
