"""Kubernetes Job manifests from the glue agent's templates (pure: no client, no cluster)."""

from __future__ import annotations

import pytest

from taskmill.agent.k8s_manifest import build_job, job_end, job_name, load_template, pod_problem
from taskmill.core.resources import Resources
from taskmill.core.states import TaskStatus
from taskmill.errors import ExecutionError

pytest.importorskip("yaml")

JOB_TEMPLATE = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: ignored
  namespace: ml
  labels: {team: vision}
spec:
  activeDeadlineSeconds: 3600
  template:
    metadata:
      annotations: {taskmill/task: "{{task_id}}", job: "{{job_name}}"}
    spec:
      containers:
      - name: taskmill
        image: python:3.11-slim
        env: [{name: EXTRA, value: "1"}]
        resources: {requests: {ephemeral-storage: 1Gi}}
"""

POD_TEMPLATE = """\
apiVersion: v1
kind: Pod
metadata:
  labels: {team: nlp}
spec:
  nodeSelector: {pool: gpu}
  restartPolicy: OnFailure
  containers:
  - name: sidecar
    image: busybox
  - name: taskmill
    image: ghcr.io/acme/base:1
    command: ["sh", "-c", "pip install -q extra && {{command}}"]
    env: [{name: TASKMILL_STORE, value: "http://taskmill.ml.svc:8080"}]
"""


def test_a_job_template_becomes_the_task_job() -> None:
    template = load_template(JOB_TEMPLATE)
    job = build_job(
        template,
        task_id="abc123",
        command=["taskmill", "agent", "execute", "abc123"],
        env={"TASKMILL_STORE": "postgresql://db/tm", "TASKMILL_HOME": "/tmp/tm"},
        image="ghcr.io/acme/train:2",
        resources=Resources(cpu=0.5, memory=3 * 1024**3, gpu=2),
    )
    assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job"
    assert job["metadata"] == {
        "name": "tm-abc123",
        "namespace": "ml",
        "labels": {
            "team": "vision",
            "app.kubernetes.io/managed-by": "taskmill",
            "taskmill.io/task-id": "abc123",
        },
    }
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["activeDeadlineSeconds"] == 3600
    pod = job["spec"]["template"]
    assert pod["metadata"]["annotations"] == {"taskmill/task": "abc123", "job": "tm-abc123"}
    assert pod["metadata"]["labels"]["taskmill.io/task-id"] == "abc123"
    assert pod["spec"]["restartPolicy"] == "Never"
    (container,) = pod["spec"]["containers"]
    assert container["image"] == "ghcr.io/acme/train:2"  # the task's image wins over the template's
    assert container["command"] == ["taskmill", "agent", "execute", "abc123"]
    assert container["env"] == [
        {"name": "EXTRA", "value": "1"},
        {"name": "TASKMILL_HOME", "value": "/tmp/tm"},
        {"name": "TASKMILL_STORE", "value": "postgresql://db/tm"},
    ]
    quantities = {"cpu": "500m", "memory": "3072Mi", "nvidia.com/gpu": "2"}
    assert container["resources"] == {
        "requests": {"ephemeral-storage": "1Gi", **quantities},
        "limits": quantities,
    }
    assert "name: ignored" in JOB_TEMPLATE and template["metadata"]["name"] == "ignored"  # not mutated


def test_a_pod_template_wraps_the_command_and_keeps_its_own_env() -> None:
    job = build_job(
        load_template(POD_TEMPLATE),
        task_id="T1",
        command=["taskmill", "agent", "execute", "T1", "--claimed-by", "glue 1"],
        env={"TASKMILL_STORE": "sqlite:///here.db", "TASKMILL_API_KEY": "k"},
        image=None,
        resources=Resources(),
    )
    assert job["metadata"]["name"] == "tm-t1" and "namespace" not in job["metadata"]
    pod = job["spec"]["template"]
    assert pod["metadata"]["labels"] == {
        "team": "nlp",
        "app.kubernetes.io/managed-by": "taskmill",
        "taskmill.io/task-id": "T1",
    }
    assert pod["spec"]["nodeSelector"] == {"pool": "gpu"} and pod["spec"]["restartPolicy"] == "OnFailure"
    sidecar, main = pod["spec"]["containers"]
    assert sidecar == {"name": "sidecar", "image": "busybox"}
    assert main["command"] == [
        "sh",
        "-c",
        "pip install -q extra && taskmill agent execute T1 --claimed-by 'glue 1'",
    ]
    assert main["env"] == [  # the template's store address for pods wins
        {"name": "TASKMILL_STORE", "value": "http://taskmill.ml.svc:8080"},
        {"name": "TASKMILL_API_KEY", "value": "k"},
    ]
    assert "resources" not in main and main["image"] == "ghcr.io/acme/base:1"
    with pytest.raises(ExecutionError, match="no container image"):
        build_job(
            load_template(POD_TEMPLATE.replace("    image: ghcr.io/acme/base:1\n", "")),
            task_id="x",
            command=["true"],
            env={},
            image=None,
            resources=Resources(),
        )


def test_templates_that_are_not_a_job_or_pod_are_refused() -> None:
    with pytest.raises(ExecutionError, match="is a Deployment"):
        load_template("kind: Deployment\nspec: {}\n")
    with pytest.raises(ExecutionError, match="mapping"):
        load_template("- a\n- b\n")
    assert job_name("ABC_def") == "tm-abc-def"


def test_a_job_end_is_read_from_its_conditions_and_pods() -> None:
    running = {"metadata": {"name": "tm-a"}, "status": {"active": 1}}
    assert job_end(running, []) is None
    done = {"metadata": {"name": "tm-a"}, "status": {"conditions": [{"type": "Complete", "status": "True"}]}}
    assert job_end(done, []) == (
        TaskStatus.failed,
        "kubernetes job tm-a succeeded but the task recorded no end",
    )
    failed = {"metadata": {"name": "tm-a"}, "status": {"conditions": [{"type": "Failed", "status": "True"}]}}
    exited = [
        {"status": {"containerStatuses": [{"state": {"terminated": {"reason": "Error", "exitCode": 2}}}]}}
    ]
    assert job_end(failed, exited) == (TaskStatus.failed, "kubernetes job tm-a failed: Error (exit code 2)")
    pulling = [
        {
            "status": {
                "containerStatuses": [{"image": "x:1", "state": {"waiting": {"reason": "ErrImagePull"}}}]
            }
        }
    ]
    assert pod_problem(pulling) == "image pull failed: ErrImagePull (x:1)"
    assert pod_problem([{"status": {"phase": "Pending"}}]) is None
