"""Scalars may be NaN: ``scalars.value`` becomes nullable, NULL standing for NaN.

SQLite cannot store a NaN (it binds it as NULL), and a diverged loss is an ordinary report. The
store writes NaN as NULL on both databases (PostgreSQL could keep it, but one encoding keeps the
two readers alike) and reads NULL back as NaN; ±Infinity are stored as themselves. On SQLite the
table is copied once (Alembic's batch mode), which takes a moment on a store with many scalars.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scalars") as batch:
        batch.alter_column("value", existing_type=sa.Float(precision=53), nullable=True)


def downgrade() -> None:
    # The older schema cannot hold a NaN scalar at all: those reports are lost by going back.
    op.execute("DELETE FROM scalars WHERE value IS NULL")
    with op.batch_alter_table("scalars") as batch:
        batch.alter_column("value", existing_type=sa.Float(precision=53), nullable=False)
