import pytest

from engine import errors
from engine.errors import (
    AllProvidersFailed,
    ComposeError,
    JobFailed,
    NotFound,
    PayloadTooLarge,
    PineForgeError,
    ProviderError,
    TransientProviderError,
)


def test_error_body_has_the_documented_shape():
    error = NotFound(message="Job not found.", details={"id": "abc"})

    assert error.to_body() == {
        "status": "error",
        "code": "NOT_FOUND",
        "message": "Job not found.",
        "details": {"id": "abc"},
    }
    assert error.http_status == 404


def test_every_error_class_has_an_upper_snake_code_and_an_http_status():
    classes = [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, PineForgeError)
    ]

    for cls in classes:
        error = cls()
        assert error.code == error.code.upper()
        assert 400 <= error.http_status <= 599
        assert error.to_body()["details"] == {}


@pytest.mark.parametrize(
    ("cls", "status", "code"),
    [
        (errors.InvalidRequest, 422, "VALIDATION_ERROR"),
        (errors.Unauthorized, 401, "UNAUTHORIZED"),
        (errors.Forbidden, 403, "FORBIDDEN"),
        (errors.Conflict, 409, "CONFLICT"),
        (PayloadTooLarge, 413, "PAYLOAD_TOO_LARGE"),
        (errors.RateLimited, 429, "RATE_LIMITED"),
        (errors.SpecInvalid, 422, "SPEC_INVALID"),
        (errors.RenderInvalid, 500, "RENDER_INVALID"),
        (AllProvidersFailed, 502, "LLM_PROVIDER_ERROR"),
        (errors.DependencyUnavailable, 503, "DEPENDENCY_UNAVAILABLE"),
    ],
)
def test_defaults_map_to_the_api_contract(cls, status, code):
    error = cls()

    assert (error.http_status, error.code) == (status, code)


def test_compose_error_accepts_only_its_codes():
    assert ComposeError("NO_SUPPORTED_RULE").http_status == 422
    assert "support" in ComposeError("NO_SUPPORTED_RULE").message

    with pytest.raises(ValueError):
        ComposeError("SPEC_INVALID")


def test_job_failed_codes_have_their_own_messages():
    assert JobFailed("JOB_TIMEOUT").message != JobFailed("WORKER_LOST").message

    with pytest.raises(ValueError):
        JobFailed("SOMETHING_ELSE")


def test_codes_must_be_upper_snake():
    with pytest.raises(ValueError):
        PineForgeError("not-a-code", "message")


def test_only_transient_failures_are_retryable():
    assert TransientProviderError().retryable is True
    assert isinstance(TransientProviderError(), ProviderError)
    assert errors.PermanentProviderError().retryable is False
    assert AllProvidersFailed().retryable is False


def test_chained_cause_does_not_leak_into_the_body():
    try:
        try:
            raise RuntimeError("SELECT secret FROM keys")
        except RuntimeError as exc:
            raise errors.DependencyUnavailable(details={"dependency": "db"}) from exc
    except PineForgeError as error:
        body = error.to_body()

    assert "SELECT" not in str(body)
    assert body["details"] == {"dependency": "db"}


def test_details_are_copied_not_shared():
    details = {"field": "request"}
    error = errors.InvalidRequest(details=details)

    error.to_body()["details"]["field"] = "changed"
    details["field"] = "mutated"

    assert error.to_body()["details"] == {"field": "request"}
