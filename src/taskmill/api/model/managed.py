"""Changing a stored model's bookkeeping: metadata, archive state, publishing; typed reads.

:class:`ManagedModel` is the base of ``Model``, ``InputModel`` and ``OutputModel``. Each change is one
write of the model's JSON object on its owning task (see :mod:`taskmill.api.model`); an input model
changes the stored model it points at. Archived models are left out of ``Model.query_models`` and
``InputModel.load_model`` unless asked for.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from taskmill.api.model.stored import META_KEY, StoredModel
from taskmill.api.params import to_json_value
from taskmill.api.unsupported import OFFLINE, unsupported

#: the metadata types ClearML knows; anything else is stored with type ``None`` (kept as a string)
METADATA_TYPES = ("float", "int", "bool", "str", "basestring", "list", "tuple", "dict")
ARCHIVED = "archived"


def cast_metadata(value: str | None, v_type: str) -> Any:
    """A metadata value (stored as a string) back as its type; unknown types stay strings."""
    if value is None:
        return None
    try:
        if v_type == "int":
            return int(value)
        if v_type == "float":
            return float(value)
        if v_type == "bool":
            return value.strip().lower() in ("true", "1", "yes")
        if v_type in ("list", "tuple", "dict"):
            parsed = json.loads(value.replace("'", '"').replace("(", "[").replace(")", "]"))
            return tuple(parsed) if v_type == "tuple" else parsed
    except ValueError:
        return value
    return value


class ManagedModel(StoredModel):
    """Metadata, archive and publish operations every model class shares."""

    #: the system tag of archived models
    archived_tag = ARCHIVED

    get_offline_mode_folder = unsupported(OFFLINE)

    def _update(self, **changes: Any) -> None:
        meta = {**self._meta(), **{k: to_json_value(v) for k, v in changes.items()}}
        self._session.store.update_task(self._task_id, runtime={META_KEY + self._id: meta})

    # -- metadata ---------------------------------------------------------------------------------

    def set_metadata(self, key: str, value: Any, v_type: str | None = None) -> bool:
        """Set one metadata entry; the value is kept as a string with its type name (``v_type``,
        default the value's type: float, int, bool, str, list, tuple or dict, else ``None``)."""
        entries = dict(self._meta().get("metadata") or {})
        entries[str(key)] = _entry(key, value, v_type)
        self._update(metadata=entries)
        return True

    def set_all_metadata(self, metadata: Mapping[str, Any], replace: bool = True) -> bool:
        """Set many entries at once: ``{key: value}`` or ClearML's ``{key: {"value", "type"}}``;
        ``replace`` drops the entries not given. One write."""
        entries = {} if replace else dict(self._meta().get("metadata") or {})
        for key, value in metadata.items():
            if isinstance(value, Mapping) and "value" in value:
                entries[str(key)] = _entry(key, value["value"], value.get("type"))
            else:
                entries[str(key)] = _entry(key, value, None)
        self._update(metadata=entries)
        return True

    def get_metadata_casted(self, key: str) -> Any:
        """The value of entry ``key`` converted back to its recorded type, or None."""
        entry = self.get_all_metadata().get(str(key))
        return None if entry is None else cast_metadata(entry.get("value"), str(entry.get("type")))

    def get_all_metadata_casted(self) -> dict[str, Any]:
        """``{key: value}`` with every value converted back to its recorded type."""
        return {
            k: cast_metadata(v.get("value"), str(v.get("type"))) for k, v in self.get_all_metadata().items()
        }

    # -- state --------------------------------------------------------------------------------------

    @property
    def system_tags(self) -> list[str]:
        """System tags of the model (``archived`` once archived)."""
        return [str(t) for t in self._meta().get("system_tags") or ()]

    @property
    def original_task(self) -> str:
        """Id of the task that produced the model (ClearML's name for ``task``)."""
        return self._task_id

    def archive(self) -> None:
        """Archive the model (idempotent); archived models are left out of lookups."""
        tags = self.system_tags
        if ARCHIVED not in tags:
            self._update(system_tags=[*tags, ARCHIVED])

    def unarchive(self) -> None:
        """Undo ``archive`` (idempotent)."""
        self._update(system_tags=[t for t in self.system_tags if t != ARCHIVED])

    def publish(self) -> None:
        """Mark the model published: its weights, design and labels cannot change any more."""
        self._update(published=True)

    # -- weights ------------------------------------------------------------------------------------

    def get_weights(
        self, raise_on_error: bool = False, force_download: bool = False, extract_archive: bool = False
    ) -> str | None:
        """A local path to the weights file; with ``extract_archive`` a package comes back as its
        extracted folder. Blocking; None on error unless ``raise_on_error``."""
        return self._fetch(
            extract=extract_archive and self._is_package(),
            raise_on_error=raise_on_error,
            force=force_download,
        )


def _entry(key: Any, value: Any, v_type: str | None) -> dict[str, str]:
    vtype = str(v_type or type(value).__name__)
    text = (
        json.dumps(list(value) if isinstance(value, tuple) else value)
        if isinstance(value, (list, tuple, dict))
        else str(value)
    )
    return {"key": str(key), "value": text, "type": vtype if vtype in METADATA_TYPES else "None"}
