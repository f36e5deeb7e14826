"""The small ClearML helpers of Task and its unsupported members (real SQLite store)."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskmill import Task
from taskmill.api.unsupported import UnsupportedFeatureError


@pytest.fixture(autouse=True)
def _home(tm_home: Path) -> None:
    """Every test here gets its own store."""


def test_helpers_read_and_write_the_store(tm_home: Path) -> None:
    t = Task.create(project_name="p", task_name="c")
    assert t.last_worker == "" and t.get_base_docker() is None and not t.is_offline()
    t.set_base_docker(docker_cmd="python:3.12 --gpus all")
    assert t.get_base_docker() == "python:3.12"
    assert t.get_runtime_properties()["docker"]["arguments"] == ["--gpus", "all"]  # type: ignore[index]
    t.storage_uri = str(tm_home / "elsewhere")
    assert t.output_uri == t.storage_uri == str(tm_home / "elsewhere")
    assert t.get_output_destination(extra_path="sub") == str(tm_home / "elsewhere") + "/sub"
    t.set_parameter("General/lr", 0.1)
    exported = t.export_task()
    assert exported["id"] == t.id and exported["parameters"] == {"General/lr": 0.1}
    assert Task.get_task_output_log_web_page(t.id) == ""
    assert Task.get_task_output_log_web_page(t.id, app_server_host="http://h:1") == f"http://h:1/tasks/{t.id}"
    assert issubclass(Task.DeleteError, Exception) and Task.NotSet is not None


def test_publish_on_completion_and_delete_callback() -> None:
    t = Task.create(project_name="p", task_name="pub")
    t.mark_started()
    t.publish_on_completion()
    t.close()
    assert t.status == "published"
    d = Task.create(project_name="p", task_name="del")
    d.upload_artifact("keep", {"a": 1})
    d.upload_artifact("drop", {"b": 2})
    uris = {a.name: a.uri for a in d._store().get_artifacts(d.id)}
    seen: list[tuple[str, str]] = []
    d.delete(callback=lambda kind, uri: seen.append((kind, uri)) or uri != uris["keep"])
    assert sorted(seen) == sorted(("artifact", u) for u in uris.values())
    assert Path(uris["keep"]).exists() and not Path(uris["drop"]).exists()


def test_unsupported_members_say_what_to_use() -> None:
    t = Task.create(project_name="p", task_name="u")
    with pytest.raises(UnsupportedFeatureError, match="TASKMILL_STORE"):
        t.set_offline(True)
    with pytest.raises(UnsupportedFeatureError, match=r"Task\.session"):
        _ = t.session
    with pytest.raises(UnsupportedFeatureError, match=r"Task\.create"):
        t.launch_multi_node(2)
