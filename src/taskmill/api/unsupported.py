"""ClearML members taskmill deliberately does not provide, present so that using one says why.

Each is declared on its class with :func:`unsupported`: calling the method (or, for an attribute,
reading it from an instance) raises :class:`UnsupportedFeatureError` naming what to use instead,
never ``AttributeError``. Reading one from the class gives the descriptor itself, so introspection
(``dir``, ``inspect.getmembers``, ``hasattr`` on the class) keeps working. The list, with the
reasons, is in the docs ("Coming from ClearML") and in ``tests/compat/clearml_differences.toml``.
"""

from __future__ import annotations

from typing import Any, NoReturn

from taskmill.errors import TaskmillError


class UnsupportedFeatureError(TaskmillError, NotImplementedError):
    """A ClearML feature taskmill does not have; the message says what to use instead.

    Also a ``NotImplementedError``, so code that probes optional features keeps working."""


class Unsupported:
    """Descriptor of one unsupported member (see the module docstring)."""

    def __init__(self, hint: str, *, attribute: bool = False) -> None:
        self.hint = hint
        self.attribute = attribute
        self.name = "?"
        self.owner = "?"

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.owner = owner.__name__

    def error(self, owner: type | None = None) -> UnsupportedFeatureError:
        """The error using this member raises (named after the class it is used through)."""
        where = owner.__name__ if owner is not None else self.owner
        return UnsupportedFeatureError(f"{where}.{self.name} is not supported by taskmill: {self.hint}")

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        owner = owner if owner is not None else type(instance)
        if self.attribute:
            if instance is None:
                return self
            raise self.error(owner)

        def raiser(*args: Any, **kwargs: Any) -> NoReturn:
            raise self.error(owner)

        raiser.__name__ = raiser.__qualname__ = self.name
        raiser.__doc__ = f"Not supported by taskmill: {self.hint}"
        return raiser


def unsupported(hint: str) -> Any:
    """A method ClearML has and taskmill does not: calling it raises with ``hint``."""
    return Unsupported(hint)


def unsupported_attribute(hint: str) -> Any:
    """An attribute ClearML has and taskmill does not: reading it from an instance raises."""
    return Unsupported(hint, attribute=True)


OFFLINE = (
    "offline mode is not needed: the default store is a local SQLite file, so runs without a server "
    "are recorded as usual; set TASKMILL_STORE to a server URL to record there instead"
)
CREDENTIALS = (
    "storage credentials come from the environment or fsspec configuration (AWS_*, GOOGLE_APPLICATION_"
    "CREDENTIALS, AZURE_STORAGE_*); set them there, or pass output_uri=... to Task.init"
)
ENDPOINTS = (
    "external endpoints (serving ports routed by the ClearML server) do not exist; run a server yourself"
)
MULTI_NODE = "multi-node launch is not available; start one task per node with Task.create + Task.enqueue"
DATAVIEWS = "dataviews are a ClearML Enterprise feature; use Dataset.get(...).get_local_copy()"
INTERNAL = "it is a ClearML backend internal; use the documented Task API (get_task, connect, artifacts)"
