"""ClearML's ``OutputModel``, ``InputModel`` and ``Model``: trained weights with their design,
labels and metadata, kept with the task that produced them.

Where things are stored (no tables of their own, no schema change):

* **Weights** are an artifact ``model:<name>`` of the producing task (``model:<name>:<model id>``
  when that artifact name is taken), uploaded through the artifact layer to the task's
  ``output_uri`` (or ``upload_uri``); a folder or a list of files is stored zipped, as artifacts of
  folders are. With ``register_uri`` nothing is uploaded: the given URL is recorded as it is.
* **The model** is a :class:`~taskmill.core.model.ModelRecord` (mode ``output``) of that task,
  written when its weights are first set: its ``id`` is the model id, its ``uri`` the weights' URL.
  ``Task.models``, ``${step.models.output.-1.url}`` references and the web UI read these.
* **Everything else** (name, tags, comment, framework, design, labels, metadata, published, and
  how the weights were stored) is one JSON object in the producing task's runtime properties under
  the key ``_model/<model id>``, rewritten on every change, so other processes see it at once. It
  is written when the ``OutputModel`` is created, before any weights. Runtime keys starting with
  ``_`` are system properties: ``Task.clone`` does not copy them.
* ``OutputModel(task=B, base_model_id=X)`` with X a model of task A takes X over, as ClearML
  does: X's record moves to B (same id, the store's ``move_model``; B's newest output model), its
  JSON object moves to B with ``artifact_task`` naming A (its weights stay A's artifact, and
  later uploads replace the bytes there), and A keeps a record of its own at the same URL with
  ``_model/<that id>`` = ``{"source": X}``, so A's ``Task.models`` still lists X (by X's id).
* ``InputModel.connect(task)`` adds a ModelRecord with mode ``input`` to ``task`` (the same URL, an
  id of its own) and ``_model/<that id>`` = ``{"source": <model id>}``, so that id leads back to
  the model.

Finding models (``Model(model_id)``, ``InputModel(name=...)``, ``Model.query_models``) scans the
tasks, most recently updated first, and their model records through the store API: linear in the
number of tasks. Properties read the store on every access (they are never stale).

Differences from ClearML, on purpose:

* Everything blocks: ``update_weights`` returns once the weights are stored and recorded
  (``async_enable`` is ignored; ``wait_for_uploads`` has nothing to wait for).
* Local weight files are never deleted (``auto_delete_file`` is ignored), and the comment is not
  rewritten with the file name (``update_comment`` is ignored).
* A model's URL is fixed once its weights are set (a record's URL is never edited): later uploads
  replace the bytes at that URL (same artifact, file name and destination, whatever file they come
  from); switching between a file, a package and a registered URL needs a new ``OutputModel``.
* A model taken over with ``base_model_id`` keeps its name unless ``name`` is given (ClearML
  renames it after the new task); ``connect(task, name=...)`` sets the name the task lists it by.
* ``config_dict`` is stored as JSON text, and read back from JSON only (ClearML also reads HOCON).
* Models are never archived: ``include_archived`` is accepted and has no effect.

Where things are: :mod:`.stored` (the shared base and reading what is stored), :mod:`.lookup`
(``Model``, ``InputModel``), :mod:`.output` (``OutputModel``).
"""

from __future__ import annotations

from taskmill.api.model.lookup import InputModel, Model
from taskmill.api.model.output import OutputModel
from taskmill.api.model.stored import ModelNotFoundError

__all__ = ["InputModel", "Model", "ModelNotFoundError", "OutputModel"]
