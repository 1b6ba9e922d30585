"""The ``pineforge`` command: the argv it execs, offline tools, accounts."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cli import services
from cli.main import main
from engine.render import render_strategy
from engine.settings import get_settings
from engine.spec import parse_spec

EMA_SPEC = {
    "name": "EMA Cross",
    "indicators": [
        {"id": "fast", "kind": "ema", "params": {"length": 9}},
        {"id": "slow", "kind": "ema", "params": {"length": 21}},
    ],
    "long": {
        "entry": {
            "type": "cross",
            "direction": "above",
            "left": {"type": "indicator", "id": "fast"},
            "right": {"type": "indicator", "id": "slow"},
        }
    },
}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def exec_argv(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Capture what a command would exec, without starting anything."""
    calls: list[list[str]] = []
    monkeypatch.setattr(services, "_replace_process", calls.append)
    monkeypatch.setattr(services, "prepare_local_services", lambda *a, **k: None)
    return calls


def test_help_lists_every_command(runner):
    result = runner.invoke(main, ["--help"])

    assert result.exit_code == 0
    for name in (
        "serve", "worker", "beat", "flower", "db", "generate", "render", "validate",
        "users", "tokens", "up", "down", "demo",
    ):  # fmt: skip
        assert f"  {name}" in result.output


def test_serve_execs_gunicorn_on_the_wsgi_app(runner, exec_argv):
    result = runner.invoke(main, ["serve", "--host", "0.0.0.0", "--port", "9000"])

    assert result.exit_code == 0, result.output
    argv = exec_argv[0]
    assert argv[:4] == [sys.executable, "-m", "gunicorn", "web.wsgi:app"]
    assert argv[argv.index("--bind") + 1] == "0.0.0.0:9000"
    assert argv[argv.index("--workers") + 1] == "2"
    if "--control-socket" in argv:
        socket = argv[argv.index("--control-socket") + 1]
        assert socket.startswith(str(get_settings().var_dir))


def test_serve_workers_follow_web_concurrency(runner, exec_argv):
    runner.invoke(main, ["serve"], env={"WEB_CONCURRENCY": "5"})

    assert exec_argv[0][exec_argv[0].index("--workers") + 1] == "5"


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_worker_runs_both_queues_on_threads_by_default(runner, exec_argv):
    result = runner.invoke(main, ["worker"])

    assert result.exit_code == 0, result.output
    argv = exec_argv[0]
    assert argv[:5] == [sys.executable, "-m", "celery", "-A", "workers.celery_app"]
    assert argv[5] == "worker"
    assert _option(argv, "--queues") == "generate,default"
    assert _option(argv, "--pool") == "threads"
    assert _option(argv, "--concurrency") == str(get_settings().generate_concurrency)
    assert "--beat" not in argv


def test_generate_and_housekeeping_workers_get_their_own_shape(runner, exec_argv):
    env = {"PINEFORGE_GENERATE_CONCURRENCY": "48", "PINEFORGE_WORKER_CONCURRENCY": "3"}
    get_settings.cache_clear()
    try:
        runner.invoke(main, ["worker", "--queues", "generate"], env=env)
        runner.invoke(main, ["worker", "--queues", "default"], env=env)
    finally:
        get_settings.cache_clear()

    generate, housekeeping = exec_argv
    assert (_option(generate, "--pool"), _option(generate, "--concurrency")) == (
        "threads",
        "48",
    )
    assert (
        _option(housekeeping, "--pool"),
        _option(housekeeping, "--concurrency"),
    ) == (
        "prefork",
        "3",
    )
    # Two workers on one host need distinct node names.
    assert _option(generate, "--hostname") != _option(housekeeping, "--hostname")


def test_worker_refuses_an_unknown_queue(runner, exec_argv):
    result = runner.invoke(main, ["worker", "--queues", "generate,email"])

    assert result.exit_code == 2
    assert "generate, default" in result.output
    assert exec_argv == []


def test_worker_can_embed_beat_and_pick_its_pool(runner, exec_argv):
    runner.invoke(main, ["worker", "--beat", "--pool", "threads", "--concurrency", "3"])

    argv = exec_argv[0]
    assert "--beat" in argv
    assert argv[argv.index("--pool") + 1] == "threads"
    assert argv[argv.index("--concurrency") + 1] == "3"


def test_beat_and_flower_run_on_the_celery_app(runner, exec_argv):
    runner.invoke(main, ["beat"])
    runner.invoke(main, ["flower"])

    beat_argv, flower_argv = exec_argv
    assert beat_argv[5] == "beat"
    assert flower_argv[5] == "flower"
    assert "--port=5555" in flower_argv


# ------------------------------------------------------------ offline tools


def test_render_prints_pine_script_for_a_spec(runner, tmp_path):
    spec_file = tmp_path / "ema.json"
    spec_file.write_text(json.dumps(EMA_SPEC))

    result = runner.invoke(main, ["render", str(spec_file)])

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("//@version=6\n")
    assert "ta.ema(" in result.stdout


def test_render_writes_the_script_with_out(runner, tmp_path):
    spec_file = tmp_path / "ema.json"
    spec_file.write_text(json.dumps(EMA_SPEC))
    out = tmp_path / "out" / "ema.pine"

    result = runner.invoke(main, ["render", str(spec_file), "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("//@version=6\n")
    assert result.stdout == ""


def test_render_names_each_invalid_field(runner, tmp_path):
    broken = {**EMA_SPEC, "indicators": [{"id": "fast", "kind": "ema", "params": {}}]}
    broken["colour"] = "red"
    spec_file = tmp_path / "broken.json"
    spec_file.write_text(json.dumps(broken))

    result = runner.invoke(main, ["render", str(spec_file)])

    assert result.exit_code == 1
    assert "not a valid spec" in result.stderr
    assert "colour" in result.stderr


def test_render_refuses_a_file_that_is_not_json(runner, tmp_path):
    spec_file = tmp_path / "spec.json"
    spec_file.write_text("{name: EMA")

    result = runner.invoke(main, ["render", str(spec_file)])

    assert result.exit_code == 1
    assert "is not JSON" in result.stderr


def test_validate_passes_a_rendered_script(runner, tmp_path):
    script = tmp_path / "ema.pine"
    script.write_text(render_strategy(parse_spec(EMA_SPEC)))

    result = runner.invoke(main, ["validate", str(script)])

    assert result.exit_code == 0, result.output
    assert "0 error(s)" in result.stderr


def test_validate_prints_line_rule_message_and_fails(runner, tmp_path):
    script = tmp_path / "old.pine"
    script.write_text('//@version=4\nstudy("Old")\nx = rsi(close, 14)\nplot(x)\n')

    result = runner.invoke(main, ["validate", str(script)])

    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines
    for line in lines:
        where, rule, message = line.split(" ", 2)
        assert where == "-" or where.isdigit()
        assert rule and message


# ------------------------------------------------------------ accounts


def test_users_create_then_tokens_create_prints_a_token_once(runner, db_session):
    from engine.db import AccessToken, User
    from web.auth import hash_token

    made = runner.invoke(main, ["users", "create", "Trader@Example.com", "--name", "T"])
    token_run = runner.invoke(main, ["tokens", "create", "trader@example.com"])

    assert made.exit_code == 0, made.output
    assert token_run.exit_code == 0, token_run.output
    token = token_run.stdout.strip()
    assert token.startswith("pf_")
    user = db_session.scalar(select(User))
    assert (user.email, user.display_name) == ("trader@example.com", "T")
    stored = db_session.scalar(select(AccessToken))
    assert stored.user_id == user.id
    assert stored.token_hash == hash_token(token)


def test_users_create_refuses_a_duplicate_email(runner, db_session):
    runner.invoke(main, ["users", "create", "a@example.com"])

    again = runner.invoke(main, ["users", "create", "A@example.com"])

    assert again.exit_code == 1
    assert "already exists" in again.stderr


def test_users_create_refuses_a_non_email(runner, db_session):
    result = runner.invoke(main, ["users", "create", "not-an-email"])

    assert result.exit_code == 2


def test_tokens_create_for_an_unknown_user_fails(runner, db_session):
    result = runner.invoke(main, ["tokens", "create", "nobody@example.com"])

    assert result.exit_code == 1
    assert "no user" in result.stderr
