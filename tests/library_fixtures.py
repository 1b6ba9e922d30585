"""Fixtures for the strategy library tests: strategies by API, a mail server.

Use with ``pytest_plugins = ["tests.library_fixtures"]``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from engine.settings import reset_settings
from tests.fakes.smtp_server import FakeSMTPServer
from tests.library_helpers import spec


@pytest.fixture
def create_strategy(client, auth) -> Callable[..., dict[str, Any]]:
    """Create a strategy through the API; returns the response body."""

    def make(body_spec: dict[str, Any] | None = None, headers=None, **fields: Any):
        body = {"spec": body_spec or spec(), **fields}
        response = client.post("/api/v1/strategies", json=body, headers=headers or auth)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make


@pytest.fixture
def smtp_server() -> Iterator[FakeSMTPServer]:
    """A loopback SMTP server that every process of this test sends to."""
    with FakeSMTPServer() as server:
        previous = os.environ.get("SMTP_URL")
        os.environ["SMTP_URL"] = server.url
        reset_settings()
        try:
            yield server
        finally:
            if previous is None:
                os.environ.pop("SMTP_URL", None)
            else:
                os.environ["SMTP_URL"] = previous
            reset_settings()
