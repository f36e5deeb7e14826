"""``taskmill agent --docker``: each claimed task runs in a container of its own image.

The agent claims a task as usual, then runs ``ENGINE run --rm <image> sh -c '<setup>; exec
taskmill agent execute TASK_ID --claimed-by AGENT'`` (ENGINE: ``docker`` or ``podman``). Inside,
``taskmill agent execute`` does what an agent does for a task (checkout, virtualenv, heartbeats,
log, final status, artifacts), so the image needs taskmill and a Python; the task's environment
is set up inside the container, not on the agent's machine.

The image is the task's ``runtime["docker"]`` (``Task.set_base_docker``, a step's ``docker=``),
else the agent's default; the task's docker arguments and setup script come along. The
container gets the agent's store settings (``-e``), the host network (the store and the
artifacts are where the agent reaches them; a SQLite store or file artifacts must be mounted at
the same path, with the agent's container arguments, e.g. ``-v /data:/data``) and the GPUs the
agent gave the task (``CUDA_VISIBLE_DEVICES``).

A container that ends without its task recording an end fails the task with the exit code
(an image that cannot be pulled, a missing ``taskmill``); an abort removes the container
(``ENGINE rm -f``).
"""

from __future__ import annotations

import logging
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from taskmill.agent.children import Spawner
from taskmill.agent.threaded import ThreadedExecution
from taskmill.core.model import TaskRecord
from taskmill.core.resources import container_of
from taskmill.core.states import TaskStatus
from taskmill.errors import ConflictError, ExecutionError, InvalidTransitionError, TaskmillError
from taskmill.store.base import TaskStore

logger = logging.getLogger(__name__)

#: seconds an aborted container gets to go before it is killed
KILL_GRACE = 10.0


@dataclass(frozen=True, slots=True)
class ContainerOptions:
    """How the agent runs tasks in containers (``--docker``)."""

    engine: str = "docker"  #: ``docker`` or ``podman`` (a command on PATH, or a path)
    image: str | None = None  #: for tasks that record no image
    arguments: tuple[str, ...] = ()  #: ``ENGINE run`` options for every task (mounts, ...)
    taskmill: str = "taskmill"  #: the taskmill command inside the image


def container_name(task_id: str) -> str:
    """The container of ``task_id`` (one at a time: a task runs once at a time)."""
    return f"taskmill-{task_id}"


def container_argv(
    opts: ContainerOptions, record: TaskRecord, worker_id: str, env: Mapping[str, str]
) -> list[str]:
    """The ``ENGINE run`` command for ``record``. ExecutionError when no image is known."""
    recorded, arguments, setup = container_of(record.runtime) or ("", [], [])
    image = recorded or opts.image  # arguments recorded without an image: the agent's image
    if not image:
        raise ExecutionError(
            "no container image: the task records none (Task.set_base_docker, a step's docker=) "
            "and the agent has no default (taskmill agent --docker IMAGE)"
        )
    execute = shlex.join([opts.taskmill, "agent", "execute", record.id, "--claimed-by", worker_id])
    script = "\n".join(["set -e", *setup, f"exec {execute}"])
    argv = [opts.engine, "run", "--rm", "--name", container_name(record.id), "--network", "host"]
    for key, value in sorted(env.items()):
        argv += ["-e", f"{key}={value}"]
    return [*argv, *opts.arguments, *arguments, image, "sh", "-c", script]


class ContainerExecution(ThreadedExecution):
    """One claimed task run in a container (a thread)."""

    thread_prefix = "taskmill-ctr"

    def __init__(
        self,
        store: TaskStore,
        worker_id: str,
        spawner: Spawner,
        opts: ContainerOptions,
        env: Mapping[str, str],
        record: TaskRecord,
        on_done: Callable[[ContainerExecution], None],
    ) -> None:
        """``env``: what the container gets (store settings, the task's GPUs)."""
        super().__init__(record, "unknown")
        self._store = store
        self._worker_id = worker_id
        self._spawner = spawner
        self._opts = opts
        self._env = dict(env)
        self._on_done = on_done
        self._aborted = False

    def abort(self, reason: str | None = None) -> None:
        """Remove the task's container (``ENGINE rm -f``). Blocking up to about
        :data:`KILL_GRACE` s; idempotent. ``reason``: the agent's own (shutdown): the task is
        marked ``stopped`` with it first; None: somebody else stopped it already."""
        if reason is not None:
            try:
                self._store.set_status(
                    self.task_id, TaskStatus.stopped, message=reason, expected=(TaskStatus.in_progress,)
                )
            except (ConflictError, InvalidTransitionError):
                pass  # it ended meanwhile: nothing to stop
        self._aborted = True
        try:
            subprocess.run(
                [self._opts.engine, "rm", "-f", "-t", str(int(KILL_GRACE)), container_name(self.task_id)],
                capture_output=True,
                timeout=KILL_GRACE + 20,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            logger.warning("task %s: could not remove its container: %s", self.task_id, exc)

    def _run(self) -> None:
        try:
            argv = container_argv(self._opts, self.record, self._worker_id, self._env)
            logger.info("task %s: %s", self.task_id, shlex.join(argv[:2] + argv[-4:-2]))
            code = self._spawner.spawn_cold(argv, {}).wait()
            status = self._store.get_task(self.task_id).status
            if not status.is_final:
                if self._aborted:
                    self._end(TaskStatus.stopped, "aborted")
                else:
                    self._end(TaskStatus.failed, f"container exited with code {code}")
            self.outcome = self._store.get_task(self.task_id).status.value
        except (ExecutionError, OSError) as exc:
            self._end(TaskStatus.failed, f"container not started: {exc}")
        except Exception as exc:  # the agent must survive whatever one task does to it
            logger.exception("task %s: the agent failed to run its container", self.task_id)
            self._end(TaskStatus.failed, f"agent error: {type(exc).__name__}: {exc}")
        finally:
            self._on_done(self)

    def _end(self, status: TaskStatus, message: str) -> None:
        self.outcome = status.value
        try:
            self._store.set_status(self.task_id, status, message=message, force=True)
        except TaskmillError:
            logger.exception("task %s: cannot record its end", self.task_id)


def engine_arguments(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """``--docker-args "-v /data:/data --runtime runc"`` as separate arguments."""
    if value is None:
        return ()
    return tuple(shlex.split(value) if isinstance(value, str) else value)
