"""The standard queues: every store offers ``default`` and ``services`` (as ClearML Server does).

Inserted only where missing, so a store that already has them (made by hand or by an agent's
``--create-queue``) keeps its own rows and ids. Runs once per store, when it reaches this
revision: a queue an administrator deletes later stays deleted.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

from taskmill.core.model import new_id
from taskmill.core.stored import STANDARD_QUEUES

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    insert = sa.text(
        "INSERT INTO queues (id, name, created) VALUES (:id, :name, :created) ON CONFLICT (name) DO NOTHING"
    )
    for name in STANDARD_QUEUES:
        op.get_bind().execute(insert, {"id": new_id(), "name": name, "created": time.time()})


def downgrade() -> None:
    # The queues may hold work by now, and may have existed before this revision: keep them.
    pass
