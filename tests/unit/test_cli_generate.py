"""``pineforge generate`` against a loopback stand-in for the HTTP API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from click.testing import CliRunner

from cli.main import main


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


class FakeApi(BaseHTTPRequestHandler):
    """A loopback stand-in for the API: 202, then running, then a result."""

    script = '//@version=6\nstrategy("EMA Cross")\n'
    outcome: dict[str, Any] = {}
    seen: list[tuple[str, str, dict[str, str], Any]] = []
    polls = 0

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        FakeApi.seen.append(("POST", self.path, dict(self.headers), body))
        if self.headers.get("Authorization") != "Bearer pf_good":
            self._json(
                401,
                {
                    "status": "error",
                    "code": "INVALID_TOKEN",
                    "message": "The access token is not valid.",
                    "details": {},
                },
            )
            return
        self._json(
            202, {"job_id": "j1", "status": "queued", "status_url": "/api/v1/jobs/j1"}
        )

    def do_GET(self) -> None:
        FakeApi.seen.append(("GET", self.path, dict(self.headers), None))
        if self.path.startswith("/api/v1/strategies/s1/export"):
            data = self.script.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        FakeApi.polls += 1
        if FakeApi.polls < 3:
            self._json(
                200,
                {
                    "id": "j1",
                    "status": "running",
                    "stage": "render",
                    "progress": 30 * FakeApi.polls,
                },
            )
            return
        self._json(200, {"id": "j1", "progress": 100, **FakeApi.outcome})

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_api() -> Iterator[str]:
    FakeApi.seen, FakeApi.polls = [], 0
    FakeApi.outcome = {
        "status": "succeeded",
        "stage": "done",
        "result": {"export_url": "/api/v1/strategies/s1/export?version=1"},
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cli.client.POLL_SECONDS", 0.01)


def test_generate_submits_polls_and_writes_the_script(
    runner, fake_api, fast_polls, tmp_path
):
    out = tmp_path / "ema.pine"
    result = runner.invoke(
        main,
        [
            "generate",
            "EMA 9/21 cross",
            "--symbol",
            "BTCUSDT",
            "--out",
            str(out),
            "--api-url",
            fake_api,
            "--token",
            "pf_good",
        ],
    )

    assert result.exit_code == 0, result.output
    assert out.read_text() == FakeApi.script
    method, path, headers, body = FakeApi.seen[0]
    assert (method, path) == ("POST", "/api/v1/strategies/generate")
    assert body == {"request": "EMA 9/21 cross", "options": {"symbol": "BTCUSDT"}}
    assert headers["Idempotency-Key"]
    assert "render" in result.stderr and "30%" in result.stderr
    assert "100%" in result.stderr


def test_generate_prints_the_script_without_out(runner, fake_api, fast_polls):
    result = runner.invoke(
        main,
        ["generate", "EMA cross", "--api-url", fake_api],
        env={"PINEFORGE_TOKEN": "pf_good"},
    )

    assert result.exit_code == 0, result.output
    assert result.stdout == FakeApi.script


def test_generate_reports_a_failed_job_by_its_code(runner, fake_api, fast_polls):
    FakeApi.outcome = {
        "status": "failed",
        "error": {"code": "REQUEST_TOO_VAGUE", "message": "Name an entry rule."},
    }
    result = runner.invoke(
        main, ["generate", "Make me rich", "--api-url", fake_api, "--token", "pf_good"]
    )

    assert result.exit_code == 1
    assert "REQUEST_TOO_VAGUE: Name an entry rule." in result.stderr


def test_generate_reports_an_api_error_body(runner, fake_api):
    result = runner.invoke(
        main, ["generate", "EMA cross", "--api-url", fake_api, "--token", "pf_bad"]
    )

    assert result.exit_code == 1
    assert "INVALID_TOKEN" in result.stderr


def test_generate_needs_a_token(runner):
    result = runner.invoke(main, ["generate", "EMA cross"], env={"PINEFORGE_TOKEN": ""})

    assert result.exit_code == 2
    assert "PINEFORGE_TOKEN" in result.stderr


def test_generate_says_when_the_api_is_unreachable(runner):
    result = runner.invoke(
        main, ["generate", "EMA", "--api-url", "http://127.0.0.1:1", "--token", "pf_x"]
    )

    assert result.exit_code == 1
    assert "API_UNREACHABLE" in result.stderr
