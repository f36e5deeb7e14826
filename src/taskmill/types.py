"""Type aliases shared across layers (aliases only, no logic)."""

from __future__ import annotations

from typing import TypeAlias

#: A value that survives a JSON round trip unchanged (how parameter values keep their type).
JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None

#: A task id: 32 lowercase hex characters.
TaskId: TypeAlias = str
