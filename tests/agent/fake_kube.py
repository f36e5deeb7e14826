"""A small fake Kubernetes API server for the glue agent's tests.

A real HTTP server (``ThreadingHTTPServer`` on 127.0.0.1) that speaks the parts of the REST
protocol the glue uses, as the official client sends them: ``POST``/``GET``/``DELETE``
``/apis/batch/v1/namespaces/NS/jobs[/NAME]`` and ``GET /api/v1/namespaces/NS/pods?labelSelector=``.
Creating a Job creates its pod (``Pending``, labelled like the pod template plus ``job-name``)
and calls ``schedule(fake, job_name)`` on a thread; the test drives what happens next with
:meth:`FakeKube.run_pod` (really runs the container's command, with its env, as a subprocess)
or :meth:`FakeKube.fail` (sets the pod's and Job's status as the kubelet and the Job
controller would). Every created manifest and every delete (with its body) is recorded.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

Schedule = Callable[["FakeKube", str], None]


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
    }


class FakeKube:
    """The cluster's state and the test's handles on it (thread-safe)."""

    def __init__(self, schedule: Schedule, logs: Path) -> None:
        self.schedule = schedule
        self.logs = logs
        self.lock = threading.Lock()
        self.created: list[dict[str, Any]] = []  # manifests as POSTed
        self.deleted: list[tuple[str, dict[str, Any]]] = []  # (job name, DELETE body)
        self.jobs: dict[str, dict[str, Any]] = {}
        self.pods: dict[str, dict[str, Any]] = {}  # pod name -> pod
        self.procs: dict[str, subprocess.Popen[bytes]] = {}  # job name -> its running container
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def kubeconfig(self, path: Path) -> Path:
        """A kubeconfig pointing the official client at this server."""
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
                    "users": [{"name": "fake", "user": {"token": "fake-token"}}],
                    "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
                    "current-context": "fake",
                }
            )
        )
        return path

    # -- the test's handles ------------------------------------------------------------------

    def pod_of(self, job: str) -> dict[str, Any]:
        with self.lock:
            return next(p for p in self.pods.values() if p["metadata"]["labels"].get("job-name") == job)

    def _set(self, job: str, pod_status: dict[str, Any], job_status: dict[str, Any] | None) -> None:
        with self.lock:
            for pod in self.pods.values():
                if pod["metadata"]["labels"].get("job-name") == job:
                    pod["status"] = pod_status
            if job_status is not None and job in self.jobs:
                self.jobs[job]["status"] = job_status

    def run_pod(self, job: str) -> int:
        """Run the pod's container command as the kubelet would (its env over this process's,
        the venv's ``bin`` on PATH as the image's); set Running, then Succeeded or Failed with
        the exit code, and the Job's Complete or Failed condition. Blocks until it exits."""
        pod = self.pod_of(job)
        container = pod["spec"]["containers"][0]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TASKMILL_", "KUBE"))}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env.update({e["name"]: e["value"] for e in container.get("env") or ()})
        self._set(
            job, {"phase": "Running", "containerStatuses": [_cs(container, {"running": {}})]}, {"active": 1}
        )
        with (self.logs / f"{job}.log").open("wb") as log:
            proc = subprocess.Popen(
                [*container["command"], *container.get("args", [])],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            with self.lock:
                self.procs[job] = proc
            code = proc.wait()
        term = {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error"}}
        if code == 0:
            done = {"succeeded": 1, "conditions": [_cond("Complete", "", "")]}
        else:
            done = {
                "failed": 1,
                "conditions": [
                    _cond("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
                ],
            }
        self._set(
            job,
            {"phase": "Succeeded" if code == 0 else "Failed", "containerStatuses": [_cs(container, term)]},
            done,
        )
        return code

    def fail(
        self,
        job: str,
        *,
        terminated: dict[str, Any] | None = None,
        waiting: dict[str, Any] | None = None,
        pod_conditions: list[dict[str, Any]] | None = None,
        pod_reason: str | None = None,
        job_reason: str | None = "BackoffLimitExceeded",
    ) -> None:
        """Give the pod a terminated or waiting container state (and conditions, a reason);
        with ``job_reason``, also mark the Job Failed with it (None: the Job stays active)."""
        container = self.pod_of(job)["spec"]["containers"][0]
        state = {"terminated": terminated} if terminated else {"waiting": waiting or {}}
        status: dict[str, Any] = {
            "phase": "Failed" if terminated or pod_reason else "Pending",
            "containerStatuses": [_cs(container, state)],
            "conditions": pod_conditions or [],
        }
        if pod_reason:
            status["reason"] = pod_reason
            status["message"] = f"The node was low on resource: memory. ({pod_reason})"
        job_status = (
            {"failed": 1, "conditions": [_cond("Failed", job_reason, f"failed: {job_reason}")]}
            if job_reason
            else None
        )
        self._set(job, status, job_status)

    # -- the server side ---------------------------------------------------------------------

    def create_job(self, ns: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body["metadata"]["name"]
        with self.lock:
            if name in self.jobs:
                return _status(409, "AlreadyExists", f'jobs.batch "{name}" already exists')
            self.created.append(copy.deepcopy(body))
            job = copy.deepcopy(body)
            job["metadata"].update(namespace=ns, uid=f"uid-{len(self.created)}")
            job["status"] = {}
            self.jobs[name] = job
            template = job["spec"]["template"]
            labels = {**(template.get("metadata") or {}).get("labels", {}), "job-name": name}
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"{name}-x{len(self.created)}", "namespace": ns, "labels": labels},
                "spec": copy.deepcopy(template["spec"]),
                "status": {"phase": "Pending"},
            }
            self.pods[pod["metadata"]["name"]] = pod
        threading.Thread(target=self.schedule, args=(self, name), daemon=True).start()
        return job

    def delete_job(self, name: str, body: dict[str, Any]) -> dict[str, Any] | None:
        with self.lock:
            self.deleted.append((name, body))
            job = self.jobs.pop(name, None)
            if job is None:
                return None
            if body.get("propagationPolicy") in ("Background", "Foreground"):
                for pod_name in [
                    n for n, p in self.pods.items() if p["metadata"]["labels"].get("job-name") == name
                ]:
                    del self.pods[pod_name]
                proc = self.procs.get(name)
                if proc is not None and proc.poll() is None:
                    proc.terminate()  # the kubelet's SIGTERM to a deleted pod's container
            return job

    def list_pods(self, ns: str, selector: str) -> dict[str, Any]:
        wanted = dict(part.split("=", 1) for part in selector.split(",") if "=" in part)
        with self.lock:
            items = [
                copy.deepcopy(p)
                for p in self.pods.values()
                if p["metadata"]["namespace"] == ns
                and all(p["metadata"]["labels"].get(k) == v for k, v in wanted.items())
            ]
        return {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            procs = list(self.procs.values())
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _cs(container: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": container["name"],
        "image": container["image"],
        "ready": "running" in state,
        "restartCount": 0,
        "state": state,
    }


def _cond(kind: str, reason: str, message: str) -> dict[str, Any]:
    return {"type": kind, "status": "True", "reason": reason, "message": message}


def _handler(fake: FakeKube) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length)) if length else {}

        def _route(self) -> tuple[list[str], dict[str, list[str]]]:
            url = urlparse(self.path)
            return [p for p in url.path.split("/") if p], parse_qs(url.query)

        def do_POST(self) -> None:
            parts, _ = self._route()
            if parts[:4] == ["apis", "batch", "v1", "namespaces"] and parts[5:] == ["jobs"]:
                job = fake.create_job(parts[4], self._body())
                self._send(job.get("code", 201) if job.get("kind") == "Status" else 201, job)
            else:
                self._send(404, _status(404, "NotFound", self.path))

        def do_GET(self) -> None:
            parts, query = self._route()
            if parts[:4] == ["apis", "batch", "v1", "namespaces"] and len(parts) == 7 and parts[5] == "jobs":
                with fake.lock:
                    job = copy.deepcopy(fake.jobs.get(parts[6]))
                if job is None:
                    self._send(404, _status(404, "NotFound", f'jobs.batch "{parts[6]}" not found'))
                else:
                    self._send(200, job)
            elif parts[:3] == ["api", "v1", "namespaces"] and parts[4:] == ["pods"]:
                self._send(200, fake.list_pods(parts[3], query.get("labelSelector", [""])[0]))
            else:
                self._send(404, _status(404, "NotFound", self.path))

        def do_DELETE(self) -> None:
            parts, _ = self._route()
            if parts[:4] == ["apis", "batch", "v1", "namespaces"] and len(parts) == 7 and parts[5] == "jobs":
                job = fake.delete_job(parts[6], self._body())
                if job is None:
                    self._send(404, _status(404, "NotFound", f'jobs.batch "{parts[6]}" not found'))
                else:
                    self._send(
                        200,
                        {
                            "kind": "Status",
                            "apiVersion": "v1",
                            "status": "Success",
                            "details": {"name": parts[6]},
                        },
                    )
            else:
                self._send(404, _status(404, "NotFound", self.path))

    return Handler


@contextmanager
def fake_kube(schedule: Schedule, logs: Path) -> Iterator[FakeKube]:
    """A running fake API server (stopped, and its containers killed, on the way out)."""
    logs.mkdir(parents=True, exist_ok=True)
    fake = FakeKube(schedule, logs)
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.close()
