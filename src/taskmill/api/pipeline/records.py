"""What a run records on its controller task: the task itself, parameters, version, DAG.

:class:`PipelineRecords` is the second part of ``PipelineController`` (see
:mod:`taskmill.api.pipeline.controller`). Every method blocks on the store; creating the
controller task is done once per controller object (later calls return it).
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from typing import Any

from taskmill.api.params import cast_like, to_json_value, type_name
from taskmill.api.pipeline.definition import PipelineDefinition
from taskmill.api.pipeline.verify import definition_hash
from taskmill.api.session import PROCESS
from taskmill.api.task import Task
from taskmill.core.model import ConfigObject, Param
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.core.stored import PIPELINE_CONFIG
from taskmill.errors import ExecutionError
from taskmill.runs.records import next_run_number, next_version
from taskmill.store.base import TaskStore


def resume_requested(store: TaskStore, task_id: str) -> bool:
    """True when the attached run was queued for resume (``enqueue_resume``); clears the mark."""
    if not task_id:
        return False
    if store.get_task(task_id).runtime.get("_resume"):
        store.update_task(task_id, runtime={"_resume": False})
        return True
    return False


class PipelineRecords(PipelineDefinition):
    """The records part of ``PipelineController`` (see the module docstring)."""

    def _controller_task(self, resume: str | None = None) -> Task:
        """The run's controller task, created (or attached: ``resume``, an existing current
        task) on first use; later calls return the same task."""
        if self._task is not None:
            return self._task
        session = PROCESS.session()
        store = session.store
        store.ensure_project(self._hidden_project.rsplit("/", 1)[0], system_tags=("hidden",))
        store.ensure_project(self._hidden_project, system_tags=("pipeline", "hidden"))
        if resume:
            task = Task.get_task(task_id=resume)
            record = store.get_task(resume)
            if "pipeline" not in record.system_tags:
                raise ExecutionError(f"task {resume} is not a pipeline run (no 'pipeline' system tag)")
            if record.status == TaskStatus.completed:
                raise ExecutionError(f"run {resume} ({record.name}) completed; there is nothing to resume")
            if record.status != TaskStatus.in_progress:
                store.set_status(resume, TaskStatus.in_progress, message="resumed")
            task._attached = True
        elif (current := Task.current_task()) is not None:
            task = current  # ClearML: an existing task becomes the controller
        else:
            task = Task.init(
                project_name=self._hidden_project,
                task_name=self._name,
                task_type=TaskTypes.controller,
                auto_connect_arg_parser=False,
            )
        record = store.get_task(task.id)
        if "pipeline" not in record.system_tags:
            store.update_task(task.id, system_tags=[*record.system_tags, "pipeline"])
            if self._add_run_number:
                task.set_name(f"{self._name} #{next_run_number(store, self._hidden_project, self._name)}")
        if self._tags:
            task.add_tags(self._tags)
        self._task = task
        return task

    def _final_parameters(self, task: Task, *, attached: bool) -> dict[str, Any]:
        """The run's parameters: the defined ones, overridden by those stored on an attached run
        (an agent's or a resume's; cast like the defaults)."""
        params = dict(self._params)
        if attached:
            self._adopt_stored_queue(task)
            stored = {p.name: p.value for p in task._store().get_params(task.id) if p.section == "Args"}
            for key, value in stored.items():
                params[key] = cast_like(value, self._params.get(key)) if key in self._params else value
        return params

    def _record_definition(self, task: Task, *, params: Mapping[str, Any]) -> None:
        """Record parameters, version, controller process and configurations on the run, then
        its DAG (blocking; one store batch)."""
        store = task._store()
        dhash = definition_hash(self._nodes, params)
        version = self._version or next_version(store, self._hidden_project, task.id, dhash)
        self._version = version
        with store.batch():
            store.set_params(
                task.id,
                [
                    Param(
                        "Args",
                        k,
                        to_json_value(v),
                        self._param_meta.get(k, ("", type_name(v)))[1],
                        self._param_meta.get(k, ("", ""))[0],
                    )
                    for k, v in params.items()
                ]
                + [
                    Param("pipeline", "default_queue", self._default_queue or ""),
                    Param("pipeline", "add_pipeline_tags", self._add_pipeline_tags),
                    Param("pipeline", "target_project", to_json_value(self._target_project)),
                    Param("properties", "version", version),
                ],
            )
            store.update_task(
                task.id,
                runtime={
                    "version": version,
                    "_pipeline_hash": f"{dhash}:{version}",
                    "controller_pid": os.getpid(),
                    "controller_host": socket.gethostname(),
                },
            )
            for configuration, name, description in self._configs:
                task.connect_configuration(configuration, name=name, description=description)
        self._write_dag(task)

    def _write_dag(self, task: Task) -> None:
        """Store the DAG (live while a run goes) as the run's ``Pipeline`` configuration."""
        dag = {name: node.to_dict() for name, node in self._dag_nodes().items()}
        task._store().set_config(
            task.id,
            ConfigObject(PIPELINE_CONFIG, json.dumps(dag, default=str), "dictionary", "pipeline state"),
        )

    def _upload_object_kwargs(self, task: Task) -> None:
        """Store the non-JSON arguments of function steps as artifacts of the run."""
        for node in self._nodes.values():
            for arg, value in node.hooks.object_kwargs.items():
                task.upload_artifact(f"{node.name}.{arg}", value, serialization_function=self._serialize)

    def _adopt_stored_queue(self, task: Task) -> None:
        """Under an agent: the default step queue recorded by the process that queued the run."""
        if self._default_queue is None:
            stored = task._store().get_param_dict(task.id).get("pipeline/default_queue")
            self._default_queue = str(stored) if stored else None
