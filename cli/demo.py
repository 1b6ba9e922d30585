"""``pineforge demo``: the main job end to end, through the real HTTP API.

Brings the stack up, makes a demo user and token, submits every request of a
JSON-lines file, polls them all, writes each script to ``var/out/<id>.pine``
and prints one row per case: id, request, status, file or error code.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from cli.accounts import create_user, find_user
from cli.client import FINISHED, POLL_SECONDS, ApiClient, ApiError
from cli.stack import FLOWER_PORT_OPTION, bring_up, flower_url
from engine.db import session_scope
from engine.settings import REPO_ROOT, Settings, get_settings

DEMO_EMAIL = "demo@pineforge.local"
#: Room for several jobs at once; the demo still backs off on a 429.
DEMO_PLAN = "pro"
DEFAULT_CASES = REPO_ROOT / "examples" / "requests.jsonl"
REQUEST_COLUMN = 48


@dataclass
class Case:
    id: str
    request: str
    status_url: str | None = None
    status: str = "pending"
    outcome: str = ""


def read_cases(path: Path) -> list[Case]:
    """The cases of a JSON-lines file: one ``{"id", "request", ...}`` per line."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            cases.append(Case(id=str(data["id"]), request=str(data["request"])))
        except (ValueError, KeyError, TypeError) as exc:
            raise click.ClickException(f"{path}:{number}: not a case ({exc})") from exc
    return cases


def demo_token() -> str:
    """A fresh token for the demo user, creating the user on first use."""
    with session_scope() as session:
        user = find_user(session, DEMO_EMAIL) or create_user(
            session, DEMO_EMAIL, "PineForge demo", plan=DEMO_PLAN
        )
        # Imported here: the web package pulls in the Celery app, which would
        # start the embedded Redis for commands that never need it.
        from web.auth import issue_access_token

        token, _row = issue_access_token(session, user, "demo")
    return token


def submit_some(client: ApiClient, pending: list[Case]) -> list[Case]:
    """Submit cases in order until the API asks to slow down; return those sent.

    A 429 (the plan's jobs-at-once or request limit) leaves the rest pending
    for the next round, after some running jobs have finished.
    """
    sent = []
    while pending:
        case = pending[0]
        try:
            accepted = client.submit(case.request)
        except ApiError as exc:
            if exc.status == 429:
                break
            case.status, case.outcome = "rejected", exc.code
            pending.pop(0)
            continue
        case.status_url, case.status = accepted["status_url"], accepted["status"]
        sent.append(pending.pop(0))
    return sent


def _finish(client: ApiClient, case: Case, job: dict[str, Any], out_dir: Path) -> None:
    case.status = job["status"]
    if job["status"] != "succeeded":
        case.outcome = (job.get("error") or {}).get("code", job["status"].upper())
        return
    path = out_dir / f"{case.id}.pine"
    path.write_text(client.download(job["result"]["export_url"]), encoding="utf-8")
    case.outcome = str(path)


class _Counter:
    """``n/total finished`` on stderr: rewritten in place on a terminal."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.last: int | None = None
        self.live = sys.stderr.isatty()

    def __call__(self, done: int) -> None:
        if done == self.last:
            return
        self.last = done
        text = f"{done}/{self.total} finished"
        click.echo("\r" + text if self.live else text, nl=not self.live, err=True)

    def close(self) -> None:
        if self.live:
            click.echo("", err=True)


def run_cases(
    client: ApiClient, cases: list[Case], out_dir: Path, timeout: float
) -> None:
    """Submit and poll every case until all finish or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    pending, waiting = list(cases), []
    show = _Counter(len(cases))
    while (pending or waiting) and time.monotonic() < deadline:
        waiting += submit_some(client, pending)
        for case in list(waiting):
            job = client.job(case.status_url)
            case.status = job["status"]
            if job["status"] in FINISHED:
                _finish(client, case, job, out_dir)
                waiting.remove(case)
        show(len(cases) - len(pending) - len(waiting))
        if pending or waiting:
            time.sleep(POLL_SECONDS)
    show.close()
    for case in pending + waiting:
        case.outcome = "CLIENT_TIMEOUT"


def _truncate(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def print_table(cases: list[Case]) -> None:
    id_width = max([len("id"), *(len(case.id) for case in cases)])
    header = f"{'id':<{id_width}}  {'request':<{REQUEST_COLUMN}}  {'status':<9}  "
    click.echo(header + "file or error")
    click.echo("-" * (len(header) + 24))
    for case in cases:
        request = _truncate(case.request, REQUEST_COLUMN)
        click.echo(
            f"{case.id:<{id_width}}  {request:<{REQUEST_COLUMN}}  "
            f"{case.status:<9}  {case.outcome}"
        )


def _summary(cases: list[Case], settings: Settings, flower_port: int) -> None:
    written = sum(1 for case in cases if case.status == "succeeded")
    failed = sum(1 for case in cases if case.status == "failed")
    click.echo(
        f"\n{written} script(s) written to {settings.var_dir / 'out'}, "
        f"{failed} request(s) answered with an error code."
    )
    click.echo(f"Flower (workers and tasks): {flower_url(settings, flower_port)}")
    click.echo("Stop everything with: pineforge down")


@click.command()
@click.argument(
    "cases_file",
    required=False,
    default=DEFAULT_CASES,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait.")
@FLOWER_PORT_OPTION
def demo(cases_file: Path, timeout: float, flower_port: int) -> None:
    """Run every request in CASES_FILE through the API and write the scripts."""
    settings = get_settings()
    cases = read_cases(cases_file)
    bring_up(settings, flower_port)

    out_dir = settings.var_dir / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    client = ApiClient(settings.api_url, demo_token())
    run_cases(client, cases, out_dir, timeout)

    print_table(cases)
    _summary(cases, settings, flower_port)
    if any(case.outcome == "CLIENT_TIMEOUT" for case in cases):
        raise SystemExit(1)
