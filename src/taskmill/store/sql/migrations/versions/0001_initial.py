"""Initial schema: tasks, params, configuration, artifacts, models, scalars, plots, logs, projects, queues.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TEXT = sa.Text()
_TIME = sa.Float(precision=53)


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("name", sa.String(512), primary_key=True),
        sa.Column("created", _TIME, nullable=False),
        sa.Column("system_tags", _TEXT, nullable=False, server_default="[]"),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("project", sa.String(512), nullable=False),
        sa.Column("task_type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_message", _TEXT, nullable=False, server_default=""),
        sa.Column("status_reason", _TEXT, nullable=False, server_default=""),
        sa.Column("parent", sa.String(64), nullable=True),
        sa.Column("tags", _TEXT, nullable=False, server_default="[]"),
        sa.Column("system_tags", _TEXT, nullable=False, server_default="[]"),
        sa.Column("comment", _TEXT, nullable=False, server_default=""),
        sa.Column("user_name", sa.String(256), nullable=False, server_default=""),
        sa.Column("script", _TEXT, nullable=False, server_default="{}"),
        sa.Column("runtime", _TEXT, nullable=False, server_default="{}"),
        sa.Column("output_uri", _TEXT, nullable=False, server_default=""),
        sa.Column("progress", sa.Integer, nullable=False, server_default="0"),
        sa.Column("queue", sa.String(256), nullable=False, server_default=""),
        sa.Column("worker", sa.String(256), nullable=False, server_default=""),
        sa.Column("created", _TIME, nullable=False),
        sa.Column("started", _TIME, nullable=True),
        sa.Column("completed", _TIME, nullable=True),
        sa.Column("last_update", _TIME, nullable=False),
    )
    op.create_index("ix_tasks_project_name", "tasks", ["project", "name"])
    op.create_index("ix_tasks_status", "tasks", ["status"])
    op.create_index("ix_tasks_parent", "tasks", ["parent"])
    op.create_index("ix_tasks_last_update", "tasks", ["last_update"])
    op.create_table(
        "task_params",
        sa.Column("task_id", sa.String(64), primary_key=True),
        sa.Column("section", sa.String(256), primary_key=True),
        sa.Column("name", sa.String(512), primary_key=True),
        sa.Column("value", _TEXT, nullable=False),
        sa.Column("type", sa.String(128), nullable=False, server_default=""),
        sa.Column("description", _TEXT, nullable=False, server_default=""),
        sa.Column("position", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_table(
        "task_configs",
        sa.Column("task_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(512), primary_key=True),
        sa.Column("type", sa.String(64), nullable=False, server_default="dictionary"),
        sa.Column("description", _TEXT, nullable=False, server_default=""),
        sa.Column("value", _TEXT, nullable=False),
    )
    op.create_table(
        "artifacts",
        sa.Column("task_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(512), primary_key=True),
        sa.Column("uri", _TEXT, nullable=False),
        sa.Column("type", sa.String(64), nullable=False, server_default=""),
        sa.Column("format", sa.String(64), nullable=False, server_default=""),
        sa.Column("size", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("hash", sa.String(128), nullable=False, server_default=""),
        sa.Column("mode", sa.String(16), nullable=False, server_default="output"),
        sa.Column("metadata", _TEXT, nullable=False, server_default="{}"),
        sa.Column("preview", _TEXT, nullable=False, server_default=""),
        sa.Column("timestamp", _TIME, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_table(
        "models",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("task_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("uri", _TEXT, nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("framework", sa.String(64), nullable=False, server_default=""),
        sa.Column("timestamp", _TIME, nullable=False),
    )
    op.create_index("ix_models_task", "models", ["task_id"])
    op.create_table(
        "scalars",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("task_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(512), nullable=False),
        sa.Column("series", sa.String(512), nullable=False),
        sa.Column("iteration", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=False),
        sa.Column("timestamp", _TIME, nullable=False),
    )
    op.create_index("ix_scalars_task", "scalars", ["task_id", "title", "series", "iteration"])
    op.create_table(
        "plots",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("task_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(512), nullable=False),
        sa.Column("series", sa.String(512), nullable=False),
        sa.Column("iteration", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("data", _TEXT, nullable=False),
        sa.Column("timestamp", _TIME, nullable=False),
    )
    op.create_index("ix_plots_task", "plots", ["task_id"])
    op.create_table(
        "logs",
        sa.Column("task_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True),
        sa.Column("timestamp", _TIME, nullable=False),
        sa.Column("level", sa.String(16), nullable=False, server_default="info"),
        sa.Column("stream", sa.String(16), nullable=False, server_default="stdout"),
        sa.Column("text", _TEXT, nullable=False),
    )
    op.create_table(
        "queues",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(256), nullable=False, unique=True),
        sa.Column("created", _TIME, nullable=False),
    )
    op.create_table(
        "queue_entries",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("queue_id", sa.String(64), nullable=False),
        sa.Column("task_id", sa.String(64), nullable=False, unique=True),
        sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
        sa.Column("added", _TIME, nullable=False),
    )
    op.create_index("ix_queue_entries_order", "queue_entries", ["queue_id", "priority", "id"])


def downgrade() -> None:
    for table in (
        "queue_entries",
        "queues",
        "logs",
        "plots",
        "scalars",
        "models",
        "artifacts",
        "task_configs",
        "task_params",
        "tasks",
        "projects",
    ):
        op.drop_table(table)
