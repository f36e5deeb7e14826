"""The agent's GPUs (``taskmill agent --gpus 0,1``), handed out to the tasks that ask for some.

A task whose ``runtime["resources"]`` asks for ``gpu: N`` gets N of the agent's devices to
itself (its ``CUDA_VISIBLE_DEVICES``) for as long as it runs; a task that asks for none sees all
of them, as every task did before. Not thread-safe: the agent's main loop owns its pool.
"""

from __future__ import annotations

from collections.abc import Sequence


class GpuPool:
    """Which of the agent's devices are free, and which task holds the others."""

    def __init__(self, devices: Sequence[str]) -> None:
        """``devices``: the agent's GPU indexes or UUIDs, in the order they are handed out."""
        self._devices = tuple(devices)
        self._held: dict[str, tuple[str, ...]] = {}

    @classmethod
    def from_visible(cls, visible: str) -> GpuPool:
        """The pool of a ``CUDA_VISIBLE_DEVICES`` value (``""``: no GPU at all)."""
        return cls([d.strip() for d in visible.split(",") if d.strip()])

    @property
    def total(self) -> int:
        """How many devices the agent has."""
        return len(self._devices)

    def free(self) -> list[str]:
        """Devices no task holds, in order."""
        held = {d for devices in self._held.values() for d in devices}
        return [d for d in self._devices if d not in held]

    def take(self, task_id: str, count: int) -> tuple[str, ...] | None:
        """Give ``count`` free devices to ``task_id``; None (and nothing taken) when fewer are
        free. ValueError when the agent has fewer than ``count`` at all, or the task holds some."""
        if count > self.total:
            raise ValueError(f"asks for {count} GPU(s); this agent has {self.total}")
        if task_id in self._held:
            raise ValueError(f"task {task_id} already holds GPUs {','.join(self._held[task_id])}")
        free = self.free()
        if len(free) < count:
            return None
        self._held[task_id] = tuple(free[:count])
        return self._held[task_id]

    def give_back(self, task_id: str) -> None:
        """The task is over: its devices are free again (idempotent)."""
        self._held.pop(task_id, None)
