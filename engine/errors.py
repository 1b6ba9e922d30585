"""The one exception tree of PineForge.

Every failure that may reach a client, a job row or a log line is one of these::

    PineForgeError                  500  INTERNAL_ERROR
    ├── InvalidRequest              422  VALIDATION_ERROR
    ├── Unauthorized                401  UNAUTHORIZED
    ├── Forbidden                   403  FORBIDDEN
    ├── NotFound                    404  NOT_FOUND
    ├── Conflict                    409  CONFLICT
    ├── Gone                        410  GONE
    ├── PayloadTooLarge             413  PAYLOAD_TOO_LARGE
    ├── RateLimited                 429  RATE_LIMITED          (retryable)
    ├── ComposeError                422  REQUEST_TOO_VAGUE | NO_SUPPORTED_RULE
    │                                    | INVALID_PARAMETERS
    ├── SpecInvalid                 422  SPEC_INVALID
    ├── IndicatorTemplateInvalid    422  INDICATOR_TEMPLATE_INVALID
    ├── RenderInvalid               500  RENDER_INVALID        (a template bug)
    ├── ProviderError               502  PROVIDER_ERROR
    │   ├── TransientProviderError       PROVIDER_UNAVAILABLE  (retryable)
    │   └── PermanentProviderError       PROVIDER_REJECTED
    ├── AllProvidersFailed          502  LLM_PROVIDER_ERROR
    ├── DependencyUnavailable       503  DEPENDENCY_UNAVAILABLE (retryable)
    ├── MailRejected                502  MAIL_REJECTED
    └── JobFailed                   500  WORKER_LOST | JOB_TIMEOUT

``http_status`` maps an error to the HTTP response, ``retryable`` tells a caller
whether the same call may succeed later, and ``to_body()`` is the JSON error body.
A message is written for the end user: it never carries a secret, SQL, prompt
text or a traceback. Third-party exceptions are translated at the boundary
where they are caught and chained with ``raise ... from exc``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

_CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]*$")


class PineForgeError(Exception):
    """Base of every coded PineForge error.

    ``code`` is UPPER_SNAKE and stable (clients branch on it); ``message`` is one
    human sentence; ``details`` is a small JSON-safe dict. Each subclass supplies
    defaults, so ``NotFound()`` and ``ComposeError("REQUEST_TOO_VAGUE", "...")``
    both work.
    """

    http_status: ClassVar[int] = 500
    retryable: ClassVar[bool] = False
    default_code: ClassVar[str] = "INTERNAL_ERROR"
    default_message: ClassVar[str] = "Something went wrong on our side."
    #: When set, the only codes this class may carry.
    codes: ClassVar[frozenset[str] | None] = None
    #: Default messages for codes other than ``default_code``.
    code_messages: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        code: str | None = None,
        message: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.code = code or self.default_code
        self.message = (
            message or self.code_messages.get(self.code) or self.default_message
        )
        self.details = dict(details or {})
        if not _CODE_PATTERN.match(self.code):
            raise ValueError(f"error code must be UPPER_SNAKE, got {self.code!r}")
        if self.codes is not None and self.code not in self.codes:
            raise ValueError(f"{type(self).__name__} cannot carry code {self.code!r}")
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"

    def to_body(self) -> dict[str, Any]:
        """Return the JSON error body shared by the API and job results."""
        return {
            "status": "error",
            "code": self.code,
            "message": self.message,
            "details": dict(self.details),
        }


class InvalidRequest(PineForgeError):
    http_status = 422
    default_code = "VALIDATION_ERROR"
    default_message = "The request is not valid."


class Unauthorized(PineForgeError):
    http_status = 401
    default_code = "UNAUTHORIZED"
    default_message = "Authentication is required."


class Forbidden(PineForgeError):
    http_status = 403
    default_code = "FORBIDDEN"
    default_message = "You are not allowed to do this."


class NotFound(PineForgeError):
    http_status = 404
    default_code = "NOT_FOUND"
    default_message = "The resource does not exist."


class Conflict(PineForgeError):
    http_status = 409
    default_code = "CONFLICT"
    default_message = "The request conflicts with the current state."


class Gone(PineForgeError):
    """The resource existed but can no longer be reached (e.g. restore expired)."""

    http_status = 410
    default_code = "GONE"
    default_message = "The resource is no longer available."


class PayloadTooLarge(PineForgeError):
    http_status = 413
    default_code = "PAYLOAD_TOO_LARGE"
    default_message = "The request body is too large."


class RateLimited(PineForgeError):
    http_status = 429
    retryable = True
    default_code = "RATE_LIMITED"
    default_message = "Too many requests; try again later."


class ComposeError(PineForgeError):
    """The idea cannot be turned into a strategy; the user must rephrase it."""

    http_status = 422
    default_code = "REQUEST_TOO_VAGUE"
    default_message = "The request does not describe a strategy we can build."
    codes = frozenset(
        {
            "REQUEST_TOO_VAGUE",
            "NO_SUPPORTED_RULE",
            "INVALID_PARAMETERS",
            "REQUEST_TOO_LONG",
        }
    )
    code_messages = {
        "NO_SUPPORTED_RULE": "The request uses a rule we do not support yet.",
        "INVALID_PARAMETERS": "The request has parameters out of range.",
    }


class SpecInvalid(PineForgeError):
    http_status = 422
    default_code = "SPEC_INVALID"
    default_message = "The strategy spec is not valid."


class IndicatorTemplateInvalid(PineForgeError):
    """A user-defined indicator's Pine template does not parse or lints dirty."""

    http_status = 422
    default_code = "INDICATOR_TEMPLATE_INVALID"
    default_message = "The indicator's Pine template is not usable."


class RenderInvalid(PineForgeError):
    """A rendered script failed parsing or linting: our template bug."""

    http_status = 500
    default_code = "RENDER_INVALID"
    default_message = "The generated script failed our checks; this is our bug."


class ProviderError(PineForgeError):
    """One LLM provider failed; the chain decides to retry or fall back."""

    http_status = 502
    default_code = "PROVIDER_ERROR"
    default_message = "The language model provider failed."


class TransientProviderError(ProviderError):
    retryable = True
    default_code = "PROVIDER_UNAVAILABLE"
    default_message = "The language model provider is temporarily unavailable."


class PermanentProviderError(ProviderError):
    default_code = "PROVIDER_REJECTED"
    default_message = "The language model provider rejected the request."


class AllProvidersFailed(PineForgeError):
    http_status = 502
    default_code = "LLM_PROVIDER_ERROR"
    default_message = "Every language model provider failed."


class DependencyUnavailable(PineForgeError):
    http_status = 503
    retryable = True
    default_code = "DEPENDENCY_UNAVAILABLE"
    default_message = "A service we depend on is unavailable; try again later."


class MailRejected(PineForgeError):
    """The mail server refused a message (recipient, sender or content)."""

    http_status = 502
    default_code = "MAIL_REJECTED"
    default_message = "The mail server refused the message."


class JobFailed(PineForgeError):
    """A job ended without a coded error from the pipeline."""

    http_status = 500
    default_code = "WORKER_LOST"
    default_message = "The worker running the job stopped."
    codes = frozenset({"WORKER_LOST", "JOB_TIMEOUT"})
    code_messages = {"JOB_TIMEOUT": "The job did not finish within its deadline."}
