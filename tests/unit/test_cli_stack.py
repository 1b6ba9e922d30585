"""``up``/``down`` process bookkeeping and the ``demo`` helpers."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import click
import pytest

from cli import stack
from cli.demo import Case, demo_token, print_table, read_cases
from engine.settings import REPO_ROOT, Settings

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path, api_url="http://127.0.0.1:1")


def test_started_service_is_recorded_and_stopped_by_its_pid(settings):
    pid = stack.start_service(settings, stack.Service("sleeper", SLEEPER))

    assert stack.running_pid(settings, "sleeper") == pid
    assert (settings.var_dir / "run" / "sleeper.pid").read_text().startswith(f"{pid}")
    assert stack.stop_service(settings, "sleeper") is True
    assert stack.running_pid(settings, "sleeper") is None
    assert not (settings.var_dir / "run" / "sleeper.pid").exists()


def test_a_service_whose_port_is_taken_is_refused_not_started(settings):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        service = stack.Service("sleeper", SLEEPER, ("127.0.0.1", port))

        with pytest.raises(click.ClickException, match=f"127.0.0.1:{port} is in use"):
            stack.start_service(settings, service)

    assert stack.running_pid(settings, "sleeper") is None


def test_starting_a_running_service_again_reuses_it(settings):
    first = stack.start_service(settings, stack.Service("sleeper", SLEEPER))
    try:
        second = stack.start_service(settings, stack.Service("sleeper", SLEEPER))
        assert second == first
    finally:
        stack.stop_service(settings, "sleeper")


def test_a_stale_pidfile_is_forgotten(settings):
    run_dir = settings.var_dir / "run"
    run_dir.mkdir(parents=True)
    (run_dir / "api.pid").write_text("999999999 123\n")

    assert stack.running_pid(settings, "api") is None
    assert not (run_dir / "api.pid").exists()
    assert stack.stop_service(settings, "api") is False


def test_a_reused_pid_is_not_taken_for_our_process(settings):
    run_dir = settings.var_dir / "run"
    run_dir.mkdir(parents=True)
    # This test process is alive, but it did not start at "time 1".
    (run_dir / "api.pid").write_text(f"{os.getpid()} 1\n")

    assert stack.running_pid(settings, "api") is None


def test_waiting_for_health_reports_a_service_that_died(settings):
    crash = [sys.executable, "-c", "print('port already in use'); raise SystemExit(3)"]
    stack.start_service(settings, stack.Service("api", crash))

    with pytest.raises(click.ClickException, match="port already in use"):
        stack.wait_until_healthy(settings, ["api"])


def test_services_are_worker_api_and_flower_on_the_configured_port():
    settings = Settings(api_url="http://127.0.0.1:8123")

    named = {service.name: service.argv for service in stack.services(settings)}

    assert list(named) == ["worker", "beat", "api", "flower"]
    assert named["worker"][3:] == ["worker"]
    assert named["beat"][3:] == ["beat"]
    assert named["api"][3:] == ["serve", "--host", "127.0.0.1", "--port", "8123"]
    assert stack.flower_url(settings) == "http://127.0.0.1:5555"


def test_demo_reads_every_example_case():
    cases = read_cases(REPO_ROOT / "examples" / "requests.jsonl")

    assert len(cases) >= 25
    assert cases[0].id == "h01"
    assert all(case.request for case in cases)


def test_demo_names_the_line_of_a_broken_case(tmp_path):
    cases_file = tmp_path / "cases.jsonl"
    cases_file.write_text('{"id": "a", "request": "EMA"}\n\n{"id": "b"}\n')

    with pytest.raises(click.ClickException, match=r"cases.jsonl:3"):
        read_cases(cases_file)


def test_demo_table_has_one_row_per_case(capsys):
    long_request = "RSI 14 crosses above 30 " * 5
    print_table(
        [
            Case("h01", long_request, status="succeeded", outcome="var/out/h01.pine"),
            Case("h22", "Make me rich", status="failed", outcome="REQUEST_TOO_VAGUE"),
        ]
    )

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["id", "request", "status", "file", "or", "error"]
    assert lines[2].startswith("h01") and lines[2].endswith("var/out/h01.pine")
    assert "…" in lines[2]
    assert lines[3].split()[-2:] == ["failed", "REQUEST_TOO_VAGUE"]


def test_demo_token_reuses_the_demo_user(db_session):
    from sqlalchemy import func, select

    from engine.db import AccessToken, User

    first, second = demo_token(), demo_token()

    assert first != second
    assert db_session.scalar(select(func.count()).select_from(User)) == 1
    assert db_session.scalar(select(func.count()).select_from(AccessToken)) == 2
