"""Routes for tasks and everything recorded on them (parameters, configs, outputs, logs, nodes).

Each route is one :class:`~taskmill.store.base.TaskStore` call with the same semantics (see that
class); the route docstrings become the operation descriptions in /openapi.json. Artifact and
model records are refused (422, nothing stored) when their ``uri`` lies outside what the server
may read (:class:`~taskmill.server.confine.Confinement`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from taskmill.server.confine import Confinement
from taskmill.server.model_base import Model
from taskmill.server.operations import OperationRouter
from taskmill.server.schemas import (
    ArtifactModel,
    CacheQuery,
    ConfigModel,
    LogAppended,
    LogBody,
    LogLineModel,
    LogQuery,
    ModelRecordModel,
    NodeModel,
    NodesBody,
    ParamKeysBody,
    ParamModel,
    ParamsBody,
    PlotModel,
    ScalarModel,
    ScalarsBody,
    StatusChange,
    TaskFilterModel,
    TaskModel,
    TaskUpdate,
)
from taskmill.store import wire
from taskmill.store.base import TaskStore
from taskmill.store.lease import serving

Json = Any


class ModelMoveBody(Model):
    """Where a model record goes: the task that takes it over, and its new name (None: kept)."""

    task_id: str
    name: str | None = None


def add_task_routes(ops: OperationRouter, store: TaskStore, confinement: Confinement) -> None:
    """Register the task routes of ``store`` on ``ops``; records must point inside ``confinement``."""
    serving(store)  # the server relays its clients' writes: a lease naming its own process would be wrong

    @ops.add("POST", "/tasks", "create_task", status_code=201, response_model=TaskModel)
    def create_task(body: TaskModel) -> Json:
        """Create a task (and its project and parent projects); 409 if the id exists."""
        return wire.to_wire(store.create_task(wire.task_from_wire(body.model_dump())))

    @ops.add("GET", "/tasks", "list_tasks", response_model=list[TaskModel])
    def list_tasks(q: Annotated[TaskFilterModel, Query()]) -> Json:
        """Tasks matching the filter given as query parameters, ordered by ``order``."""
        return [wire.to_wire(t) for t in store.find_tasks(wire.filter_from_wire(q.model_dump()))]

    @ops.add("POST", "/tasks/query", "find_tasks", response_model=list[TaskModel])
    def find_tasks(body: TaskFilterModel) -> Json:
        """Tasks matching the filter in the body (no URL length limit on ``ids``)."""
        return [wire.to_wire(t) for t in store.find_tasks(wire.filter_from_wire(body.model_dump()))]

    @ops.add("GET", "/tasks/{task_id}", "get_task", response_model=TaskModel)
    def get_task(task_id: str) -> Json:
        """The task; 404 naming the id if there is none."""
        return wire.to_wire(store.get_task(task_id))

    @ops.add("GET", "/tasks/{task_id}/attempt", "attempt_of", response_model=int)
    def attempt_of(task_id: str) -> int:
        """The task's current attempt number (+1 per claim; 0: never claimed); 404 if unknown."""
        return store.attempt_of(task_id)

    @ops.add("PATCH", "/tasks/{task_id}", "update_task", response_model=TaskModel)
    def update_task(task_id: str, body: TaskUpdate) -> Json:
        """Set plain fields (not the status); ``runtime`` is merged key by key."""
        return wire.to_wire(store.update_task(task_id, **body.model_dump(exclude_unset=True)))

    @ops.add("DELETE", "/tasks/{task_id}", "delete_task", status_code=204)
    def delete_task(task_id: str) -> None:
        """Delete the task and everything recorded on it (not its artifact bytes)."""
        store.delete_task(task_id)

    @ops.add("POST", "/tasks/{task_id}/status", "set_status", response_model=TaskModel)
    def set_status(task_id: str, body: StatusChange) -> Json:
        """Change the status atomically (409 for a transition the table forbids or a failed
        compare-and-set); leaving ``queued`` removes the task from its queue."""
        rec = store.set_status(
            task_id,
            body.status,
            message=body.message,
            reason=body.reason,
            force=body.force,
            expected=tuple(body.expected),
            worker=body.worker,
        )
        return wire.to_wire(rec)

    @ops.add("POST", "/tasks/{task_id}/dequeue", "dequeue", response_model=TaskModel)
    def dequeue(task_id: str) -> Json:
        """Take a queued task out of its queue, back to draft; 409 if it is not queued."""
        return wire.to_wire(store.dequeue(task_id))

    # -- parameters and configuration ---------------------------------------------------------

    @ops.add("GET", "/tasks/{task_id}/params", "get_params", response_model=list[ParamModel])
    def get_params(task_id: str) -> Json:
        """All parameters, ordered by section then insertion."""
        return [wire.to_wire(p) for p in store.get_params(task_id)]

    @ops.add("POST", "/tasks/{task_id}/params", "set_params", status_code=204)
    def set_params(task_id: str, body: ParamsBody) -> None:
        """Upsert parameters by (section, name); ``replace`` drops the others first."""
        store.set_params(
            task_id, [wire.param_from_wire(p.model_dump()) for p in body.params], replace=body.replace
        )

    @ops.add("POST", "/tasks/{task_id}/params/delete", "delete_params", status_code=204)
    def delete_params(task_id: str, body: ParamKeysBody) -> None:
        """Delete parameters by (section, name); missing ones are ignored."""
        store.delete_params(task_id, body.keys)

    @ops.add("GET", "/tasks/{task_id}/configs", "get_configs", response_model=list[ConfigModel])
    def get_configs(task_id: str) -> Json:
        """All configuration objects of the task."""
        return [wire.to_wire(c) for c in store.get_configs(task_id)]

    @ops.add("POST", "/tasks/{task_id}/configs", "set_config", status_code=204)
    def set_config(task_id: str, body: ConfigModel) -> None:
        """Upsert a configuration object by name."""
        store.set_config(task_id, wire.config_from_wire(body.model_dump()))

    # -- outputs ------------------------------------------------------------------------------

    @ops.add("GET", "/tasks/{task_id}/artifacts", "get_artifacts", response_model=list[ArtifactModel])
    def get_artifacts(task_id: str) -> Json:
        """Artifact records in upload order."""
        return [wire.to_wire(a) for a in store.get_artifacts(task_id)]

    @ops.add("POST", "/tasks/{task_id}/artifacts", "put_artifact", status_code=204)
    def put_artifact(task_id: str, body: ArtifactModel) -> None:
        """Upsert an artifact record by name (the path's task id wins over the body's); 422 naming
        the uri and the setting ``server.artifact_allow`` when the server may not read ``uri``."""
        confinement.check(body.uri)
        store.put_artifact(wire.artifact_from_wire({**body.model_dump(), "task_id": task_id}))

    @ops.add("DELETE", "/tasks/{task_id}/artifacts/{name:path}", "delete_artifact", status_code=204)
    def delete_artifact(task_id: str, name: str) -> None:
        """Remove an artifact record (its bytes are not touched)."""
        store.delete_artifact(task_id, name)

    @ops.add("GET", "/tasks/{task_id}/models", "get_models", response_model=list[ModelRecordModel])
    def get_models(task_id: str) -> Json:
        """Input and output models in the order they were added."""
        return [wire.to_wire(m) for m in store.get_models(task_id)]

    @ops.add("POST", "/tasks/{task_id}/models", "add_model", status_code=204)
    def add_model(task_id: str, body: ModelRecordModel) -> None:
        """Record an input or output model (the path's task id wins over the body's); 422 as for
        artifacts when the server may not read ``uri``."""
        confinement.check(body.uri)
        store.add_model(wire.model_from_wire({**body.model_dump(), "task_id": task_id}))

    @ops.add("POST", "/models/{model_id}/move", "move_model", response_model=ModelRecordModel)
    def move_model(model_id: str, body: ModelMoveBody) -> Json:
        """Re-attach a model record to another task (same id, URL, mode, framework; renamed when
        ``name`` is given); it becomes that task's newest model. 404 for an unknown model or task."""
        return wire.to_wire(store.move_model(model_id, body.task_id, name=body.name))

    @ops.add("GET", "/tasks/{task_id}/scalars", "get_scalars", response_model=list[ScalarModel])
    def get_scalars(task_id: str) -> Json:
        """All scalars, ordered by title, series, iteration."""
        return [wire.to_wire(p) for p in store.get_scalars(task_id)]

    @ops.add("POST", "/tasks/{task_id}/scalars", "add_scalars", status_code=204)
    def add_scalars(task_id: str, body: ScalarsBody) -> None:
        """Append reported scalars."""
        store.add_scalars(task_id, [wire.scalar_from_wire(p.model_dump()) for p in body.points])

    @ops.add("GET", "/tasks/{task_id}/plots", "get_plots", response_model=list[PlotModel])
    def get_plots(task_id: str) -> Json:
        """Reported tables and charts in report order."""
        return [wire.to_wire(p) for p in store.get_plots(task_id)]

    @ops.add("POST", "/tasks/{task_id}/plots", "add_plot", status_code=204)
    def add_plot(task_id: str, body: PlotModel) -> None:
        """Append a reported table or chart."""
        store.add_plot(task_id, wire.plot_from_wire(body.model_dump()))

    @ops.add("GET", "/tasks/{task_id}/log", "get_log", response_model=list[LogLineModel])
    def get_log(task_id: str, q: Annotated[LogQuery, Query()]) -> Json:
        """Console lines with ``seq > after`` in order (follow a log by passing the last seq);
        ``limit`` keeps the first lines, ``tail`` the last ones (422 when both are given)."""
        lines = store.get_log(task_id, after=q.after, limit=q.limit, tail=q.tail)
        return [wire.to_wire(ln) for ln in lines]

    @ops.add("POST", "/tasks/{task_id}/log", "append_log", response_model=LogAppended)
    def append_log(task_id: str, body: LogBody) -> Json:
        """Append console lines; returns the last sequence number assigned."""
        last = store.append_log(task_id, [wire.log_from_wire(ln.model_dump()) for ln in body.lines])
        return {"last_seq": last}

    # -- pipelines --------------------------------------------------------------------------

    @ops.add("GET", "/tasks/{task_id}/nodes", "get_nodes", response_model=list[NodeModel])
    def get_nodes(task_id: str) -> Json:
        """Live node states of pipeline run ``task_id``, in first-written order."""
        return [{"name": name, "data": data} for name, data in store.get_nodes(task_id)]

    @ops.add("POST", "/tasks/{task_id}/nodes", "put_nodes", status_code=204)
    def put_nodes(task_id: str, body: NodesBody) -> None:
        """Upsert node states of pipeline run ``task_id`` (a node keeps its first position)."""
        store.put_nodes(task_id, [(n.name, dict(n.data)) for n in body.nodes])

    @ops.add("GET", "/cache/tasks", "find_by_cache_key", response_model=list[TaskModel])
    def find_by_cache_key(q: Annotated[CacheQuery, Query()]) -> Json:
        """Completed or published tasks with this step cache key, newest first."""
        return [wire.to_wire(t) for t in store.find_by_cache_key(q.key)]
