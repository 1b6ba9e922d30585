"""Personal access tokens remember the sign-in family they were made under.

Revision ID: 0005_token_family
Revises: 0004_community
Create Date: 2024-12-20 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_token_family"
down_revision: str | None = "0004_community"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_access_tokens_family_id"


def upgrade() -> None:
    # Nullable and without a foreign key, so SQLite adds it in place; tokens
    # made before this revision (and by the CLI) belong to no family.
    op.add_column("access_tokens", sa.Column("family_id", sa.Uuid(), nullable=True))
    op.create_index(INDEX, "access_tokens", ["family_id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="access_tokens")
    with op.batch_alter_table("access_tokens") as batch:
        batch.drop_column("family_id")
