"""``ArtifactInput``: a function-step input read from another task's output, and its wire forms.

An input is written two ways, both defined here and nowhere else:

* as a whole argument, ``kwargs_artifacts/<arg> = "<task_id>.<name>"`` (ClearML's form,
  :meth:`ArtifactInput.encode` / :meth:`ArtifactInput.decode`);
* inside a container argument (a list or dict under ``kwargs/``), as the marker
  ``{"__taskmill_input__": "<task_id>.<name>"}``; a tuple there is kept a tuple as
  ``{"__taskmill_tuple__": [...]}`` (JSON has no tuples).

Pure functions over values: no I/O. Loading an input is :func:`taskmill.engine.function_io.load_input`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

#: Key of the one-key dict that stands for an input inside a container argument.
INPUT_MARKER: Final = "__taskmill_input__"
#: Key of the one-key dict that stands for a tuple inside a container argument.
TUPLE_MARKER: Final = "__taskmill_tuple__"


@dataclass(frozen=True, slots=True)
class ArtifactInput:
    """Output ``name`` of task ``task_id``, as an input of a function step."""

    task_id: str
    name: str

    def encode(self) -> str:
        """ClearML's ``"<task_id>.<name>"`` form."""
        return f"{self.task_id}.{self.name}"

    @classmethod
    def decode(cls, text: str) -> ArtifactInput:
        """Inverse of :meth:`encode`; ValueError for text without a ``.``."""
        task_id, _, name = text.partition(".")
        if not name:
            raise ValueError(f"bad artifact input '{text}': expected '<task_id>.<name>'")
        return cls(task_id, name)

    def marker(self) -> dict[str, str]:
        """The form inside a container argument."""
        return {INPUT_MARKER: self.encode()}


def as_input(value: Any) -> ArtifactInput | None:
    """The input a marker stands for, or None when ``value`` is not a marker."""
    if isinstance(value, dict) and set(value) == {INPUT_MARKER}:
        return ArtifactInput.decode(str(value[INPUT_MARKER]))
    return None


def is_tuple_marker(value: Any) -> bool:
    """True for the tagged form of a tuple."""
    return isinstance(value, dict) and set(value) == {TUPLE_MARKER}


def has_reserved_keys(value: Any) -> bool:
    """True when a plain value contains a dict using a marker key (it cannot be sent as JSON
    without being mistaken for an input or a tuple)."""
    if isinstance(value, dict):
        return bool({INPUT_MARKER, TUPLE_MARKER} & set(value)) or any(
            has_reserved_keys(v) for v in value.values()
        )
    if isinstance(value, list):
        return any(has_reserved_keys(v) for v in value)
    return False


def map_inputs(value: Any, fn: Callable[[ArtifactInput], Any]) -> Any:
    """``value`` with every input (object or marker) inside replaced by ``fn(input)``; tuple
    markers stay markers."""
    if isinstance(value, ArtifactInput):
        return fn(value)
    found = as_input(value)
    if found is not None:
        return fn(found)
    if is_tuple_marker(value):
        return {TUPLE_MARKER: [map_inputs(v, fn) for v in value[TUPLE_MARKER]]}
    if isinstance(value, dict):
        return {k: map_inputs(v, fn) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(map_inputs(v, fn) for v in value)
    return value


def encode_inputs(value: Any) -> Any:
    """Make a container argument JSON-able: inputs become markers, tuples tagged as tuples."""
    if isinstance(value, ArtifactInput):
        return value.marker()
    if isinstance(value, tuple):
        return {TUPLE_MARKER: [encode_inputs(v) for v in value]}
    if isinstance(value, list):
        return [encode_inputs(v) for v in value]
    if isinstance(value, dict):
        return {k: encode_inputs(v) for k, v in value.items()}
    return value


def decode_markers(value: Any) -> Any:
    """Input markers inside ``value`` become :class:`ArtifactInput` objects (recursively);
    tuple markers are left as they are."""
    found = as_input(value)
    if found is not None:
        return found
    if isinstance(value, dict):
        return {k: decode_markers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_markers(v) for v in value]
    if isinstance(value, tuple):
        return tuple(decode_markers(v) for v in value)
    return value


def materialise(value: Any, load: Callable[[ArtifactInput], Any]) -> Any:
    """The Python value a stored container argument stands for: inputs loaded with ``load``,
    tuple markers back to tuples."""
    found = as_input(value)
    if found is not None:
        return load(found)
    if is_tuple_marker(value):
        return tuple(materialise(v, load) for v in value[TUPLE_MARKER])
    if isinstance(value, dict):
        return {k: materialise(v, load) for k, v in value.items()}
    if isinstance(value, list):
        return [materialise(v, load) for v in value]
    return value
