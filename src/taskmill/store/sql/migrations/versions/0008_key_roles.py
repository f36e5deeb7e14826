"""API key roles: ``admin`` keys may also manage keys, ``user`` keys do everything else.

Keys made before roles existed all had every power. The oldest valid (unrevoked) one becomes the admin (the
rule for new stores: the first key is admin); the others become users, so an agent's or a
laptop's key can no longer mint or revoke keys. ``taskmill server create-key --role admin``
makes more admins.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("role", sa.String(16), nullable=False, server_default="user"))
    op.execute(
        "UPDATE api_keys SET role = 'admin' WHERE id = "
        "(SELECT id FROM api_keys WHERE revoked IS NULL ORDER BY created, id LIMIT 1)"
    )


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("role")
