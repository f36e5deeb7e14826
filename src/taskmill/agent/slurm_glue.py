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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from taskmill.agent.glue import GlueLoop, GlueOptions, JobEnd, ensure_queues
from taskmill.config import Settings
from taskmill.core.resources import resources_of, sbatch_options
from taskmill.core.states import TaskStatus
from taskmill.errors import ExecutionError
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


@dataclass(frozen=True, slots=True, kw_only=True)
class SlurmOptions(GlueOptions):
    """How the glue agent runs (the loop's options, :class:`GlueOptions`, and these)."""

    template: str  #: the batch script template (see the module docstring)
    workdir: Path  #: rendered scripts and job output (``<task id>.sh``, ``<task id>.out``)
    env: Mapping[str, str] = field(default_factory=dict)  #: the jobs' environment (store settings)
    python: str = sys.executable  #: the interpreter the job runs the task with


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


class SlurmGlue(GlueLoop):
    """The claim-submit-track loop on Slurm (see the module docstring)."""

    mode = "slurm"

    def __init__(self, store: TaskStore, options: SlurmOptions) -> None:
        super().__init__(store, options)
        self._opts = options

    def run(self) -> int:
        """Serve until stopped (KeyboardInterrupt) or, in burst mode, drained. Returns 0."""
        self._opts.workdir.mkdir(parents=True, exist_ok=True)
        return super().run()

    def submit(self, task_id: str) -> str:
        """``sbatch`` the rendered script of ``task_id``; the job id."""
        opts = self._opts
        command = f"{opts.python} -m taskmill.agent.execute_one {task_id} --claimed-by {opts.worker_id}"
        script = opts.workdir / f"{task_id}.sh"
        script.write_text(render(opts.template, task_id=task_id, command=command))
        # the step's resources= (-c, --mem, --gres): on the command line, so they override the
        # template's #SBATCH defaults for this task only
        asked = sbatch_options(resources_of(self._store.get_task(task_id).runtime))
        proc = subprocess.run(
            [
                "sbatch",
                "--parsable",
                f"--job-name=tm-{task_id[:8]}",
                f"--output={opts.workdir / task_id}.out",
                *asked,
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
        self.record_job(task_id, "slurm_job", job_id)
        return job_id

    def cancel(self, task_id: str, job_id: str) -> None:
        """``scancel`` the job (also a pending one)."""
        subprocess.run(["scancel", job_id], env=dict(self._opts.env), capture_output=True, check=False)

    def outcome(self, task_id: str, job_id: str) -> JobEnd | None:
        """None while Slurm may still run the job; else the task's end from its JobState."""
        state, code = job_state(job_id, self._opts.env)
        if state not in _ENDED and state != "UNKNOWN":
            return None
        why = f"slurm job {job_id} ended {state}" + (f" (exit code {code})" if code else "")
        return (TaskStatus.stopped if state in _STOPPING else TaskStatus.failed, why)


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
        ensure_queues(store, queues)
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
