"""The agent: a worker daemon that claims tasks from queues and runs each in its own process.

``cli > server | agent > api > engine > store``: the agent is an entry point next to the server.
It talks to the store only through :class:`~taskmill.store.base.TaskStore` (so it works the same
on SQLite, PostgreSQL and a taskmill server), receives its settings as values from the CLI, and
never imports :mod:`taskmill.server`.

Modules: :mod:`.worker` (the claim loop), :mod:`.execution` (one task, start to final status),
:mod:`.environment` (kind, checkout, virtualenv), :mod:`.children` (processes), :mod:`.watcher`
(event feed), :mod:`.heartbeat` and :mod:`.reaper` (liveness), :mod:`.run_task` (the task
process's entry points).
"""

from __future__ import annotations

from taskmill.agent.worker import DEFAULT_SERVICES, Agent, AgentOptions, default_worker_id

__all__ = ["DEFAULT_SERVICES", "Agent", "AgentOptions", "default_worker_id"]
