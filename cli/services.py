"""Long-running processes: ``serve``, ``worker``, ``beat``, ``flower``, ``db``.

Each command builds an argv and replaces the current process with it, so a
supervisor (docker, systemd, ``pineforge up``) signals the real server by the
pid it started. In the embedded default every command first makes sure the
bundled Redis server runs; with no DATABASE_URL the SQLite file is migrated
too, since nobody else would do it.
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import version
from urllib.parse import urlsplit

import click

from engine.db import upgrade_database
from engine.embedded import ensure_embedded_redis
from engine.settings import Settings, get_settings
from workers.config import DEFAULT_QUEUE, GENERATE_QUEUE

CELERY_APP = "workers.celery_app"
WORKER_QUEUES = f"{GENERATE_QUEUE},{DEFAULT_QUEUE}"
WORKER_POOLS = ("threads", "prefork", "solo")
DEFAULT_WEB_WORKERS = 2
FLOWER_PORT = 5555


def prepare_local_services(
    settings: Settings, *, redis: bool = True, migrate: bool = True
) -> None:
    """Start the embedded Redis server and migrate SQLite when they are in use."""
    if redis and settings.embedded_redis:
        ensure_embedded_redis(settings)
    if migrate and not settings.configured_database_url:
        upgrade_database()


def _replace_process(argv: list[str]) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)


def _gunicorn_has_control_socket() -> bool:
    major, minor = (int(part) for part in version("gunicorn").split(".")[:2])
    return (major, minor) >= (25, 1)


def gunicorn_argv(settings: Settings, host: str, port: int, workers: int) -> list[str]:
    argv = [
        sys.executable, "-m", "gunicorn", "web.wsgi:app",
        "--bind", f"{host}:{port}",
        "--workers", str(workers),
        "--graceful-timeout", "20",
        "--forwarded-allow-ips", "127.0.0.1",
    ]  # fmt: skip
    if _gunicorn_has_control_socket():
        # Its default lives in the home directory, shared by every install.
        run_dir = settings.var_dir / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        argv += ["--control-socket", str(run_dir / f"gunicorn-{port}.ctl")]
    return argv


def celery_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", CELERY_APP, *args]


def worker_shape(
    settings: Settings, queues: list[str], pool: str | None, concurrency: int | None
) -> tuple[str, int]:
    """The pool and concurrency a worker on ``queues`` runs with by default.

    A worker that takes ``generate`` spends its time waiting on LLM calls, so
    it runs threads, ``PINEFORGE_GENERATE_CONCURRENCY`` of them; one that only
    does housekeeping runs a small prefork pool.
    """
    if pool is None:
        pool = "threads" if GENERATE_QUEUE in queues else "prefork"
    if concurrency is None:
        waits_on_llms = pool == "threads" and GENERATE_QUEUE in queues
        if waits_on_llms:
            concurrency = settings.generate_concurrency
        else:
            concurrency = settings.worker_concurrency
    return pool, concurrency


def worker_argv(
    settings: Settings,
    pool: str | None,
    concurrency: int | None,
    beat: bool,
    queues: str = WORKER_QUEUES,
) -> list[str]:
    names = [name.strip() for name in queues.split(",") if name.strip()]
    pool, concurrency = worker_shape(settings, names, pool, concurrency)
    argv = celery_argv(
        "worker",
        "--queues", ",".join(names),
        "--pool", pool,
        "--concurrency", str(concurrency),
        # Two workers on one host need two node names (Flower tells them apart).
        "--hostname", f"{'-'.join(names)}@%h",
        "--loglevel", settings.log_level,
        "--task-events",
    )  # fmt: skip
    if beat:
        argv += ["--beat", "--schedule", str(beat_schedule_path(settings))]
    return argv


def beat_schedule_path(settings: Settings) -> str:
    path = settings.var_dir / "celerybeat-schedule"
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


def flower_argv(address: str, port: int) -> list[str]:
    return celery_argv(
        "flower", f"--address={address}", f"--port={port}", "--purge_offline_workers=60"
    )


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port",
    type=int,
    help="Port (default: the one in PINEFORGE_API_URL, else 8000).",
)
@click.option(
    "--workers",
    type=int,
    envvar="WEB_CONCURRENCY",
    default=DEFAULT_WEB_WORKERS,
    show_default=True,
    help="gunicorn worker processes (env WEB_CONCURRENCY).",
)
@click.option("--dev", is_flag=True, help="Flask's development server instead.")
def serve(host: str, port: int | None, workers: int, dev: bool) -> None:
    """Run the HTTP API (gunicorn on web.wsgi:app)."""
    settings = get_settings()
    port = port or urlsplit(settings.api_url).port or 8000
    prepare_local_services(settings)
    if dev:
        from web import create_app

        create_app(settings).run(host=host, port=port, debug=False)
        return
    _replace_process(gunicorn_argv(settings, host, port, workers))


def _check_queues(ctx: click.Context, param: click.Parameter, value: str) -> str:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = sorted(set(names) - {GENERATE_QUEUE, DEFAULT_QUEUE})
    if not names or unknown:
        known = f"{GENERATE_QUEUE}, {DEFAULT_QUEUE}"
        raise click.BadParameter(f"choose from {known} (comma-separated)")
    return ",".join(dict.fromkeys(names))


@click.command()
@click.option(
    "--queues",
    default=WORKER_QUEUES,
    show_default=True,
    callback=_check_queues,
    help="Queues to consume, comma-separated.",
)
@click.option(
    "--pool",
    type=click.Choice(WORKER_POOLS),
    help="Default: threads when consuming generate, else prefork.",
)
@click.option(
    "--concurrency",
    type=int,
    help="Default: PINEFORGE_GENERATE_CONCURRENCY for a threads worker on "
    "generate, else PINEFORGE_WORKER_CONCURRENCY.",
)
@click.option("--beat", is_flag=True, help="Run the periodic scheduler inside.")
def worker(queues: str, pool: str | None, concurrency: int | None, beat: bool) -> None:
    """Run a Celery worker (both queues unless --queues says otherwise).

    Production runs two: ``--queues generate`` (threads, many) for the LLM
    calls and ``--queues default`` (prefork, few) for housekeeping.
    """
    settings = get_settings()
    prepare_local_services(settings)
    _replace_process(worker_argv(settings, pool, concurrency, beat, queues))


@click.command()
def beat() -> None:
    """Run the periodic scheduler (job sweeper, credit grants, clean-ups)."""
    settings = get_settings()
    prepare_local_services(settings)
    schedule = beat_schedule_path(settings)
    argv = celery_argv("beat", "--schedule", schedule, "--loglevel", settings.log_level)
    _replace_process(argv)


@click.command()
@click.option("--address", default="127.0.0.1", show_default=True)
@click.option("--port", default=FLOWER_PORT, show_default=True, type=int)
def flower(address: str, port: int) -> None:
    """Run Flower, the Celery monitor, on the same broker."""
    prepare_local_services(get_settings(), migrate=False)
    _replace_process(flower_argv(address, port))


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    upgrade_database(revision=revision)
    click.echo(f"database at {revision}")
