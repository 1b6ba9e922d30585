"""Settings: one object, read once from the environment.

``DATABASE_URL``, ``REDIS_URL``, ``SMTP_URL`` and ``SENTRY_DSN`` keep their
conventional unprefixed names; everything else is ``PINEFORGE_<FIELD>``. With
nothing set, PineForge runs embedded: SQLite and a Redis server on a unix
socket, both under ``PINEFORGE_VAR_DIR``. Production refuses to start without
the settings it cannot guess.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Extra time a broker message may stay unacknowledged beyond two deadlines.
VISIBILITY_MARGIN_SECONDS = 60

Environment = Literal["embedded", "development", "production", "test"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class Settings(BaseSettings):
    """Validated configuration; build it with :func:`get_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="PINEFORGE_",
        extra="ignore",
        validate_by_name=True,
        validate_by_alias=True,
        # Validation errors must not echo DATABASE_URL passwords into logs.
        hide_input_in_errors=True,
    )

    env: Environment = "embedded"
    var_dir: Path = REPO_ROOT / "var"
    secret_key: SecretStr | None = None

    configured_database_url: str | None = Field(
        default=None, validation_alias="DATABASE_URL", repr=False
    )
    configured_redis_url: str | None = Field(
        default=None, validation_alias="REDIS_URL", repr=False
    )
    smtp_url: SecretStr | None = Field(default=None, validation_alias="SMTP_URL")
    mail_from: str = "PineForge <no-reply@pineforge.local>"
    sentry_dsn: SecretStr | None = Field(default=None, validation_alias="SENTRY_DSN")

    job_deadline_seconds: int = Field(default=180, gt=0)
    job_lease_seconds: int = Field(default=30, gt=0)
    job_max_attempts: int = Field(default=3, ge=1)
    queued_stale_seconds: int = Field(default=60, gt=0)
    sweep_interval_seconds: int = Field(default=15, gt=0)
    broker_visibility_timeout_seconds: int | None = Field(default=None, gt=0)
    broker_key_prefix: str = ""

    max_request_bytes: int = Field(default=64 * 1024, gt=0)
    api_url: str = "http://127.0.0.1:8000"
    worker_concurrency: int = Field(default=2, ge=1)
    #: Threads of a worker on the ``generate`` queue: each mostly waits on an LLM.
    generate_concurrency: int = Field(default=64, ge=1, le=1024)
    #: Connections each process keeps, and may open beyond that under a burst.
    #: Tasks check one out only for short transactions, never across an LLM
    #: call, so a few serve many threads.
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=20, ge=0)
    db_pool_timeout_seconds: float = Field(default=30.0, gt=0)
    log_level: LogLevel = "INFO"
    log_json: bool = True

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        self.var_dir = self.var_dir.expanduser().resolve()
        if self.job_lease_seconds >= self.job_deadline_seconds:
            raise ValueError(
                "PINEFORGE_JOB_LEASE_SECONDS must be shorter than "
                "PINEFORGE_JOB_DEADLINE_SECONDS"
            )
        # A broker that redelivers a message while its job may still be running
        # only wastes work (the claim is guarded), but one shorter than a deadline
        # would redeliver every long job.
        if self.broker_visibility_timeout <= self.job_deadline_seconds:
            raise ValueError(
                "the broker visibility timeout must be longer than the job deadline"
            )
        if self.env == "production":
            self._require_production_settings()
        return self

    def _require_production_settings(self) -> None:
        missing = []
        if self.secret_key is None or not self.secret_key.get_secret_value():
            missing.append("PINEFORGE_SECRET_KEY")
        if not self.configured_database_url:
            missing.append("DATABASE_URL")
        if not self.configured_redis_url:
            missing.append("REDIS_URL")
        if missing:
            raise ValueError(f"production requires {', '.join(missing)}")
        if len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("PINEFORGE_SECRET_KEY must be at least 32 characters")

    @property
    def database_url(self) -> str:
        """SQLAlchemy URL: ``DATABASE_URL`` (psycopg 3) or SQLite under var/."""
        if not self.configured_database_url:
            return f"sqlite:///{self.var_dir / 'pineforge.db'}"
        return normalize_database_url(self.configured_database_url)

    @property
    def embedded_redis(self) -> bool:
        """True when no ``REDIS_URL`` is set and the bundled server is used."""
        return not self.configured_redis_url

    @property
    def redis_socket_path(self) -> Path:
        """Unix socket of the embedded Redis server."""
        return self.var_dir / "redis.sock"

    @property
    def redis_url(self) -> str:
        """URL for redis-py clients (cache, rate limits, events)."""
        if self.configured_redis_url:
            return self.configured_redis_url
        return f"unix://{self.redis_socket_path}"

    @property
    def broker_url(self) -> str:
        """URL for kombu/Celery, which spells a unix socket differently."""
        if self.configured_redis_url:
            return self.configured_redis_url
        return f"redis+socket://{self.redis_socket_path}"

    @property
    def broker_visibility_timeout(self) -> int:
        """Seconds before the broker redelivers an unacknowledged message."""
        if self.broker_visibility_timeout_seconds is not None:
            return self.broker_visibility_timeout_seconds
        return 2 * self.job_deadline_seconds + VISIBILITY_MARGIN_SECONDS

    def signing_secret(self) -> str:
        """Return the secret key, creating a persistent one outside production.

        Outside production an unset key is generated once and kept in
        ``<var>/secret.key`` (mode 0600) so every process of one install agrees.
        """
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()

        path = self.var_dir / "secret.key"
        if path.exists():
            return path.read_text().strip()

        # Write aside, then link into place: a process racing us either wins
        # the link or reads a complete file, never an empty one.
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"secret.key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
        return path.read_text().strip()


def normalize_database_url(url: str) -> str:
    """Point plain PostgreSQL URLs at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read from the environment once."""
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings so the next call re-reads the environment."""
    get_settings.cache_clear()
