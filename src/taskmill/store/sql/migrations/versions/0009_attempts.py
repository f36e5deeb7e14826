"""Task attempts: each claim of a task starts a new attempt, numbered in ``tasks.attempt``.

A process running a superseded attempt (a zombie whose agent was declared dead, while a retry
runs) is fenced: the store refuses its status, artifact and log writes. Existing tasks start at 0
(never claimed, or claimed before attempts were counted: not fenced).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("attempt", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("attempt")
