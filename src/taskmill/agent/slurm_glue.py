"""A glue agent for Slurm: claim tasks from queues and submit each as an ``sbatch`` job.

``taskmill agent --queue Q --backend slurm --template FILE`` (or ``python -m
taskmill.agent.slurm_glue --queue Q --template FILE``). Each claimed task becomes one batch job
whose script is the template with these placeholders replaced:

* ``{{command}}``: the command that runs the task to completion on the node
  (``python -m taskmill.agent.execute_one TASK_ID --claimed-by AGENT``, i.e. ``taskmill agent
  execute``), with the store settings in its environment (``sbatch`` exports the submitter's);
* ``{{task_id}}``, ``{{job_name}}`` (``tm-<task id prefix>``).

A minimal template::

    #!/bin/bash
    #SBATCH --cpus-per-task=1
    {{command}}

The job records the task's own end (completed, failed with its traceback). The glue tracks
each job (``squeue``, then ``scontrol show job``) and decides only what the job could not: a
job that ended without the task recording an end fails it with the job's state (``FAILED``,
``OUT_OF_MEMORY``, ``TIMEOUT``, ``NODE_FAIL``); ``CANCELLED`` and ``PREEMPTED`` stop it. A
task set ``stopped`` (UI, CLI, a pipeline's abort) gets its job cancelled (``scancel``), whether
it runs or still waits. Blocking; one loop, polling every ``poll`` seconds (batch schedulers
have no event feed).
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from taskmill.config import Settings
from taskmill.core.states import TaskStatus
from taskmill.errors import ConflictError, ExecutionError, InvalidTransitionError
from taskmill.store.base import TaskStore

logger = logging.getLogger(__name__)

#: job states after which a job never runs again (``scontrol``'s JobState)
_ENDED = frozenset(
    {
        "COMPLETED",
        "FAILED",
        "CANCELLED",
        "TIMEOUT",
        "OUT_OF_MEMORY",
        "NODE_FAIL",
        "PREEMPTED",
        "BOOT_FAIL",
        "DEADLINE",
    }
)
#: ended job states that stop the task rather than fail it
_STOPPING = frozenset({"CANCELLED", "PREEMPTED"})


@dataclass(frozen=True, slots=True)
class SlurmOptions:
    """How the glue agent runs."""

    queues: tuple[str, ...]
    worker_id: str
    template: str  #: the batch script template (see the module docstring)
    workdir: Path  #: rendered scripts and job output (``<task id>.sh``, ``<task id>.out``)
    env: Mapping[str, str] = field(default_factory=dict)  #: the jobs' environment (store settings)
    python: str = sys.executable  #: the interpreter the job runs the task with
    poll: float = 1.0
    burst: bool = False  #: exit once the queues are empty and no job is left
    max_jobs: int = 16  #: jobs submitted and not ended at most


def render(template: str, *, task_id: str, command: str) -> str:
    """The batch script of one task (placeholders ``{{command}}``, ``{{task_id}}``, ``{{job_name}}``)."""
    if "{{command}}" not in template:
        raise ExecutionError("the Slurm template has no {{command}} placeholder: its jobs would run nothing")
    return (
        template.replace("{{command}}", command)
        .replace("{{task_id}}", task_id)
        .replace("{{job_name}}", f"tm-{task_id[:8]}")
    )


def job_state(job_id: str, env: Mapping[str, str]) -> tuple[str, str]:
    """``(JobState, ExitCode)`` of a job from ``scontrol show job`` (``("UNKNOWN", "")`` when
    Slurm forgot it). Blocking for one command."""
    out = subprocess.run(
        ["scontrol", "show", "job", "-o", job_id], env=dict(env), capture_output=True, text=True, check=False
    ).stdout
    fields = dict(part.split("=", 1) for part in out.split() if "=" in part)
    return fields.get("JobState", "UNKNOWN"), fields.get("ExitCode", "")


class SlurmGlue:
    """The claim-submit-track loop (see the module docstring)."""

    def __init__(self, store: TaskStore, options: SlurmOptions) -> None:
        self._store = store
        self._opts = options
        self._jobs: dict[str, str] = {}  # task id -> job id
        self.submitted = 0

    def run(self) -> int:
        """Serve until stopped (KeyboardInterrupt) or, in burst mode, drained. Returns 0."""
        opts = self._opts
        opts.workdir.mkdir(parents=True, exist_ok=True)
        self._store.register_worker(opts.worker_id, opts.queues, {"mode": "slurm", "pid": os.getpid()})
        try:
            while True:
                claimed = self._claim_one() if len(self._jobs) < opts.max_jobs else False
                self._track()
                if claimed:
                    continue
                if opts.burst and not self._jobs:
                    return 0
                time.sleep(opts.poll)
                self._store.heartbeat(opts.worker_id)
        finally:
            self._store.unregister_worker(opts.worker_id)

    def _claim_one(self) -> bool:
        record = self._store.claim(self._opts.queues, self._opts.worker_id)
        if record is None:
            return False
        try:
            self._jobs[record.id] = self._submit(record.id)
            self.submitted += 1
        except ExecutionError as exc:
            self._end(record.id, TaskStatus.failed, str(exc))
        return True

    def _submit(self, task_id: str) -> str:
        opts = self._opts
        command = f"{opts.python} -m taskmill.agent.execute_one {task_id} --claimed-by {opts.worker_id}"
        script = opts.workdir / f"{task_id}.sh"
        script.write_text(render(opts.template, task_id=task_id, command=command))
        proc = subprocess.run(
            [
                "sbatch",
                "--parsable",
                f"--job-name=tm-{task_id[:8]}",
                f"--output={opts.workdir / task_id}.out",
                str(script),
            ],
            env=dict(opts.env),
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise ExecutionError(f"sbatch refused the job: {proc.stderr.strip() or proc.stdout.strip()}")
        job_id = proc.stdout.strip().split(";")[0]
        logger.info("task %s: slurm job %s", task_id, job_id)
        runtime = dict(self._store.get_task(task_id).runtime)
        self._store.update_task(task_id, runtime={**runtime, "slurm_job": job_id})
        return job_id

    def _track(self) -> None:
        for task_id, job_id in list(self._jobs.items()):
            status = self._store.get_task(task_id).status
            if status == TaskStatus.stopped:
                subprocess.run(
                    ["scancel", job_id], env=dict(self._opts.env), capture_output=True, check=False
                )
            state, code = job_state(job_id, self._opts.env)
            if state not in _ENDED and state != "UNKNOWN":
                continue
            del self._jobs[task_id]
            if self._store.get_task(task_id).status.is_final:
                continue  # the job recorded the task's end (or it was stopped): that stands
            why = f"slurm job {job_id} ended {state}" + (f" (exit code {code})" if code else "")
            self._end(task_id, TaskStatus.stopped if state in _STOPPING else TaskStatus.failed, why)

    def _end(self, task_id: str, status: TaskStatus, why: str) -> None:
        try:
            self._store.set_status(
                task_id, status, message=why, reason=why, expected=(TaskStatus.in_progress,)
            )
        except (ConflictError, InvalidTransitionError):
            pass  # ended meanwhile: theirs stands


def run_glue(
    settings: Settings,
    queues: Sequence[str],
    template: Path,
    *,
    worker_id: str | None = None,
    poll: float = 1.0,
    burst: bool = False,
) -> int:
    """Serve ``queues`` with Slurm jobs from ``template`` on the store of ``settings`` until
    stopped (or, with ``burst``, until nothing is left); the exit code. Missing queues are
    created, as the agent does. Blocking."""
    from taskmill.store.factory import open_store

    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s taskmill slurm: %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    text = template.read_text()  # a missing template fails here, before anything is claimed
    store = open_store(settings.store_url, settings.api_key or None)
    try:
        for name in queues:
            try:
                store.get_queue(name)
            except Exception:  # a missing queue is created, as the agent does
                store.create_queue(name)
        glue = SlurmGlue(
            store,
            SlurmOptions(
                queues=tuple(queues),
                worker_id=worker_id or f"slurm:{os.uname().nodename}:{os.getpid()}",
                template=text,
                workdir=settings.home / "agent" / "slurm",
                env={**os.environ, **settings.to_env()},
                poll=poll,
                burst=burst,
            ),
        )
        return glue.run()
    finally:
        store.close()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m taskmill.agent.slurm_glue --queue Q --template FILE [--burst]``: ``taskmill
    agent --backend slurm`` without the CLI, with the store settings of the environment."""
    parser = argparse.ArgumentParser(prog="python -m taskmill.agent.slurm_glue")
    parser.add_argument("--queue", "-q", action="append", required=True)
    parser.add_argument("--template", required=True, type=Path)
    parser.add_argument("--id", default=None)
    parser.add_argument("--poll", type=float, default=1.0)
    parser.add_argument("--burst", action="store_true")
    args = parser.parse_args(argv)
    return run_glue(
        Settings.from_env(), args.queue, args.template, worker_id=args.id, poll=args.poll, burst=args.burst
    )


if __name__ == "__main__":
    sys.exit(main())
