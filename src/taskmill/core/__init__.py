"""The pure model: tasks, statuses, parameters, projects, queues, and (later) pipeline specs.

Nothing here does I/O, reads the clock or the environment, or starts threads. Everything above
(store, artifacts, engine, api) builds on these types.
"""
