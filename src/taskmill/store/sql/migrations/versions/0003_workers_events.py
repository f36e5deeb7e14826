"""Agents and the event feed: a workers table (heartbeats) and an append-only events table.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", sa.String(256), primary_key=True),
        sa.Column("queues", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("info", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("task_id", sa.String(64), nullable=True),
        sa.Column("registered", sa.Float(precision=53), nullable=False),
        sa.Column("last_seen", sa.Float(precision=53), nullable=False),
    )
    op.create_table(
        "events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("time", sa.Float(precision=53), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("task_id", sa.String(64), nullable=True),
        sa.Column("data", sa.Text(), nullable=False, server_default="{}"),
    )


def downgrade() -> None:
    op.drop_table("events")
    op.drop_table("workers")
