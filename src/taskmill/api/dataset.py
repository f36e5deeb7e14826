"""``Dataset``: the commonly used part of ClearML's ``clearml-data`` on taskmill's store.

Storage layout (ClearML's hidden layout):

* A dataset version is a task of type ``data_processing`` with the system tag ``dataset``, named
  ``<dataset_name>``, in the project ``<dataset_project>/.datasets/<dataset_name>``.
* Its runtime properties hold ``version`` and ``dataset_parents`` (ids of the parent versions).
* The configuration object ``Dataset Content`` (JSON) holds the full file listing of the version
  (``files``: relative path -> ``size``, ``hash`` (sha256 hex), ``parent_dataset_id`` = the
  version whose ``data`` artifact stores the bytes) and ``removed`` (paths removed vs. parents):
  a :class:`~taskmill.api.file_manifest.FileManifest`.
* The version's own new and changed files are stored as one zipped-folder artifact ``data`` of the
  task (the task's ``output_uri`` decides where: local folder, ``s3://`` ...). Unchanged files
  (same relative path and sha256 as in a parent) are never stored again.
* ``get_local_copy()`` assembles the full content once per dataset id in
  ``$TASKMILL_HOME/cache/datasets/<id>`` and reuses that folder afterwards.

Differences from ClearML, on purpose: one ``data`` chunk per version (``chunk_size`` and
``compression`` are accepted and ignored; ``part``/``num_parts`` return the whole content);
``add_external_files`` downloads the files and stores them in the version (ClearML keeps links);
``file_entries_dict`` maps to plain dicts; all calls are blocking.
"""

from __future__ import annotations

from taskmill.api.dataset_draft import DatasetDraft
from taskmill.api.dataset_info import DatasetInfo
from taskmill.api.dataset_layout import CONTENT, DATA_ARTIFACT, SYSTEM_TAG
from taskmill.api.dataset_lookup import DatasetLookup
from taskmill.api.dataset_reading import DatasetReading

__all__ = ["CONTENT", "DATA_ARTIFACT", "SYSTEM_TAG", "Dataset"]


class Dataset(DatasetLookup, DatasetInfo, DatasetDraft, DatasetReading):
    """One version of a dataset: a mutable draft until :meth:`finalize`, read-only afterwards.

    Composed of :mod:`~taskmill.api.dataset_lookup` (create, get, list, delete, squash),
    :mod:`~taskmill.api.dataset_info` (tags, metadata, logger, publish, rename),
    :mod:`~taskmill.api.dataset_draft` (changing a draft) and :mod:`~taskmill.api.dataset_reading`
    (reading the content) over :class:`~taskmill.api.dataset_core.DatasetCore`.
    """
