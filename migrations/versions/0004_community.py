"""Community and indicator catalog: custom indicators, built-in overrides,
publications with likes, reports and forks; versions may come from a fork.

Revision ID: 0004_community
Revises: 0003_library
Create Date: 2024-12-17 00:00:00
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_community"
down_revision: str | None = "0003_library"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_SOURCES = "'generate', 'manual', 'refine'"
NEW_SOURCES = "'generate', 'manual', 'refine', 'fork'"
SEARCH_INDEX = "ix_strategy_publications_search_text"


def _fk(table: str, column: str, target: str, ondelete: str = "CASCADE"):
    referred, _, key = target.partition(".")
    return sa.ForeignKeyConstraint(
        [column],
        [target],
        name=f"fk_{table}_{column}_{referred}",
        ondelete=ondelete,
    )


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)

    op.create_table(
        "custom_indicators",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("overlay", sa.Boolean(), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("created_at", tz, nullable=False),
        sa.Column("updated_at", tz, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_custom_indicators"),
        _fk("custom_indicators", "user_id", "users.id"),
        sa.UniqueConstraint(
            "user_id", "kind", name="uq_custom_indicators_user_id_kind"
        ),
    )

    op.create_table(
        "indicator_overrides",
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("description", sa.String(500), nullable=True),
        sa.Column("category", sa.String(32), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("updated_at", tz, nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("kind", name="pk_indicator_overrides"),
        _fk("indicator_overrides", "updated_by", "users.id", "SET NULL"),
    )

    _create_publications(tz)
    _create_interactions(tz)
    _allow_fork_source(NEW_SOURCES, OLD_SOURCES)


def _create_publications(tz: sa.DateTime) -> None:
    table = "strategy_publications"
    op.create_table(
        table,
        sa.Column("strategy_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("search_text", sa.String(1000), nullable=False),
        sa.Column("like_count", sa.Integer(), nullable=False),
        sa.Column("fork_count", sa.Integer(), nullable=False),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.Column("published_at", tz, nullable=False),
        sa.Column("unpublished_at", tz, nullable=True),
        sa.Column("hidden_at", tz, nullable=True),
        sa.Column("hidden_reason", sa.String(200), nullable=True),
        sa.Column("hidden_by", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("strategy_id", name=f"pk_{table}"),
        _fk(table, "strategy_id", "strategies.id"),
        _fk(table, "user_id", "users.id"),
        _fk(table, "hidden_by", "users.id", "SET NULL"),
        # op.f: the name is final, not fed through the naming convention again.
        sa.CheckConstraint("like_count >= 0", name=op.f(f"ck_{table}_like_count")),
        sa.CheckConstraint("fork_count >= 0", name=op.f(f"ck_{table}_fork_count")),
    )
    for columns in (
        ["published_at"],
        ["like_count", "published_at"],
        ["fork_count", "published_at"],
        ["user_id", "published_at"],
    ):
        op.create_index(f"ix_{table}_{'_'.join(columns)}", table, columns)
    _create_search_index()

    op.create_table(
        "published_indicators",
        sa.Column("strategy_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("strategy_id", "kind", name="pk_published_indicators"),
        _fk("published_indicators", "strategy_id", "strategy_publications.strategy_id"),
    )
    op.create_index("ix_published_indicators_kind", "published_indicators", ["kind"])


def _create_search_index() -> None:
    # Text search is `search_text LIKE '%term%'` on both databases. PostgreSQL
    # answers that from a trigram GIN index; SQLite scans, and keeps a plain
    # index only so both schemas match the models.
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        op.create_index(SEARCH_INDEX, "strategy_publications", ["search_text"])
        return
    schema = _trigram_schema(bind)
    if schema is None:
        op.create_index(SEARCH_INDEX, "strategy_publications", ["search_text"])
        return
    op.create_index(
        SEARCH_INDEX,
        "strategy_publications",
        ["search_text"],
        postgresql_using="gin",
        postgresql_ops={"search_text": f"{schema}.gin_trgm_ops"},
    )


def _trigram_schema(bind: sa.engine.Connection) -> str | None:
    """The schema holding pg_trgm, installing it in public if allowed."""
    found = bind.scalar(
        sa.text(
            "SELECT n.nspname FROM pg_extension e "
            "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
        )
    )
    if found:
        return found
    try:
        with bind.begin_nested():
            bind.execute(
                sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
            )
    except sa.exc.DBAPIError:
        return None  # not installed on the server, or not allowed
    return "public"


def _create_interactions(tz: sa.DateTime) -> None:
    op.create_table(
        "strategy_likes",
        sa.Column("strategy_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", tz, nullable=False),
        sa.PrimaryKeyConstraint("strategy_id", "user_id", name="pk_strategy_likes"),
        _fk("strategy_likes", "strategy_id", "strategies.id"),
        _fk("strategy_likes", "user_id", "users.id"),
    )
    op.create_index("ix_strategy_likes_user_id", "strategy_likes", ["user_id"])

    op.create_table(
        "strategy_reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("strategy_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_at", tz, nullable=False),
        sa.Column("resolved_at", tz, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_strategy_reports"),
        _fk("strategy_reports", "strategy_id", "strategies.id"),
        _fk("strategy_reports", "user_id", "users.id"),
        sa.UniqueConstraint(
            "strategy_id", "user_id", name="uq_strategy_reports_strategy_id_user_id"
        ),
    )
    op.create_index("ix_strategy_reports_user_id", "strategy_reports", ["user_id"])
    op.create_index(
        "ix_strategy_reports_resolved_at_created_at",
        "strategy_reports",
        ["resolved_at", "created_at"],
    )

    op.create_table(
        "strategy_forks",
        sa.Column("strategy_id", sa.Uuid(), nullable=False),
        sa.Column("source_strategy_id", sa.Uuid(), nullable=True),
        sa.Column("source_version", sa.Integer(), nullable=False),
        sa.Column("created_at", tz, nullable=False),
        sa.PrimaryKeyConstraint("strategy_id", name="pk_strategy_forks"),
        _fk("strategy_forks", "strategy_id", "strategies.id"),
        _fk("strategy_forks", "source_strategy_id", "strategies.id", "SET NULL"),
    )
    op.create_index(
        "ix_strategy_forks_source_strategy_id", "strategy_forks", ["source_strategy_id"]
    )


def _allow_fork_source(sources: str, previous: str) -> None:
    """Replace the CHECK on strategy_versions.source with one listing ``sources``."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        # 0001 named it through the naming convention; keep whatever it is.
        name = bind.scalar(
            sa.text(
                "SELECT conname FROM pg_constraint WHERE contype = 'c' "
                "AND conrelid = 'strategy_versions'::regclass "
                "AND pg_get_constraintdef(oid) LIKE '%source%'"
            )
        )
        op.drop_constraint(op.f(name), "strategy_versions", type_="check")
        op.create_check_constraint(
            op.f(name), "strategy_versions", f"source IN ({sources})"
        )
        return

    # SQLite cannot alter a constraint, and copying the table would fire the
    # ON DELETE SET NULL of jobs.version_id (foreign keys are on and cannot be
    # turned off inside the migration's transaction). Widening or narrowing a
    # CHECK leaves the stored rows as they are, so SQLite's documented
    # writable_schema procedure edits the table's definition in place.
    sql = bind.scalar(
        sa.text("SELECT sql FROM sqlite_master WHERE type='table' AND name=:t"),
        {"t": "strategy_versions"},
    )
    pattern = re.compile(rf"(CHECK \(source IN \(){re.escape(previous)}(\)\))")
    if len(pattern.findall(sql)) != 1:
        raise RuntimeError("the strategy_versions source CHECK is not as expected")
    new_sql = pattern.sub(lambda m: f"{m.group(1)}{sources}{m.group(2)}", sql)

    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    bind.execute(
        sa.text("UPDATE sqlite_master SET sql=:sql WHERE type='table' AND name=:t"),
        {"sql": new_sql, "t": "strategy_versions"},
    )
    bind.exec_driver_sql(f"PRAGMA schema_version={int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema=OFF")
    problems = bind.exec_driver_sql("PRAGMA integrity_check").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError("integrity check failed after editing strategy_versions")


def downgrade() -> None:
    op.execute("UPDATE strategy_versions SET source = 'manual' WHERE source = 'fork'")
    _allow_fork_source(OLD_SOURCES, NEW_SOURCES)
    for table in (
        "strategy_forks",
        "strategy_reports",
        "strategy_likes",
        "published_indicators",
        "strategy_publications",
        "indicator_overrides",
        "custom_indicators",
    ):
        op.drop_table(table)
