"""A glue agent for Kubernetes: claim tasks from queues and submit each as a ``batch/v1`` Job.

``taskmill agent --queue Q --backend kubernetes --template FILE`` (or ``python -m
taskmill.agent.k8s_glue --queue Q --template FILE``), with the official ``kubernetes`` client
(``pip install 'taskmill[kubernetes]'``), configured in-cluster when it runs in a pod, else from
``$KUBECONFIG`` / ``~/.kube/config``. Each claimed task becomes one Job built from the YAML
template (a Job or a Pod; merge rules and placeholders in :mod:`taskmill.agent.k8s_manifest`)
whose container runs ``taskmill agent execute TASK_ID --claimed-by AGENT`` with the store
settings in its environment, the task's image, and its resources as requests and limits.

The pod records the task's own end. The glue polls each Job (``GET`` the Job, ``LIST`` its pods
by the ``taskmill.io/task-id`` label) and decides only what the pod could not: a Job that
failed without the task recording an end fails the task naming the reason (``OOMKilled``,
``preempted`` / ``evicted`` from the pod's ``DisruptionTarget`` condition or reason,
``DeadlineExceeded``, the exit code); a pod that cannot pull its image fails the task and its
Job is deleted; a Job deleted by someone else fails the task. A preempted task is failed, not
re-queued: its executor already took it, and retrying is the pipeline's decision
(``retry_on_failure``). A task set ``stopped`` gets its Job deleted (``propagationPolicy:
Background``, so the pods go too). Blocking; one loop, polling every ``poll`` seconds; an API
error while polling is logged and retried at the next poll.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from taskmill.agent.glue import GlueLoop, GlueOptions, JobEnd, ensure_queues
from taskmill.agent.k8s_manifest import TASK_LABEL, build_job, job_end, load_template, pod_problem, task_label
from taskmill.config import Settings
from taskmill.core.resources import ResourceError, Resources, container_of, resources_of
from taskmill.core.states import TaskStatus
from taskmill.errors import ExecutionError
from taskmill.store.base import TaskStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class KubernetesOptions(GlueOptions):
    """How the glue agent runs (the loop's options, :class:`GlueOptions`, and these)."""

    template: Mapping[str, Any]  #: the parsed YAML template
    namespace: str = "default"  #: used when the template names none
    env: Mapping[str, str] = field(default_factory=dict)  #: the pods' store settings
    executable: tuple[str, ...] = ("taskmill",)  #: how the image starts taskmill


class KubernetesGlue(GlueLoop):
    """The claim-submit-track loop on Kubernetes (see the module docstring). ``api`` is a
    ``kubernetes.client.ApiClient``."""

    mode = "kubernetes"

    def __init__(self, store: TaskStore, options: KubernetesOptions, api: Any) -> None:
        super().__init__(store, options)
        from kubernetes import client

        self._opts = options
        self._batch = client.BatchV1Api(api)
        self._core = client.CoreV1Api(api)
        self._namespace = (options.template.get("metadata") or {}).get("namespace") or options.namespace

    def manifest(self, task_id: str) -> dict[str, Any]:
        """The Job of ``task_id`` (its image and resources from the task's runtime)."""
        opts = self._opts
        runtime = self._store.get_task(task_id).runtime
        container = container_of(runtime)
        try:
            resources = resources_of(runtime)
        except ResourceError as exc:
            raise ExecutionError(f"task {task_id} records unreadable resources: {exc}") from exc
        command = [*opts.executable, "agent", "execute", task_id, "--claimed-by", opts.worker_id]
        return build_job(
            opts.template,
            task_id=task_id,
            command=command,
            env=opts.env,
            image=container[0] if container else None,
            resources=resources,
        )

    def submit(self, task_id: str) -> str:
        """Create the Job of ``task_id``; its name."""
        from kubernetes.client.exceptions import ApiException

        body: Any = self.manifest(task_id)  # the client takes a plain manifest as well as a V1Job
        try:
            self._batch.create_namespaced_job(self._namespace, body, _preload_content=False)
        except ApiException as exc:
            raise ExecutionError(f"kubernetes refused the job: {exc.status} {exc.reason} {exc.body}") from exc
        name = str(body["metadata"]["name"])
        logger.info("task %s: kubernetes job %s/%s", task_id, self._namespace, name)
        self.record_job(task_id, "kubernetes_job", f"{self._namespace}/{name}")
        return name

    def cancel(self, task_id: str, job_id: str) -> None:
        """Delete the Job and, in the background, its pods (a Job already gone is fine)."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        try:
            self._batch.delete_namespaced_job(
                job_id,
                self._namespace,
                body=client.V1DeleteOptions(propagation_policy="Background"),
                _preload_content=False,
            )
        except ApiException as exc:
            if exc.status != 404:
                logger.warning(
                    "task %s: cannot delete job %s: %s %s", task_id, job_id, exc.status, exc.reason
                )

    def outcome(self, task_id: str, job_id: str) -> JobEnd | None:
        """None while the Job runs; else what its end means for the task (see the module docstring)."""
        from kubernetes.client.exceptions import ApiException

        try:
            job = self._read(self._batch.read_namespaced_job(job_id, self._namespace, _preload_content=False))
            pods = self._read(
                self._core.list_namespaced_pod(
                    self._namespace,
                    label_selector=f"{TASK_LABEL}={task_label(task_id)}",
                    _preload_content=False,
                )
            ).get("items", [])
        except ApiException as exc:
            if exc.status == 404:
                return TaskStatus.failed, f"kubernetes job {job_id} was deleted before the task ended"
            logger.warning("task %s: cannot read job %s: %s %s", task_id, job_id, exc.status, exc.reason)
            return None
        problem = pod_problem(pods)
        if problem is not None:
            self.cancel(task_id, job_id)
            return TaskStatus.failed, f"kubernetes job {job_id} failed: {problem}"
        return job_end(job, pods)

    @staticmethod
    def _read(response: Any) -> dict[str, Any]:
        data = json.loads(response.data)
        return data if isinstance(data, dict) else {}


def api_client() -> Any:
    """A ``kubernetes.client.ApiClient``: in-cluster configuration inside a pod, else kubeconfig."""
    from kubernetes import client, config

    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
    except config.ConfigException:
        config.load_kube_config()  # type: ignore[no-untyped-call]
    return client.ApiClient()


def refuse_local_store(template: dict[str, Any], store_url: str) -> None:
    """Raise ExecutionError when pods would get the embedded SQLite store: a file on this
    machine, which pods on a cluster cannot reach. A template that sets ``TASKMILL_STORE``
    itself (pods that mount the file, a single-node cluster) is taken at its word."""
    if not store_url.startswith("sqlite"):
        return
    probe = build_job(
        template, task_id="0" * 32, command=["true"], env={}, image="probe", resources=Resources()
    )
    containers = probe["spec"]["template"]["spec"]["containers"]
    if any(e.get("name") == "TASKMILL_STORE" for c in containers for e in c.get("env") or ()):
        return
    raise ExecutionError(
        f"pods cannot reach the embedded SQLite store ({store_url}): it is a file on this machine. "
        "Run the glue against a taskmill server or PostgreSQL (TASKMILL_STORE=http://... or "
        "postgresql+psycopg://...), or set TASKMILL_STORE in the template's env if the pods mount it"
    )


def run_glue(
    settings: Settings,
    queues: Sequence[str],
    template: Path,
    *,
    worker_id: str | None = None,
    namespace: str = "default",
    poll: float = 1.0,
    burst: bool = False,
) -> int:
    """Serve ``queues`` with Kubernetes Jobs from ``template`` on the store of ``settings`` until
    stopped (or, with ``burst``, until nothing is left); the exit code. Missing queues are
    created, as the agent does. Blocking."""
    from taskmill.store.factory import open_store

    try:
        import kubernetes  # noqa: F401
    except ImportError as exc:
        raise ExecutionError(
            "--backend kubernetes needs the kubernetes client: pip install 'taskmill[kubernetes]'"
        ) from exc
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s taskmill kubernetes: %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    parsed = load_template(template.read_text())  # a bad template fails before anything is claimed
    refuse_local_store(parsed, settings.store_url)
    api = api_client()
    store = open_store(settings.store_url, settings.api_key or None)
    try:
        ensure_queues(store, queues)
        glue = KubernetesGlue(
            store,
            KubernetesOptions(
                queues=tuple(queues),
                worker_id=worker_id or f"kubernetes:{os.uname().nodename}:{os.getpid()}",
                template=parsed,
                namespace=namespace,
                env=settings.to_env(),
                poll=poll,
                burst=burst,
            ),
            api,
        )
        return glue.run()
    finally:
        store.close()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m taskmill.agent.k8s_glue --queue Q --template FILE [--burst]``: ``taskmill
    agent --backend kubernetes`` without the CLI, with the store settings of the environment."""
    parser = argparse.ArgumentParser(prog="python -m taskmill.agent.k8s_glue")
    parser.add_argument("--queue", "-q", action="append", required=True)
    parser.add_argument("--template", required=True, type=Path)
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--id", default=None)
    parser.add_argument("--poll", type=float, default=1.0)
    parser.add_argument("--burst", action="store_true")
    args = parser.parse_args(argv)
    return run_glue(
        Settings.from_env(),
        args.queue,
        args.template,
        worker_id=args.id,
        namespace=args.namespace,
        poll=args.poll,
        burst=args.burst,
    )


if __name__ == "__main__":
    sys.exit(main())
