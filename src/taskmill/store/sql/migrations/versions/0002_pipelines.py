"""Pipelines: live node state per run, and an indexed cache key on tasks.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("cache_key", sa.String(128), nullable=False, server_default=""))
    op.create_index("ix_tasks_cache_key", "tasks", ["cache_key"])
    op.create_table(
        "pipeline_nodes",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(512), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("last_update", sa.Float(precision=53), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pipeline_nodes")
    op.drop_index("ix_tasks_cache_key", "tasks")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("cache_key")
