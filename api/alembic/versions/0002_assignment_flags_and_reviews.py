"""assignment started/pinned flags; review state of rebalance plans; job artifacts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 11:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("assignments") as batch:
        batch.add_column(
            sa.Column("started", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(
            sa.Column("pinned", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("review_status", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reviewed_by", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("review_note", sa.Text(), nullable=True))
    op.create_table(
        "job_artifacts",
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("media_type", sa.String(length=128), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "name"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("job_artifacts")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("review_note")
        batch.drop_column("reviewed_by")
        batch.drop_column("reviewed_at")
        batch.drop_column("review_status")
    with op.batch_alter_table("assignments") as batch:
        batch.drop_column("pinned")
        batch.drop_column("started")
