"""A task's inputs: parameters (``Section/name`` values), configuration objects, user properties.

Parameter values keep their type (an int stays an int); ``cast=`` is accepted and ignored. When this
process runs the task for an agent or a step launcher (``Task.init`` attached to a stored task),
``connect`` and ``connect_configuration`` read the stored values, possibly edited for this run,
instead of recording the code's values. Every call is one store write or read (blocking).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from taskmill.api import params as P
from taskmill.api.task.handle import TaskHandle
from taskmill.core.model import DEFAULT_SECTION, ConfigObject, Param, split_key

T = TypeVar("T")


class TaskParameters(TaskHandle):
    """Recording and reading a task's parameters and configuration (a part of ``Task``)."""

    def connect(self, mutable: T, name: str | None = None, ignore_remote_overrides: bool = False) -> T:
        """Record ``mutable``'s values as parameters, and return it.

        A dict goes to section ``name`` (default ``General``), an argparse namespace to ``Args``,
        any other object's public attributes to ``name`` (default ``General``). When this process
        runs the task for an agent, the stored values (possibly edited for this run) are written
        back into ``mutable`` instead, cast to the types of the code's defaults.

        An ``InputModel`` is recorded as an input model of this task (``name``: its name on the
        task); an ``OutputModel`` of this task is already connected. Either is returned as is.
        """
        from taskmill.api.model import InputModel, OutputModel  # loaded on first use, as in taskmill/__init__

        if isinstance(mutable, (InputModel, OutputModel)):
            mutable.connect(self, name=name)
            return mutable
        if isinstance(mutable, argparse.Namespace):
            section = name or "Args"
            items = P.namespace_items(mutable)
        elif isinstance(mutable, Mapping):
            section = name or DEFAULT_SECTION
            items = dict(mutable)
        else:
            section = name or DEFAULT_SECTION
            items = P.object_items(mutable)
        if self._attached and not ignore_remote_overrides:
            stored = {p.name: p.value for p in self._store().get_params(self.id) if p.section == section}
            merged = {k: P.cast_like(stored[k], v) if k in stored else v for k, v in items.items()}
            merged.update({k: v for k, v in stored.items() if k not in items})
            _write_back(mutable, merged)
            missing = {k: v for k, v in items.items() if k not in stored}
            if missing:
                self._store().set_params(self.id, P.params_from_mapping(section, missing))
        else:
            self._store().set_params(self.id, P.params_from_mapping(section, items))
        return mutable

    def connect_configuration(
        self,
        configuration: Any,
        name: str | None = None,
        description: str | None = None,
        ignore_remote_overrides: bool = False,
    ) -> Any:
        """Record a configuration object: a dict (returned as a dict) or a file path (returned as
        a path). Under an agent the stored, possibly edited, configuration is returned instead."""
        cfg_name = name or DEFAULT_SECTION
        store = self._store()
        is_path = isinstance(configuration, Path) or (
            isinstance(configuration, str) and Path(configuration).is_file()
        )
        if self._attached and not ignore_remote_overrides:
            stored = {c.name: c for c in store.get_configs(self.id)}.get(cfg_name)
            if stored is not None:
                if is_path:
                    out = (
                        self._session.settings.cache_dir / "config" / self.id / Path(str(configuration)).name
                    )
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_text(stored.value)
                    return out if isinstance(configuration, Path) else str(out)
                value = json.loads(stored.value)
                if isinstance(configuration, dict):
                    configuration.clear()
                    configuration.update(value)
                    return configuration
                return value
        if is_path:
            text = Path(str(configuration)).read_text()
            store.set_config(self.id, ConfigObject(cfg_name, text, "file", description or ""))
        else:
            text = json.dumps(P.to_json_value(configuration), indent=2, sort_keys=False)
            store.set_config(self.id, ConfigObject(cfg_name, text, "dictionary", description or ""))
        return configuration

    def get_configuration_object(self, name: str) -> str | None:
        """The text of configuration object ``name``, or None."""
        found = {c.name: c for c in self._store().get_configs(self.id)}.get(name)
        return None if found is None else found.value

    def get_configuration_object_as_dict(self, name: str) -> Any:
        """Configuration object ``name`` parsed from JSON, or None."""
        text = self.get_configuration_object(name)
        return None if text is None else json.loads(text)

    def set_configuration_object(
        self,
        name: str,
        config_text: str | None = None,
        description: str | None = None,
        config_type: str | None = None,
        config_dict: Mapping[str, Any] | None = None,
    ) -> None:
        """Store a configuration object from text or a dict."""
        text = (
            json.dumps(P.to_json_value(config_dict), indent=2)
            if config_dict is not None
            else (config_text or "")
        )
        kind = config_type or ("dictionary" if config_dict is not None else "text")
        self._store().set_config(self.id, ConfigObject(name, text, kind, description or ""))

    def get_configuration_objects(self) -> dict[str, str]:
        """All configuration objects, name -> text."""
        return {c.name: c.value for c in self._store().get_configs(self.id)}

    def get_parameters(self, backwards_compatibility: bool = True, cast: bool = False) -> dict[str, Any]:
        """All parameters as ``{"Section/name": value}``; values keep their stored type."""
        return dict(self._store().get_param_dict(self.id))

    def get_parameters_as_dict(self, cast: bool = False) -> dict[str, dict[str, Any]]:
        """Parameters nested by section: ``{"Args": {"lr": 0.1}}``."""
        out: dict[str, dict[str, Any]] = {}
        for p in self._store().get_params(self.id):
            out.setdefault(p.section, {})[p.name] = p.value
        return out

    def get_parameter(self, name: str, default: Any = None, cast: bool = False) -> Any:
        """One parameter by ``Section/name`` (a bare name means ``General/name``)."""
        key = "/".join(split_key(name))
        return self._store().get_param_dict(self.id).get(key, default)

    def set_parameter(
        self, name: str, value: Any, description: str | None = None, value_type: Any = None
    ) -> None:
        """Set one parameter; a key without a section goes to ``General/``."""
        section, pname = split_key(name)
        vtype = value_type.__name__ if isinstance(value_type, type) else (value_type or P.type_name(value))
        self._store().set_params(
            self.id, [Param(section, pname, P.to_json_value(value), str(vtype), description or "")]
        )

    def set_parameters(self, *args: Mapping[str, Any], __update: bool = False, **kwargs: Any) -> None:
        """Replace all parameters with the given ``{"Section/name": value}`` (keys without a
        section go to ``General/``). ``__update=True`` merges instead (see ``update_parameters``)."""
        update = __update or bool(kwargs.pop("__update", False))  # callers outside the class
        flat: dict[str, Any] = {}
        for a in args:
            flat.update(a)
        flat.update(kwargs)
        self._store().set_params(self.id, P.params_from_flat(flat), replace=not update)

    def update_parameters(self, *args: Mapping[str, Any], **kwargs: Any) -> None:
        """Merge the given parameters into the existing ones."""
        self.set_parameters(*args, __update=True, **kwargs)

    def delete_parameter(self, name: str, force: bool = False) -> bool:
        """Delete one ``Section/name`` parameter (``force`` is accepted and ignored: any task's
        parameters can be deleted)."""
        self._store().delete_params(self.id, [split_key(name)])
        return True

    def set_parameters_as_dict(self, dictionary: Mapping[str, Mapping[str, Any]]) -> None:
        """Replace parameters from ``{"Section": {"name": value}}``."""
        flat = {f"{s}/{k}": v for s, d in dictionary.items() for k, v in d.items()}
        self.set_parameters(flat)

    def set_user_properties(self, *iterables: Mapping[str, Any], **properties: Any) -> bool:
        """Set user properties (section ``properties``)."""
        items: dict[str, Any] = {}
        for a in iterables:
            items.update(a)
        items.update(properties)
        self._store().set_params(self.id, P.params_from_mapping("properties", items))
        return True

    def get_user_properties(self, value_only: bool = False) -> dict[str, Any]:
        """User properties (section ``properties``)."""
        return {p.name: p.value for p in self._store().get_params(self.id) if p.section == "properties"}


def _write_back(mutable: Any, values: Mapping[str, Any]) -> None:
    if isinstance(mutable, argparse.Namespace):
        for k, v in values.items():
            setattr(mutable, k, v)
    elif isinstance(mutable, dict):
        mutable.update(values)
    else:
        for k, v in values.items():
            try:
                setattr(mutable, k, v)
            except AttributeError:
                pass
