"""Indexes that keep every hot query bounded, however long the store's history grows.

* ``tasks``: the newest-first listings (``-last_update`` and ``-created``, ties by ``id``) are
  read straight off an index, so a first page of 100 tasks costs the same at 1M tasks as at 100;
  a step's earlier runs (by project, name and status) are read without touching other tasks,
  a lookup by ``name`` alone (``Task.get_task(task_name=...)``) reads only the tasks of that
  name, and the runs (controller tasks) of a pipeline are found in its hidden project without
  reading its steps.
* ``pipeline_nodes``, ``artifacts``, ``task_params``: the next position of a run's node, a
  task's artifact or parameter is a ``MAX(position)`` read off an index (O(log n)) instead of a
  scan of every row the run or task already has, which made node-state flushes O(N²) over a run.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Only the listing index holds last_update (as the one it replaces did): every write to a
    # task touches last_update, so each index holding it costs every write an index update.
    op.drop_index("ix_tasks_last_update", "tasks")
    # with the status in it, SQLite (no statistics) picks it over ix_tasks_status for a step's
    # earlier completed runs, instead of walking every completed task of the store
    op.drop_index("ix_tasks_project_name", "tasks")
    op.create_index("ix_tasks_project_name_status", "tasks", ["project", "name", "status"])
    op.create_index("ix_tasks_last_update_id", "tasks", [sa.text("last_update DESC"), "id"])
    op.create_index("ix_tasks_created_id", "tasks", [sa.text("created DESC"), "id"])
    op.create_index("ix_tasks_name", "tasks", ["name"])
    op.create_index("ix_tasks_project_type", "tasks", ["project", "task_type"])
    op.create_index("ix_pipeline_nodes_position", "pipeline_nodes", ["run_id", "position"])
    op.create_index("ix_artifacts_position", "artifacts", ["task_id", "position"])
    op.create_index("ix_task_params_position", "task_params", ["task_id", "position"])


def downgrade() -> None:
    op.drop_index("ix_task_params_position", "task_params")
    op.drop_index("ix_artifacts_position", "artifacts")
    op.drop_index("ix_pipeline_nodes_position", "pipeline_nodes")
    op.drop_index("ix_tasks_project_type", "tasks")
    op.drop_index("ix_tasks_name", "tasks")
    op.drop_index("ix_tasks_created_id", "tasks")
    op.drop_index("ix_tasks_last_update_id", "tasks")
    op.drop_index("ix_tasks_project_name_status", "tasks")
    op.create_index("ix_tasks_project_name", "tasks", ["project", "name"])
    op.create_index("ix_tasks_last_update", "tasks", ["last_update"])
