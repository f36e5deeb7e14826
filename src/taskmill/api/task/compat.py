"""The rest of ClearML's ``Task`` surface: small helpers, and the members taskmill leaves out.

Real members here are thin (one store read or write); the members declared with
:func:`~taskmill.api.unsupported.unsupported` raise
:class:`~taskmill.api.unsupported.UnsupportedFeatureError` saying what to use instead.
"""

from __future__ import annotations

import logging
from typing import Any

from taskmill.api.session import PROCESS
from taskmill.api.task.handle import TaskHandle
from taskmill.api.unsupported import (
    CREDENTIALS,
    DATAVIEWS,
    ENDPOINTS,
    INTERNAL,
    MULTI_NODE,
    OFFLINE,
    unsupported,
    unsupported_attribute,
)
from taskmill.errors import TaskmillError


class DeleteError(TaskmillError):
    """Raised by ``Task.delete(raise_on_error=True)`` when part of a task cannot be deleted."""


class NotSet:
    """ClearML's marker for "no value given" (distinct from None)."""


class TaskCompat(TaskHandle):
    """Small ClearML helpers and the declared-unsupported members (a part of ``Task``)."""

    DeleteError = DeleteError
    NotSet = NotSet

    # -- real ---------------------------------------------------------------------------------------

    @property
    def log(self) -> logging.Logger:
        """A standard library logger for this task's own diagnostics (``taskmill.task``)."""
        return logging.getLogger("taskmill.task")

    @property
    def last_worker(self) -> str:
        """Who ran the task last (an agent's worker id, ``local``, or "")."""
        return self._fresh().worker

    @property
    def storage_uri(self) -> str:
        """ClearML's older name of ``output_uri``."""
        return self.output_uri

    @storage_uri.setter
    def storage_uri(self, value: str) -> None:
        self._record = self._store().update_task(self.id, output_uri=str(value or ""))

    @property
    def cache_dir(self) -> str:
        """This process's download cache folder."""
        return str(self._session.settings.cache_dir)

    def get_base_docker(self) -> str | None:
        """The container image recorded with ``set_base_docker`` (None when none)."""
        docker = self._fresh().runtime.get("docker")
        image = docker.get("image") if isinstance(docker, dict) else None
        return str(image) if image else None

    def is_offline(self) -> bool:
        """Always False: taskmill records to its store (a local file by default), never offline."""
        return False

    def publish_on_completion(self, enable: bool = True) -> None:
        """Publish the task when ``close()`` completes it (this handle only)."""
        self._publish_when_done = bool(enable)

    _publish_when_done = False

    @classmethod
    def force_store_standalone_script(cls, force: bool = True) -> None:
        """Accepted and ignored: taskmill records the script file, and the git diff when in a repo."""

    @staticmethod
    def get_task_output_log_web_page(
        task_id: str, project_id: str | None = None, app_server_host: str | None = None
    ) -> str:
        """The web UI page of ``task_id`` on ``app_server_host`` (default: the configured server
        store; "" with a local store)."""
        host = app_server_host or PROCESS.session().settings.store_url
        if not host.startswith(("http://", "https://")):
            return ""
        return f"{host.rstrip('/')}/tasks/{task_id}"

    def export_task(self) -> dict[str, Any]:
        """The task as a dict: its record plus ``parameters`` (``{"Section/name": value}``) and
        ``configuration`` (``{name: text}``)."""
        store = self._store()
        data = self._fresh().to_dict()
        data["parameters"] = {f"{p.section}/{p.name}": p.value for p in store.get_params(self.id)}
        data["configuration"] = {c.name: c.value for c in store.get_configs(self.id)}
        return data

    # -- unsupported ------------------------------------------------------------------------------

    set_offline = unsupported(OFFLINE)
    get_offline_mode_folder = unsupported(OFFLINE)
    import_offline_session = unsupported(OFFLINE)
    launch_multi_node = unsupported(MULTI_NODE)
    request_external_endpoint = unsupported(ENDPOINTS)
    list_external_endpoints = unsupported(ENDPOINTS)
    wait_for_external_endpoint = unsupported(ENDPOINTS)
    get_http_router = unsupported(ENDPOINTS)
    get_dataviews = unsupported(DATAVIEWS)
    set_dataview = unsupported(DATAVIEWS)
    setup_upload = unsupported(CREDENTIALS)
    setup_aws_upload = unsupported(CREDENTIALS)
    setup_azure_upload = unsupported(CREDENTIALS)
    setup_gcp_upload = unsupported(CREDENTIALS)
    set_credentials = unsupported(CREDENTIALS)
    create_function_task = unsupported(
        "run a function as its own task with PipelineDecorator.component, or Task.create(script=...)"
    )
    debug_simulate_remote_task = unsupported(
        "set TASKMILL_TASK_ID to the task's id to run a script as that task, as an agent does"
    )
    import_task = unsupported("clone a task with Task.clone(source_task=...) and change it with set_* calls")
    update_task = unsupported(
        "change a task with its set_* methods (set_parameters, set_script, set_name ...)"
    )
    remove_input_models = unsupported(
        "models cannot be detached; connect the right ones to a Task.clone(...)"
    )
    delete_user_properties = unsupported("set the properties again with set_user_properties(...)")
    set_artifacts = unsupported(INTERNAL)
    save_exec_model_design_file = unsupported(INTERNAL)
    send = unsupported(INTERNAL)
    set_resource_monitor_iteration_timeout = unsupported(
        "taskmill records no machine resource metrics; report your own with Logger.report_scalar"
    )
    session = unsupported_attribute(INTERNAL)
    default_session = unsupported_attribute(INTERNAL)
    metrics_manager = unsupported_attribute(INTERNAL)
    resource_monitor = unsupported_attribute(
        "taskmill records no machine resource metrics; report your own with Logger.report_scalar"
    )
    labels_stats = unsupported_attribute(INTERNAL)
    report_subprocess_enabled = unsupported_attribute(INTERNAL)
    stop_request = unsupported_attribute("poll task.get_status() or use register_abort_callback(...)")
