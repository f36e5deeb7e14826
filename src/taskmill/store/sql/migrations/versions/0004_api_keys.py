"""API keys: who may use a `taskmill server` (only a salted hash of each secret is kept).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(256), nullable=False, server_default=""),
        sa.Column("salt", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(128), nullable=False),
        sa.Column("created", sa.Float(precision=53), nullable=False),
        sa.Column("revoked", sa.Float(precision=53), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
