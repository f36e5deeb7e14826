"""Kubernetes Job manifests for the glue agent, and what a finished Job says; pure functions.

:func:`build_job` turns the user's YAML template and one task into a ``batch/v1`` Job. The
template is either a Job (``kind: Job``) or a Pod (``kind: Pod``, or any mapping with a
``spec.containers`` list), whose ``metadata`` and ``spec`` become the Job's pod template.
Merge rules, applied to a copy of the template:

* placeholders ``{{task_id}}`` and ``{{job_name}}`` are replaced in every string value;
* ``metadata.name`` is ``tm-<task id>`` (the template's name is dropped: one Job per task);
  labels ``app.kubernetes.io/managed-by: taskmill`` and ``taskmill.io/task-id`` are added to
  the Job and to its pod template (the glue finds the pods by the latter);
* the container is the one named ``taskmill``, else the first (one is added when there is none);
  its ``image`` is the task's (``runtime["docker"]["image"]``, from ``set_base_docker`` or a
  step's ``docker=``), else the template's; neither is an error;
* its ``command`` becomes the execute command; a template whose command has an item
  containing ``{{command}}`` keeps its command and gets the shell-quoted execute command
  there (``["sh", "-c", "setup && {{command}}"]``); ``args`` is dropped in the first case;
* ``env``: the store settings are added; a name the template sets itself keeps the
  template's value (so a template can point pods at an in-cluster store address);
* the task's resources (``runtime["resources"]``) set ``resources.requests`` and
  ``resources.limits`` for ``cpu``, ``memory`` and ``nvidia.com/gpu``; other keys stay;
* ``restartPolicy`` defaults to ``Never`` and ``backoffLimit`` to ``0``: a second pod would
  find the task already taken, so retries belong to the pipeline, not to the Job.
"""

from __future__ import annotations

import copy
import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from taskmill.core.resources import Resources
from taskmill.core.states import TaskStatus
from taskmill.errors import ExecutionError

MANAGED_BY = "app.kubernetes.io/managed-by"
TASK_LABEL = "taskmill.io/task-id"
#: waiting reasons after which a pod will not start without someone fixing the image
IMAGE_FAILURES = frozenset({"ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull"})


def job_name(task_id: str) -> str:
    """``tm-<task id>`` as a DNS-1123 label (lower case, at most 63 characters)."""
    return ("tm-" + re.sub(r"[^a-z0-9-]", "-", task_id.lower()))[:63].rstrip("-")


def task_label(task_id: str) -> str:
    """The ``taskmill.io/task-id`` label value of a task (a valid label value)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", task_id)[:63]


def load_template(text: str) -> dict[str, Any]:
    """The template YAML as a mapping; ExecutionError when it is not a Job or a Pod."""
    import yaml  # the kubernetes extra brings PyYAML

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ExecutionError(f"the Kubernetes template is not YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ExecutionError("the Kubernetes template must be a Job or a Pod manifest (a mapping)")
    kind = data.get("kind")
    if kind not in (None, "Job", "Pod"):
        raise ExecutionError(f"the Kubernetes template is a {kind}: give a Job or a Pod")
    return data


def _substitute(value: Any, names: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for key, text in names.items():
            value = value.replace("{{" + key + "}}", text)
        return value
    if isinstance(value, list):
        return [_substitute(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, names) for k, v in value.items()}
    return value


def build_job(
    template: Mapping[str, Any],
    *,
    task_id: str,
    command: Sequence[str],
    env: Mapping[str, str],
    image: str | None,
    resources: Resources,
) -> dict[str, Any]:
    """The Job manifest running ``command`` for ``task_id`` (merge rules in the module docstring)."""
    name = job_name(task_id)
    data = _substitute(copy.deepcopy(dict(template)), {"task_id": task_id, "job_name": name})
    if data.get("kind") == "Job":
        job: dict[str, Any] = data
        spec = job.setdefault("spec", {})
        pod = spec.setdefault("template", {})
    else:
        pod = {"metadata": data.get("metadata") or {}, "spec": data.get("spec") or {}}
        pod["metadata"].pop("name", None)
        job = {"metadata": {"namespace": pod["metadata"].pop("namespace", None)}, "spec": {"template": pod}}
        spec = job["spec"]
    job["apiVersion"], job["kind"] = "batch/v1", "Job"
    labels = {MANAGED_BY: "taskmill", TASK_LABEL: task_label(task_id)}
    meta = job.setdefault("metadata", {})
    if not meta.get("namespace"):
        meta.pop("namespace", None)
    meta.pop("generateName", None)
    meta["name"] = name
    meta["labels"] = {**(meta.get("labels") or {}), **labels}
    spec.setdefault("backoffLimit", 0)
    pod_meta = pod.setdefault("metadata", {})
    pod_meta["labels"] = {**(pod_meta.get("labels") or {}), **labels}
    pod_spec = pod.setdefault("spec", {})
    pod_spec.setdefault("restartPolicy", "Never")
    containers = pod_spec.setdefault("containers", [])
    if not containers:
        containers.append({"name": "taskmill"})
    container = next((c for c in containers if c.get("name") == "taskmill"), containers[0])
    container.setdefault("name", "taskmill")
    container["image"] = image or container.get("image")
    if not container["image"]:
        raise ExecutionError(
            f"task {task_id} has no container image: set one with Task.set_base_docker or a step's "
            "docker=, or give the template's container an image"
        )
    wrapper = [str(c) for c in container.get("command") or ()]
    if any("{{command}}" in item for item in wrapper):
        quoted = shlex.join(command)
        container["command"] = [item.replace("{{command}}", quoted) for item in wrapper]
    else:
        container["command"] = list(command)
        container.pop("args", None)
    own = {e.get("name") for e in container.get("env") or ()}
    container["env"] = [*(container.get("env") or ())] + [
        {"name": k, "value": v} for k, v in sorted(env.items()) if k not in own
    ]
    quantities = resources.kubernetes_quantities()
    if quantities:
        res = container.setdefault("resources", {})
        for key in ("requests", "limits"):
            res[key] = {**(res.get(key) or {}), **quantities}
    return job


def _conditions(obj: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    status = obj.get("status") or {}
    return {c.get("type"): c for c in status.get("conditions") or () if c.get("status") == "True"}


def pod_problem(pods: Sequence[Mapping[str, Any]]) -> str | None:
    """Why a live Job's pod cannot start (an image it cannot pull), None when nothing is wrong."""
    for pod in pods:
        for cs in (pod.get("status") or {}).get("containerStatuses") or ():
            waiting = (cs.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in IMAGE_FAILURES:
                detail = waiting.get("message") or cs.get("image") or ""
                return f"image pull failed: {waiting['reason']}" + (f" ({detail})" if detail else "")
    return None


def failure_reason(job: Mapping[str, Any], pods: Sequence[Mapping[str, Any]]) -> str:
    """Why a failed Job failed, most specific first: OOMKilled, preempted or evicted (the pod's
    DisruptionTarget condition or Evicted reason), DeadlineExceeded, a container's exit code."""
    for pod in pods:
        status = pod.get("status") or {}
        for cs in status.get("containerStatuses") or ():
            term = (cs.get("state") or {}).get("terminated") or {}
            if term.get("reason") == "OOMKilled":
                return f"OOMKilled (exit code {term.get('exitCode', 137)}): raise its memory request"
        disruption = _conditions(pod).get("DisruptionTarget")
        if disruption is not None:
            return f"preempted: {disruption.get('reason', '')} {disruption.get('message', '')}".rstrip()
        if status.get("reason") == "Evicted":
            return f"evicted: {status.get('message', '')}".rstrip(": ")
    failed = _conditions(job).get("Failed") or {}
    if failed.get("reason") == "DeadlineExceeded":
        return f"DeadlineExceeded: {failed.get('message') or 'ran past activeDeadlineSeconds'}"
    for pod in pods:
        for cs in (pod.get("status") or {}).get("containerStatuses") or ():
            term = (cs.get("state") or {}).get("terminated") or {}
            if term:
                return f"{term.get('reason') or 'Error'} (exit code {term.get('exitCode')})"
    return f"{failed.get('reason') or 'Failed'}: {failed.get('message') or 'no pod status'}"


def job_end(job: Mapping[str, Any], pods: Sequence[Mapping[str, Any]]) -> tuple[TaskStatus, str] | None:
    """None while the Job runs; once it finished, the end of a task that recorded none: failed,
    with the reason (:func:`failure_reason`), or failed because it succeeded without an end."""
    name = (job.get("metadata") or {}).get("name", "?")
    done = _conditions(job)
    if "Failed" in done:
        return TaskStatus.failed, f"kubernetes job {name} failed: {failure_reason(job, pods)}"
    if "Complete" in done or (job.get("status") or {}).get("succeeded"):
        return TaskStatus.failed, f"kubernetes job {name} succeeded but the task recorded no end"
    return None
