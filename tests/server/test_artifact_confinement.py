"""Artifact and model records cannot make the server read files or URLs outside its artifact
location and the allow-list (``server.artifact_allow``): refused when recorded (422 naming the uri
and the setting, nothing stored), and refused again, never streamed, when a record that points
elsewhere is already in the database. Seen from outside: a real ``taskmill server`` process, and
the app over a real SQLite store served by uvicorn, through the API and the web UI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from taskmill.core.model import ArtifactRecord, ModelRecord, TaskRecord, new_id
from taskmill.errors import ConfigError
from taskmill.server import free_port
from taskmill.server.confine import ENV_VAR, SETTING
from taskmill.store.factory import open_store
from taskmill.store.http import HttpTaskStore
from tests.plugins.s3 import S3Server
from tests.server.harness import Served, served

TASKMILL = str(Path(sys.executable).parent / "taskmill")
SECRET = b"TOP SECRET: outside the artifact location\n"


def _hostile_uris(tmp_path: Path, root: Path, port: int) -> dict[str, str]:
    """Locations an API key must not read through the server (the secret file exists)."""
    outside = tmp_path / "secret.txt"
    outside.write_bytes(SECRET)
    (root / "t").mkdir(parents=True, exist_ok=True)
    link = root / "t" / "escape.txt"
    if not link.is_symlink():
        link.symlink_to(outside)
    return {
        "etc-passwd": "/etc/passwd",
        "store-db": str(tmp_path / "store.db"),
        "file-url": "file:///etc/passwd",
        "file-url-with-host": "file://localhost/etc/passwd",
        "local-url": "local:///etc/passwd",
        "symlink-escape": str(link),
        "dotdot": f"{root}/../secret.txt",
        "dotdot-file-url": f"file://{root}/t/../../secret.txt",
        "relative": "secret.txt",
        "home": "~/.bashrc",
        "loopback-url": f"http://127.0.0.1:{port}/api/v1/health",
        "localhost-url": f"http://localhost:{port}/api/v1/info",
        "metadata-url": "http://169.254.169.254/latest/meta-data/",
        "ipv6-loopback": f"http://[::1]:{port}/",
        "fsspec-chain": "simplecache::file:///etc/passwd",
        "other-bucket": "s3://someone-elses-bucket/data.bin",
        "memory-fs": "memory://x/y",
    }


def _assert_refused(response: httpx.Response, uri: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert uri in body["detail"] and SETTING in body["detail"] and ENV_VAR in body["detail"], body
    assert body["fields"]["uri"] == uri and body["fields"]["setting"] == SETTING


def _sign_in(url: str, key: str) -> httpx.Client:
    ui = httpx.Client(base_url=url, timeout=30)
    r = ui.post("/signin", data={"key": key, "next": "/"}, headers={"Origin": url})
    assert r.status_code == 303, r.text
    return ui


# -- a real `taskmill server` process -------------------------------------------------------------


@pytest.fixture
def process(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """``(url, key, artifact folder)`` of a real ``taskmill server`` over ``tmp_path/store.db``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    env["TASKMILL_HOME"] = str(tmp_path / "home")
    store = f"sqlite:///{tmp_path}/store.db"
    made = subprocess.run(
        [TASKMILL, "server", "create-key", "--name", "k", "--store", store],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    key = made.stdout.split()[0]
    root, port = tmp_path / "art", free_port()
    root.mkdir()
    log = (tmp_path / "server.log").open("w+")
    proc = subprocess.Popen(
        [TASKMILL, "server", "--port", str(port), "--store", store, "--artifacts", str(root)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(url + "/api/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.05)
        yield url, key, root
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_a_real_server_process_reads_nothing_outside_its_artifacts(
    tmp_path: Path, process: tuple[str, str, Path]
) -> None:
    url, key, root = process
    port = int(url.rsplit(":", 1)[1])
    api = httpx.Client(base_url=url + "/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=30)
    task = api.post("/tasks", json={"name": "t", "project": "p"}).json()["id"]
    hostile = _hostile_uris(tmp_path, root, port)
    readable = []
    for index, uri in enumerate(hostile.values()):
        name = f"a{index}"
        recorded = api.post(f"/tasks/{task}/artifacts", json={"task_id": task, "name": name, "uri": uri})
        _assert_refused(recorded, uri)
        modelled = api.post(
            f"/tasks/{task}/models", json={"task_id": task, "id": name, "name": name, "uri": uri}
        )
        _assert_refused(modelled, uri)
        if api.get(f"/tasks/{task}/artifacts/{name}/content").status_code == 200:
            readable.append(uri)
    assert readable == [] and api.get(f"/tasks/{task}/artifacts").json() == []
    assert api.get(f"/tasks/{task}/models").json() == []

    # Written straight into the database (before the fix, or by a local client): listed, never read.
    direct = open_store(f"sqlite:///{tmp_path}/store.db")
    direct.put_artifact(ArtifactRecord(task, "passwd", "/etc/passwd", "file", "raw"))
    direct.add_model(ModelRecord(task, "m1", "db", str(tmp_path / "store.db")))
    direct.close()
    assert [a["uri"] for a in api.get(f"/tasks/{task}/artifacts").json()] == ["/etc/passwd"]
    _assert_refused(api.get(f"/tasks/{task}/artifacts/passwd/content"), "/etc/passwd")
    ui = _sign_in(url, key)
    page = ui.get(f"/tasks/{task}")
    # Still listed: the artifact by name, the model with its location as text.
    assert page.status_code == 200 and ">passwd<" in page.text and str(tmp_path / "store.db") in page.text
    download = ui.get(f"/tasks/{task}/artifacts/passwd")
    assert download.status_code == 400 and SETTING in download.text and "root:" not in download.text
    model = ui.get(f"/tasks/{task}/models/m1")
    assert model.status_code == 400 and SETTING in model.text and "SQLite format" not in model.text

    # What clients write straight into the server's folder is still served.
    (root / task).mkdir()
    (root / task / "ok.txt").write_bytes(b"fine")
    ok_uri = str(root / task / "ok.txt")
    assert (
        api.post(f"/tasks/{task}/artifacts", json={"task_id": task, "name": "ok", "uri": ok_uri}).status_code
        == 204
    )
    assert api.get(f"/tasks/{task}/artifacts/ok/content").content == b"fine"
    assert ui.get(f"/tasks/{task}/artifacts/ok").content == b"fine"
    api.close()
    ui.close()


# -- the app over a real SQLite store, served by uvicorn ------------------------------------------


@pytest.fixture
def confined(tmp_path: Path) -> Iterator[tuple[Served, str]]:
    """A server with keys on over ``tmp_path/store.db``, allowing ``tmp_path/shared`` too; and a key."""
    (tmp_path / "shared").mkdir()
    with served(
        f"sqlite:///{tmp_path}/store.db", tmp_path, auth=True, artifact_allow=[str(tmp_path / "shared")]
    ) as s:
        yield s, s.store.create_api_key("tests")[1]


def _api(server: Served, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=30
    )


@pytest.mark.parametrize(
    "label",
    [
        "etc-passwd",
        "store-db",
        "file-url",
        "file-url-with-host",
        "local-url",
        "symlink-escape",
        "dotdot",
        "dotdot-file-url",
        "relative",
        "home",
        "loopback-url",
        "localhost-url",
        "metadata-url",
        "ipv6-loopback",
        "fsspec-chain",
        "other-bucket",
        "memory-fs",
    ],
)
def test_records_outside_are_refused_and_nothing_is_stored(
    tmp_path: Path, confined: tuple[Served, str], label: str
) -> None:
    server, key = confined
    root = Path(server.artifacts.default_uri)
    uri = _hostile_uris(tmp_path, root, server.thread.port)[label]
    t = server.store.create_task(TaskRecord(id=new_id(), name="t", project="p"))
    with _api(server, key) as api:
        _assert_refused(
            api.post(f"/tasks/{t.id}/artifacts", json={"task_id": t.id, "name": "a", "uri": uri}), uri
        )
        _assert_refused(
            api.post(f"/tasks/{t.id}/models", json={"task_id": t.id, "id": "m", "name": "m", "uri": uri}), uri
        )
        batch = {"ops": [{"op": "put_artifact", "args": {"task_id": t.id, "name": "b", "uri": uri}}]}
        assert api.post("/batch", json=batch).status_code == 422
    assert server.store.get_artifacts(t.id) == [] and server.store.get_models(t.id) == []


def test_the_http_store_client_gets_a_clear_error(confined: tuple[Served, str]) -> None:
    server, key = confined
    remote = HttpTaskStore(server.url, key)
    t = remote.create_task(TaskRecord(id=new_id(), name="t", project="p"))
    with pytest.raises(ValueError, match=r"'/etc/passwd' is refused.*server\.artifact_allow"):
        remote.put_artifact(ArtifactRecord(t.id, "a", "/etc/passwd", "file", "raw"))
    remote.close()


def test_records_written_directly_are_listed_but_never_streamed(
    tmp_path: Path, confined: tuple[Served, str]
) -> None:
    server, key = confined
    root = Path(server.artifacts.default_uri)
    port = server.thread.port
    t = server.store.create_task(TaskRecord(id=new_id(), name="t", project="p"))
    hostile = _hostile_uris(tmp_path, root, port)
    for label, uri in hostile.items():  # the server's own store, as a pre-fix record would be
        server.store.put_artifact(ArtifactRecord(t.id, label, uri, "file", "raw"))
        server.store.add_model(ModelRecord(t.id, label, label, uri))
    ui = _sign_in(server.url, key)
    with _api(server, key) as api:
        assert {a["uri"] for a in api.get(f"/tasks/{t.id}/artifacts").json()} == set(hostile.values())
        for label, uri in hostile.items():
            _assert_refused(api.get(f"/tasks/{t.id}/artifacts/{label}/content"), uri)
            got = ui.get(f"/tasks/{t.id}/artifacts/{label}")
            assert got.status_code == 400 and SETTING in got.text, (label, got.status_code)
            assert SECRET.decode() not in got.text and "root:" not in got.text
            model = ui.get(f"/tasks/{t.id}/models/{label}")
            assert model.status_code in (400, 404) and SECRET.decode() not in model.text, label
            assert "root:" not in model.text and "SQLite format" not in model.text
    page = ui.get(f"/tasks/{t.id}").text
    assert ">etc-passwd<" in page and "file:///etc/passwd" in page  # listed (models show their uri)
    ui.close()


def test_a_link_planted_after_recording_is_not_followed(tmp_path: Path, confined: tuple[Served, str]) -> None:
    server, key = confined
    remote = HttpTaskStore(server.url, key)
    t = remote.create_task(TaskRecord(id=new_id(), name="t", project="p"))
    (tmp_path / "f").write_bytes(b"legit")
    uri, size, digest = remote.upload_artifact_content(t.id, "a", tmp_path / "f")
    remote.put_artifact(ArtifactRecord(t.id, "a", uri, "file", "raw", size, digest))
    (tmp_path / "secret.txt").write_bytes(SECRET)
    os.remove(uri)
    os.symlink(tmp_path / "secret.txt", uri)  # the record was fine; the path now leads outside
    with _api(server, key) as api:
        _assert_refused(api.get(f"/tasks/{t.id}/artifacts/a/content"), uri)
    remote.close()


def test_uploads_and_allowed_locations_round_trip(tmp_path: Path, confined: tuple[Served, str]) -> None:
    server, key = confined
    root = Path(server.artifacts.default_uri)
    remote = HttpTaskStore(server.url, key)
    t = remote.create_task(TaskRecord(id=new_id(), name="t", project="p"))
    (tmp_path / "weights.bin").write_bytes(b"w" * 1000)
    # Through the server (a client that cannot reach its storage).
    uri, size, digest = remote.upload_artifact_content(t.id, "weights", tmp_path / "weights.bin")
    remote.put_artifact(ArtifactRecord(t.id, "weights", uri, "file", "raw", size, digest))
    back = remote.download_artifact_content(t.id, "weights", tmp_path / "back.bin")
    assert back.read_bytes() == b"w" * 1000
    # Straight into the server's folder (a client on the same machine), also as a file:// URL,
    # through a link that stays inside, and in an allow-listed folder.
    (root / t.id).mkdir(parents=True, exist_ok=True)
    (root / t.id / "direct.txt").write_bytes(b"direct")
    (root / t.id / "inner-link.txt").symlink_to(root / t.id / "direct.txt")
    (tmp_path / "shared" / "model.pt").write_bytes(b"shared")
    allowed = {
        "direct": str(root / t.id / "direct.txt"),
        "as-url": f"file://{root / t.id / 'direct.txt'}",
        "inner-link": str(root / t.id / "inner-link.txt"),
        "shared": str(tmp_path / "shared" / "model.pt"),
    }
    for name, where in allowed.items():
        remote.put_artifact(ArtifactRecord(t.id, name, where, "file", "raw"))
    remote.add_model(ModelRecord(t.id, "m", "model", allowed["shared"]))
    ui = _sign_in(server.url, key)
    with _api(server, key) as api:
        for name in allowed:
            want = b"shared" if name == "shared" else b"direct"
            assert api.get(f"/tasks/{t.id}/artifacts/{name}/content").content == want, name
            assert ui.get(f"/tasks/{t.id}/artifacts/{name}").content == want, name
        assert ui.get(f"/tasks/{t.id}/models/m").content == b"shared"
        # An allow-listed folder is a prefix at a "/" boundary, not a string prefix.
        (tmp_path / "shared-not").mkdir()
        evil = str(tmp_path / "shared-not" / "x")
        _assert_refused(
            api.post(f"/tasks/{t.id}/artifacts", json={"task_id": t.id, "name": "e", "uri": evil}), evil
        )
    ui.close()
    remote.close()


def test_an_allow_listed_url_prefix_is_matched_by_host_port_and_path(tmp_path: Path) -> None:
    port = free_port()
    allow = [f"http://127.0.0.1:{port}/api/v1/health"]
    with served(f"sqlite:///{tmp_path}/s.db", tmp_path, port=port, artifact_allow=allow) as server:
        t = server.store.create_task(TaskRecord(id=new_id(), name="t", project="p"))
        with httpx.Client(base_url=server.url + "/api/v1", timeout=30) as api:
            ok = f"http://127.0.0.1:{port}/api/v1/health"
            assert (
                api.post(
                    f"/tasks/{t.id}/artifacts", json={"task_id": t.id, "name": "h", "uri": ok}
                ).status_code
                == 204
            )
            got = api.get(f"/tasks/{t.id}/artifacts/h/content")
            assert got.status_code == 200 and b'"status":"ok"' in got.content  # fetched: it is allowed
            for uri in (
                f"http://127.0.0.1:{port}/api/v1/info",
                f"http://127.0.0.1:{port}/api/v1/health/../info",
                f"http://127.0.0.1:{port}/api/v1/health/%2e%2e/info",
                f"http://localhost:{port}/api/v1/health",
                f"https://127.0.0.1:{port}/api/v1/health",
                f"http://user@127.0.0.1:{port}/api/v1/health",
                f"http://127.0.0.1:{port + 1}/api/v1/health",
            ):
                _assert_refused(
                    api.post(f"/tasks/{t.id}/artifacts", json={"task_id": t.id, "name": "x", "uri": uri}), uri
                )


@pytest.mark.parametrize("prefix", ["relative/dir", "https://", "s3://", "/a/../b", "http://u:p@host/x"])
def test_an_unusable_allow_list_entry_stops_the_server_from_starting(tmp_path: Path, prefix: str) -> None:
    with (
        pytest.raises(ConfigError, match=SETTING.replace(".", r"\.")),
        served(f"sqlite:///{tmp_path}/s.db", tmp_path, artifact_allow=[prefix]),
    ):
        pass


@pytest.mark.s3
def test_s3_artifact_location_and_its_neighbours(tmp_path: Path, s3_server: S3Server) -> None:
    base = s3_server.url("confined", new_id())
    with served(
        f"sqlite:///{tmp_path}/s.db", tmp_path, artifacts_uri=base, storage_options=s3_server.storage_options
    ) as server:
        remote = HttpTaskStore(server.url)
        t = remote.create_task(TaskRecord(id=new_id(), name="t", project="p"))
        (tmp_path / "m.bin").write_bytes(b"model bytes")
        uri, size, digest = remote.upload_artifact_content(t.id, "model", tmp_path / "m.bin")
        assert uri.startswith(base + "/")
        remote.put_artifact(ArtifactRecord(t.id, "model", uri, "file", "raw", size, digest))
        assert (
            remote.download_artifact_content(t.id, "model", tmp_path / "back").read_bytes() == b"model bytes"
        )
        neighbour = s3_server.url("confined", "other-run", "m.bin")  # same bucket, outside the prefix
        with httpx.Client(base_url=server.url + "/api/v1", timeout=30) as api:
            for refused in (neighbour, base + "-sibling/m.bin", "/etc/passwd"):
                body = {"task_id": t.id, "name": "n", "uri": refused}
                _assert_refused(api.post(f"/tasks/{t.id}/artifacts", json=body), refused)
        remote.close()
