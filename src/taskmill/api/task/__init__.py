"""``Task``: ClearML's Task API on taskmill's store.

A Task object is a handle on a stored task; it holds no state the store does not have, except
buffered console lines and scalars (flushed in the background, on ``flush()`` and on ``close()``).

Differences from ClearML, on purpose:

* Parameter values keep their type (an int stays an int); ``cast=`` is accepted and ignored.
* ``upload_artifact`` always waits for the upload: the artifact is there when it returns.
* ``Task.init`` always creates a new task (``reuse_last_task_id`` is accepted for compatibility):
  earlier runs are never overwritten.
* ``task.project`` is the project *name* (ClearML returns an id); ``get_project_name()`` too.

Where things are (one concern per module, ``Task`` composes them):

* :mod:`.handle`: the base, a stored task's identity, fields and status transitions;
* :mod:`.lookup`: ``create``, ``get_task``, ``get_tasks``, ``query_tasks``, ``clone``, queues;
* :mod:`.parameters`: ``connect``, parameters, configuration objects, user properties;
* :mod:`.metadata`: name, tags, type, script and requirements, runtime properties, archive;
* :mod:`.outputs`: artifacts, models, reported scalars/plots/console read back, progress;
* :mod:`.process` and :mod:`.hooks`: console and script capture, and the interpreter hooks that
  end the main task with the process;
* :mod:`.core`: the ``Task`` class itself, ``Task.init``, ``current_task``, ``close``,
  ``execute_remotely``, ``delete``.
"""

from __future__ import annotations

from taskmill.api.task.core import Task

__all__ = ["Task"]
