"""Persistence: models, sessions and migrations.

Every model module is imported here, so ``Base.metadata`` always holds every
table (Alembic's comparison and the test fixtures rely on it).
"""

from engine.db import (  # noqa: F401
    accounts_models,
    community_models,
    indicator_models,
)
from engine.db.base import Base, UTCDateTime, utcnow
from engine.db.migrate import alembic_config, upgrade_database
from engine.db.models import (
    FINISHED_STATUSES,
    AccessToken,
    Job,
    JobStatus,
    Strategy,
    StrategyIndicator,
    StrategyVersion,
    User,
    VersionSource,
)
from engine.db.session import (
    dispose_engine,
    get_engine,
    get_sessionmaker,
    in_batches,
    make_engine,
    session_scope,
)

__all__ = [
    "FINISHED_STATUSES",
    "AccessToken",
    "Base",
    "Job",
    "JobStatus",
    "Strategy",
    "StrategyIndicator",
    "StrategyVersion",
    "UTCDateTime",
    "User",
    "VersionSource",
    "alembic_config",
    "dispose_engine",
    "get_engine",
    "get_sessionmaker",
    "in_batches",
    "make_engine",
    "session_scope",
    "upgrade_database",
    "utcnow",
]
