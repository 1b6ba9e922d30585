"""The strategy library: version labels and lineage, indicator index, job links.

Revision ID: 0003_library
Revises: 0002_accounts
Create Date: 2024-12-10 00:00:00
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_library"
down_revision: str | None = "0002_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns only, so SQLite adds them in place without a copy.
    op.add_column("strategy_versions", sa.Column("label", sa.String(40)))
    op.add_column("strategy_versions", sa.Column("parent_number", sa.Integer()))
    # A unique index rather than a constraint: SQLite cannot add a constraint
    # to an existing table, and NULL labels never collide on either database.
    op.create_index(
        "ix_strategy_versions_strategy_id_label",
        "strategy_versions",
        ["strategy_id", "label"],
        unique=True,
    )

    op.add_column("jobs", sa.Column("base_version", sa.Integer()))
    op.add_column("jobs", sa.Column("delivered_at", sa.DateTime(timezone=True)))
    # ON DELETE SET NULL from a purged strategy needs these to stay cheap.
    op.create_index("ix_jobs_strategy_id", "jobs", ["strategy_id"])
    op.create_index("ix_jobs_version_id", "jobs", ["version_id"])

    op.create_index(
        "ix_strategies_user_id_updated_at", "strategies", ["user_id", "updated_at"]
    )
    op.create_index("ix_strategies_user_id_name", "strategies", ["user_id", "name"])
    op.create_index("ix_strategies_deleted_at", "strategies", ["deleted_at"])

    op.create_table(
        "strategy_indicators",
        sa.Column("strategy_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("strategy_id", "kind", name="pk_strategy_indicators"),
        sa.ForeignKeyConstraint(
            ["strategy_id"],
            ["strategies.id"],
            name="fk_strategy_indicators_strategy_id_strategies",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_strategy_indicators_kind", "strategy_indicators", ["kind"])
    _backfill_indicators()


def _backfill_indicators() -> None:
    # Existing strategies get the indicator kinds of their current version.
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT s.id, v.spec FROM strategies s JOIN strategy_versions v "
            "ON v.strategy_id = s.id AND v.number = s.current_version"
        )
    )
    table = sa.table(
        "strategy_indicators",
        sa.column("strategy_id", sa.Uuid()),
        sa.column("kind", sa.String(32)),
    )
    spec_type = sa.JSON()
    process = spec_type.result_processor(connection.dialect, None)
    records = []
    for strategy_id, raw_spec in rows:
        spec = process(raw_spec) if process and isinstance(raw_spec, str) else raw_spec
        kinds = {use.get("kind") for use in (spec or {}).get("indicators", [])}
        records += [
            {"strategy_id": _uuid(strategy_id), "kind": kind[:32]}
            for kind in sorted(k for k in kinds if isinstance(k, str))
        ]
    if records:
        op.bulk_insert(table, records)


def _uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def downgrade() -> None:
    op.drop_index("ix_strategy_indicators_kind", table_name="strategy_indicators")
    op.drop_table("strategy_indicators")
    op.drop_index("ix_strategies_deleted_at", table_name="strategies")
    op.drop_index("ix_strategies_user_id_name", table_name="strategies")
    op.drop_index("ix_strategies_user_id_updated_at", table_name="strategies")
    op.drop_index("ix_jobs_version_id", table_name="jobs")
    op.drop_index("ix_jobs_strategy_id", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("delivered_at")
        batch.drop_column("base_version")
    op.drop_index("ix_strategy_versions_strategy_id_label", "strategy_versions")
    with op.batch_alter_table("strategy_versions") as batch:
        batch.drop_column("parent_number")
        batch.drop_column("label")
