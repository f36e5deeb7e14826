"""Idempotent claims: each task remembers the request id of the claim that took it.

A claimer whose answer was lost (a server killed after its commit, a broken connection) repeats
the claim with the same request id and gets that task back instead of a second one.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("claim_request", sa.String(128), nullable=True))
    op.create_index("ix_tasks_claim_request", "tasks", ["claim_request"])


def downgrade() -> None:
    op.drop_index("ix_tasks_claim_request", "tasks")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("claim_request")
