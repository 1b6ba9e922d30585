"""Talking to a running PineForge API over HTTP, and ``pineforge generate``.

The CLI never reaches into the database to generate: it submits through the
same API any other client uses, polls the job, and downloads the script.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import click
import requests

from engine.settings import get_settings

API_PREFIX = "/api/v1"
POLL_SECONDS = 0.5
HTTP_TIMEOUT_SECONDS = 30
FINISHED = frozenset({"succeeded", "failed", "cancelled"})


class ApiError(click.ClickException):
    """An error answer from the API (its code and message), or no answer."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.status = status


class ApiClient:
    """A small client for the PineForge HTTP API."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def url(self, path: str) -> str:
        if path.startswith("/"):
            path = path[1:]
        return urljoin(self.base_url, path)

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            response = self.http.request(
                method, self.url(path), timeout=HTTP_TIMEOUT_SECONDS, **kwargs
            )
        except requests.RequestException as exc:
            raise ApiError(
                "API_UNREACHABLE",
                f"cannot reach the API at {self.base_url} ({type(exc).__name__}); "
                "is `pineforge serve` running?",
            ) from exc
        if response.status_code >= 400:
            raise _error_from(response)
        return response

    def health(self) -> dict[str, Any]:
        return self._send("GET", f"{API_PREFIX}/health").json()

    def submit(
        self,
        text: str,
        options: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Submit an idea; returns ``{job_id, status, status_url}``."""
        headers = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        body = {"request": text, "options": options or {}}
        path = f"{API_PREFIX}/strategies/generate"
        return self._send("POST", path, json=body, headers=headers).json()

    def job(self, status_url: str) -> dict[str, Any]:
        return self._send("GET", status_url).json()

    def download(self, export_url: str) -> str:
        response = self._send("GET", export_url)
        response.encoding = "utf-8"
        return response.text


def _error_from(response: requests.Response) -> ApiError:
    try:
        body = response.json()
        return ApiError(body["code"], body["message"], response.status_code)
    except (ValueError, KeyError, TypeError):
        return ApiError(
            "HTTP_ERROR", f"HTTP {response.status_code}", response.status_code
        )


def wait_for_job(
    client: ApiClient,
    status_url: str,
    timeout: float,
    on_update: Any = None,
) -> dict[str, Any]:
    """Poll until the job finishes or ``timeout`` seconds pass; return its body."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.job(status_url)
        if on_update is not None:
            on_update(job)
        if job["status"] in FINISHED:
            return job
        if time.monotonic() > deadline:
            raise ApiError("CLIENT_TIMEOUT", f"the job did not finish in {timeout:g}s")
        time.sleep(POLL_SECONDS)


class ProgressLine:
    """Shows stage and percent: one rewritten line on a terminal, else new lines."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.last = ""

    def __call__(self, job: dict[str, Any]) -> None:
        stage = job.get("stage") or job["status"]
        text = f"{job['status']:<9} {stage:<12} {job.get('progress', 0):>3}%"
        if text == self.last:
            return
        self.last = text
        if self.live:
            self.stream.write("\r" + text)
            if job["status"] in FINISHED:
                self.stream.write("\n")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


@click.command()
@click.argument("text")
@click.option("--symbol", help="Chart symbol hint, e.g. BINANCE:BTCUSDT.")
@click.option("--timeframe", help="Timeframe hint: 15, 60, 240, 1D ...")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write here."
)
@click.option("--api-url", help="API base URL (default: PINEFORGE_API_URL).")
@click.option(
    "--token", envvar="PINEFORGE_TOKEN", help="Access token (env PINEFORGE_TOKEN)."
)
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait.")
def generate(
    text: str,
    symbol: str | None,
    timeframe: str | None,
    out: Path | None,
    api_url: str | None,
    token: str | None,
    timeout: float,
) -> None:
    """Turn TEXT into a Pine Script strategy through the API."""
    if not token:
        raise click.UsageError(
            "an access token is needed: --token or PINEFORGE_TOKEN "
            "(make one with `pineforge tokens create EMAIL`)"
        )
    client = ApiClient(api_url or get_settings().api_url, token)
    options = {
        key: value
        for key, value in (("symbol", symbol), ("timeframe", timeframe))
        if value
    }
    accepted = client.submit(text, options)
    click.echo(f"job {accepted['job_id']}", err=True)

    job = wait_for_job(client, accepted["status_url"], timeout, ProgressLine())
    if job["status"] != "succeeded":
        error = job.get("error") or {}
        code = error.get("code", job["status"].upper())
        raise ApiError(code, error.get("message", f"the job {job['status']}"))

    code = client.download(job["result"]["export_url"])
    if out is None:
        click.echo(code, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(code, encoding="utf-8")
    click.echo(f"wrote {out}", err=True)
