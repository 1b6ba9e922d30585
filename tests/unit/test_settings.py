import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from engine.settings import REPO_ROOT, Settings, get_settings, reset_settings

SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "SENTRY_DSN")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in SERVICE_VARS:
        monkeypatch.delenv(name, raising=False)
    for name in [name for name in os.environ if name.startswith("PINEFORGE_")]:
        monkeypatch.delenv(name)
    reset_settings()
    yield
    monkeypatch.undo()
    reset_settings()


def test_defaults_run_embedded_under_repo_var():
    settings = Settings()

    assert settings.env == "embedded"
    assert settings.var_dir == REPO_ROOT / "var"
    assert settings.database_url == f"sqlite:///{REPO_ROOT / 'var' / 'pineforge.db'}"
    assert settings.embedded_redis is True
    assert settings.redis_url == f"unix://{REPO_ROOT / 'var' / 'redis.sock'}"
    assert settings.broker_url == f"redis+socket://{REPO_ROOT / 'var' / 'redis.sock'}"
    assert settings.job_deadline_seconds == 180
    assert settings.job_lease_seconds == 30
    assert settings.job_max_attempts == 3
    assert settings.queued_stale_seconds == 60
    assert settings.sweep_interval_seconds == 15
    assert settings.max_request_bytes == 64 * 1024
    assert settings.api_url == "http://127.0.0.1:8000"


def test_service_urls_are_read_unprefixed(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:pw@db:5432/pineforge")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("SMTP_URL", "smtp://mail:1025")

    settings = Settings()

    assert settings.database_url == "postgresql+psycopg://app:pw@db:5432/pineforge"
    assert settings.embedded_redis is False
    assert settings.redis_url == "redis://cache:6379/0"
    assert settings.broker_url == "redis://cache:6379/0"
    assert settings.smtp_url.get_secret_value() == "smtp://mail:1025"


def test_prefixed_variables_override_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("PINEFORGE_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("PINEFORGE_JOB_DEADLINE_SECONDS", "60")
    monkeypatch.setenv("PINEFORGE_JOB_LEASE_SECONDS", "5")
    monkeypatch.setenv("PINEFORGE_LOG_LEVEL", "DEBUG")

    settings = Settings()

    assert settings.var_dir == tmp_path
    assert settings.database_url == f"sqlite:///{tmp_path / 'pineforge.db'}"
    assert settings.job_deadline_seconds == 60
    assert settings.job_lease_seconds == 5
    assert settings.log_level == "DEBUG"


def test_visibility_timeout_outlasts_two_deadlines():
    settings = Settings(job_deadline_seconds=100, job_lease_seconds=10)

    assert settings.broker_visibility_timeout > 2 * settings.job_deadline_seconds


def test_visibility_timeout_shorter_than_deadline_is_refused():
    with pytest.raises(ValidationError, match="visibility timeout"):
        Settings(job_deadline_seconds=100, broker_visibility_timeout_seconds=90)


def test_lease_must_be_shorter_than_deadline():
    with pytest.raises(ValidationError, match="LEASE"):
        Settings(job_deadline_seconds=20, job_lease_seconds=20)


def test_production_without_secret_key_fails_fast(monkeypatch):
    monkeypatch.setenv("PINEFORGE_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:hunter2@db/pineforge")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")

    with pytest.raises(ValidationError, match="PINEFORGE_SECRET_KEY") as failure:
        get_settings()
    assert "hunter2" not in str(failure.value)


def test_production_with_its_settings_loads(monkeypatch):
    monkeypatch.setenv("PINEFORGE_ENV", "production")
    monkeypatch.setenv("PINEFORGE_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db/pineforge")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")

    settings = get_settings()

    assert settings.signing_secret() == "k" * 40
    assert "k" * 40 not in repr(settings)


def test_get_settings_is_cached_until_reset(monkeypatch):
    first = get_settings()
    assert get_settings() is first

    monkeypatch.setenv("PINEFORGE_JOB_MAX_ATTEMPTS", "5")
    reset_settings()

    assert get_settings().job_max_attempts == 5


def test_signing_secret_is_generated_once_per_var_dir(tmp_path: Path):
    settings = Settings(var_dir=tmp_path)

    secret = settings.signing_secret()

    assert len(secret) >= 32
    assert Settings(var_dir=tmp_path).signing_secret() == secret
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600


def test_database_pool_follows_settings(monkeypatch):
    from engine.db import make_engine

    monkeypatch.setenv("PINEFORGE_DB_POOL_SIZE", "7")
    monkeypatch.setenv("PINEFORGE_DB_MAX_OVERFLOW", "5")
    monkeypatch.setenv("PINEFORGE_DB_POOL_TIMEOUT_SECONDS", "4")
    reset_settings()

    # Creating an engine opens no connection, so no server is needed here.
    engine = make_engine("postgresql://pineforge@127.0.0.1:1/pineforge")

    assert (engine.pool.size(), engine.pool._max_overflow) == (7, 5)
    assert engine.pool.timeout() == 4
    engine.dispose()
