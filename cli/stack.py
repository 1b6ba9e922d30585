"""``up`` and ``down``: the whole service on one machine, in the background.

``up`` starts the embedded Redis server (when no REDIS_URL is set), migrates,
then starts a worker, the scheduler (beat), the API and Flower, each as
its own session with a pidfile under ``var/run`` and a log under ``var/log``,
and returns once ``/health`` answers ok. ``down`` stops exactly the processes
named in those pidfiles (and their children), then the embedded Redis server.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import click

from cli.client import ApiClient, ApiError
from cli.services import FLOWER_PORT, prepare_local_services
from engine.embedded import stop_embedded_redis
from engine.settings import Settings, get_settings

HEALTH_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 20
LOG_TAIL_LINES = 20


@dataclass(frozen=True)
class Service:
    name: str
    argv: list[str]
    #: The (host, port) it listens on, checked free before it starts.
    listens: tuple[str, int] | None = None


def services(settings: Settings, flower_port: int = FLOWER_PORT) -> list[Service]:
    """What ``up`` starts, in order; ``down`` stops them in reverse."""
    api = urlsplit(settings.api_url)
    host, port = api.hostname or "127.0.0.1", api.port or 8000
    cli = [sys.executable, "-m", "cli.main"]
    return [
        # Beat runs as its own process, not inside the worker: a worker killed
        # hard would leave an embedded scheduler behind, and a restart a second.
        Service("worker", [*cli, "worker"]),
        Service("beat", [*cli, "beat"]),
        Service(
            "api", [*cli, "serve", "--host", host, "--port", str(port)], (host, port)
        ),
        Service(
            "flower",
            [*cli, "flower", "--address", host, "--port", str(flower_port)],
            (host, flower_port),
        ),
    ]


def flower_url(settings: Settings, port: int = FLOWER_PORT) -> str:
    host = urlsplit(settings.api_url).hostname or "127.0.0.1"
    return f"http://{host}:{port}"


def _run_dir(settings: Settings) -> Path:
    path = settings.var_dir / "run"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _log_path(settings: Settings, name: str) -> Path:
    path = settings.var_dir / "log"
    path.mkdir(parents=True, exist_ok=True)
    return path / f"{name}.log"


def _start_time(pid: int) -> str | None:
    # The kernel's start time tells our process from a later one given the
    # same pid; without /proc the pid alone has to do.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(pid: int) -> bool:
    # A child of this very process lingers as a zombie until reaped.
    try:
        reaped, _status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        reaped = 0
    if reaped == pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_pid(settings: Settings, name: str) -> int | None:
    """The pid recorded for ``name`` if that very process still runs."""
    pidfile = _run_dir(settings) / f"{name}.pid"
    try:
        pid_text, _, started = pidfile.read_text().strip().partition(" ")
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    if not _alive(pid) or (started and _start_time(pid) not in (None, started)):
        pidfile.unlink(missing_ok=True)
        return None
    return pid


def start_service(settings: Settings, service: Service) -> int:
    """Start ``service`` detached, in its own session, and record its pid."""
    pid = running_pid(settings, service.name)
    if pid is not None:
        click.echo(f"{service.name:<7} already running (pid {pid})")
        return pid

    if service.listens and not _port_free(*service.listens):
        # Otherwise a health check could be answered by someone else's server.
        host, port = service.listens
        raise click.ClickException(
            f"{host}:{port} is in use by another program, so {service.name} cannot "
            "start there; choose other ports with PINEFORGE_API_URL (API) and "
            "--flower-port or PINEFORGE_FLOWER_PORT (Flower)"
        )
    log_path = _log_path(settings, service.name)
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            service.argv,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started = _start_time(process.pid) or ""
    pidfile = _run_dir(settings) / f"{service.name}.pid"
    pidfile.write_text(f"{process.pid} {started}".strip() + "\n")
    click.echo(f"{service.name:<7} started (pid {process.pid}, log {log_path})")
    return process.pid


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _log_tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-LOG_TAIL_LINES:])


def wait_until_healthy(settings: Settings, names: list[str]) -> None:
    """Poll ``/health`` until ok; fail early if a started process died."""
    client = ApiClient(settings.api_url)
    deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
    while True:
        for name in names:
            if running_pid(settings, name) is None:
                tail = _log_tail(_log_path(settings, name))
                raise click.ClickException(f"{name} exited during start-up:\n{tail}")
        try:
            if client.health().get("status") == "ok":
                return
        except ApiError:
            pass
        if time.monotonic() > deadline:
            raise click.ClickException(
                f"the API did not become healthy within {HEALTH_TIMEOUT_SECONDS}s; "
                f"see {_log_path(settings, 'api')}"
            )
        time.sleep(0.5)


def bring_up(settings: Settings, flower_port: int = FLOWER_PORT) -> None:
    """Start everything that is not running yet and wait until it is healthy."""
    prepare_local_services(settings)
    wanted = services(settings, flower_port)
    for service in wanted:
        start_service(settings, service)
    wait_until_healthy(settings, [service.name for service in wanted])
    click.echo(
        f"API     {settings.api_url}/api/v1 (docs: {settings.api_url}/api/v1/docs)"
    )
    click.echo(f"Flower  {flower_url(settings, flower_port)}")


def stop_service(settings: Settings, name: str) -> bool:
    """Stop the recorded process of ``name`` and its process group."""
    pid = running_pid(settings, name)
    if pid is None:
        return False

    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(pid):
        os.killpg(pid, signal.SIGKILL)
    (_run_dir(settings) / f"{name}.pid").unlink(missing_ok=True)
    return True


FLOWER_PORT_OPTION = click.option(
    "--flower-port",
    default=FLOWER_PORT,
    show_default=True,
    type=int,
    envvar="PINEFORGE_FLOWER_PORT",
    help="Flower's port (env PINEFORGE_FLOWER_PORT).",
)


@click.command()
@FLOWER_PORT_OPTION
def up(flower_port: int) -> None:
    """Start Redis (embedded), migrations, a worker, beat, the API and Flower.

    The API listens where PINEFORGE_API_URL points (default 127.0.0.1:8000).
    """
    bring_up(get_settings(), flower_port)
    click.echo("Stop everything with: pineforge down")


@click.command()
def down() -> None:
    """Stop what `pineforge up` started."""
    settings = get_settings()
    for service in reversed(services(settings)):
        stopped = stop_service(settings, service.name)
        click.echo(f"{service.name:<7} {'stopped' if stopped else 'not running'}")
    if settings.embedded_redis and stop_embedded_redis(settings):
        click.echo("redis   stopped")
