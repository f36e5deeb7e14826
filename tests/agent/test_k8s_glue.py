"""The Kubernetes glue agent: the whole Job lifecycle driven by a
real ``taskmill agent --backend kubernetes`` process whose official ``kubernetes`` client talks
to a fake API server (tests/agent/fake_kube.py) that really runs each pod's command."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from taskmill.agent.k8s_manifest import job_name
from taskmill.core.resources import container_record
from taskmill.core.states import TaskStatus
from taskmill.store.base import TaskStore
from tests.agent.conftest import TASKMILL, Agents, enqueue, log_text, record, script_task, wait_for, write
from tests.agent.fake_kube import FakeKube, fake_kube
from tests.agent.test_k8s_manifest import JOB_TEMPLATE

pytest.importorskip("kubernetes")


def _schedule(fake: FakeKube, job: str) -> None:
    """What the fake cluster does with each pod, by image (as a cluster would, by circumstance)."""
    image = fake.pod_of(job)["spec"]["containers"][0]["image"]
    time.sleep(0.1)
    if image == "oom":
        fake.fail(job, terminated={"reason": "OOMKilled", "exitCode": 137})
    elif image == "registry.invalid/missing:1":
        fake.fail(
            job,
            waiting={
                "reason": "ImagePullBackOff",
                "message": 'Back-off pulling image "registry.invalid/missing:1"',
            },
            job_reason=None,
        )
    elif image == "preempt":
        disruption = {
            "type": "DisruptionTarget",
            "status": "True",
            "reason": "PreemptionByScheduler",
            "message": "Preempted in order to admit critical pod",
        }
        fake.fail(job, terminated={"reason": "Error", "exitCode": 143}, pod_conditions=[disruption])
    elif image == "evicted":
        fake.fail(job, pod_reason="Evicted")
    elif image == "deadline":
        fake.fail(job, terminated={"reason": "Error", "exitCode": 143}, job_reason="DeadlineExceeded")
    else:
        fake.run_pod(job)


def test_jobs_run_tasks_and_their_ends_become_task_statuses(
    agents: Agents, tmp_path: Path, store: TaskStore
) -> None:
    ok = script_task(
        write(
            tmp_path / "ok.py",
            "from taskmill import Task\nt = Task.init()\nt.upload_artifact('x', 42)\nprint('ran ok')\n",
        )
    )
    dies = script_task(write(tmp_path / "dies.py", "import os\nos._exit(5)\n"))
    slow = script_task(
        write(tmp_path / "slow.py", "import time\nprint('sleeping', flush=True)\ntime.sleep(120)\n")
    )
    special = {
        name: script_task(write(tmp_path / f"{name}.py", "raise SystemExit('never runs')\n"), name=name)
        for name in ("oom", "registry.invalid/missing:1", "preempt", "evicted", "deadline")
    }
    store.update_task(
        ok.id,
        runtime={
            **record(store, ok).runtime,
            "docker": container_record("ghcr.io/acme/train:1"),
            "resources": {"cpu": 0.5, "memory": 512 * 1024**2, "gpu": 1},
        },
    )
    for image, task in special.items():
        store.update_task(task.id, runtime={**record(store, task).runtime, "docker": container_record(image)})
    enqueue(ok, dies, slow, *special.values())
    # the pods of the fake cluster run on this machine: the template says they reach its SQLite file
    own_store = '[{name: EXTRA, value: "1"}, {name: TASKMILL_STORE, value: "' + store.url + '"}]'
    template = write(tmp_path / "job.yaml", JOB_TEMPLATE.replace('[{name: EXTRA, value: "1"}]', own_store))
    with fake_kube(_schedule, tmp_path / "pods") as fake:
        env = {**agents.env, "KUBECONFIG": str(fake.kubeconfig(tmp_path / "kubeconfig"))}
        env.pop("KUBERNETES_SERVICE_HOST", None)
        argv = [TASKMILL, "agent", "-q", "default", "--backend", "kubernetes", "--template", str(template)]
        proc = subprocess.Popen(
            [*argv, "--id", "k8s-glue", "--heartbeat", "0.2", "--burst"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wait_for(
                lambda: "sleeping" in log_text(store, slow) or proc.poll() is not None, 60, "the slow pod"
            )
            store.set_status(slow.id, TaskStatus.stopped, message="stopped by a person", force=True)
            out, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, out
        created = {m["metadata"]["name"]: m for m in fake.created}
        deleted = dict(fake.deleted)

    assert record(store, ok).status == TaskStatus.completed, out
    assert "ran ok" in log_text(store, ok) and {a.name for a in store.get_artifacts(ok.id)} == {"x"}
    assert record(store, ok).runtime["kubernetes_job"] == f"ml/{job_name(ok.id)}"
    failed = record(store, dies)  # the pod's executor recorded this end; the glue left it
    assert failed.status == TaskStatus.failed and failed.status_message == "process exited with code 5"
    stopped = record(store, slow)
    assert stopped.status == TaskStatus.stopped and stopped.status_message == "stopped by a person"
    assert deleted[job_name(slow.id)] == {"propagationPolicy": "Background"}

    reasons = {image: record(store, task) for image, task in special.items()}
    assert all(r.status == TaskStatus.failed for r in reasons.values()), {
        k: r.status for k, r in reasons.items()
    }
    assert "OOMKilled (exit code 137)" in reasons["oom"].status_message
    assert "image pull failed: ImagePullBackOff" in reasons["registry.invalid/missing:1"].status_message
    assert deleted[job_name(special["registry.invalid/missing:1"].id)] == {"propagationPolicy": "Background"}
    assert "preempted: PreemptionByScheduler" in reasons["preempt"].status_message
    assert "evicted" in reasons["evicted"].status_message
    assert "DeadlineExceeded" in reasons["deadline"].status_message
    for image, task in special.items():
        assert reasons[image].status_message.startswith(f"kubernetes job {job_name(task.id)} failed: ")

    manifest = created[job_name(ok.id)]
    (container,) = manifest["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "ghcr.io/acme/train:1"
    assert container["command"] == ["taskmill", "agent", "execute", ok.id, "--claimed-by", "k8s-glue"]
    env_vars = {e["name"]: e["value"] for e in container["env"]}
    assert env_vars["TASKMILL_STORE"] == store.url and env_vars["EXTRA"] == "1"
    assert container["resources"]["limits"] == {"cpu": "500m", "memory": "512Mi", "nvidia.com/gpu": "1"}
    assert manifest["metadata"]["labels"]["taskmill.io/task-id"] == ok.id
    plain = created[job_name(dies.id)]["spec"]["template"]["spec"]["containers"][0]
    assert plain["image"] == "python:3.11-slim" and "limits" not in plain["resources"]  # template's
    assert "kubernetes job ml/" in out


def test_the_embedded_sqlite_store_is_refused_unless_the_template_names_it(
    agents: Agents, tmp_path: Path, store: TaskStore
) -> None:
    template = write(tmp_path / "job.yaml", JOB_TEMPLATE)
    result = agents.run("-q", "default", "--backend", "kubernetes", "--template", str(template), "--burst")
    assert result.returncode != 0
    assert "pods cannot reach the embedded SQLite store" in result.stdout + result.stderr
    assert "set TASKMILL_STORE in the template's env" in result.stdout + result.stderr


def test_the_backend_needs_a_template(agents: Agents) -> None:
    wide = {"COLUMNS": "300"}  # the error box would wrap the message
    result = agents.run("-q", "default", "--backend", "kubernetes", env=wide)
    assert result.returncode != 0 and "--backend kubernetes needs --template FILE" in result.stderr
    result = agents.run("-q", "default", "--backend", "nomad", "--template", "x", env=wide)
    assert result.returncode != 0 and "local, slurm or kubernetes" in result.stderr
