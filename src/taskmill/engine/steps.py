"""Turning a node into a step task: resolve its references, create (or clone) its task, key it.

The scheduler calls :meth:`StepBuilder.resolve` (references -> values, at launch time), then the
user's ``pre_execute_callback``, then :meth:`StepBuilder.create`, then the cache lookup.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import CodeType
from typing import Any

from taskmill.core.model import ConfigObject, Param, ScriptInfo, TaskRecord, new_id, split_key
from taskmill.core.pipeline import StepSpec
from taskmill.core.refs import resolve
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.core.stored import FUNCTION_PAYLOAD, KWARGS, KWARGS_ARTIFACTS, RETURN
from taskmill.engine.backend import Backend
from taskmill.engine.by_value import by_value
from taskmill.engine.cache import CacheKey, make_key, script_code
from taskmill.engine.inputs import ArtifactInput, decode_markers, encode_inputs, map_inputs
from taskmill.engine.nodes import Node
from taskmill.engine.queues import step_queue
from taskmill.engine.resolve import Resolver
from taskmill.errors import ExecutionError
from taskmill.types import JSONValue


@dataclass
class Resolved:
    """A node's inputs with every reference resolved."""

    parameters: dict[str, Any] = field(default_factory=dict)
    kwargs: dict[str, Any] = field(default_factory=dict)  #: literal function arguments
    inputs: dict[str, ArtifactInput] = field(default_factory=dict)  #: function args read from outputs
    configurations: dict[str, Any] = field(default_factory=dict)
    task_overrides: dict[str, Any] = field(default_factory=dict)
    queue: str | None = None
    input_hashes: dict[str, str] = field(default_factory=dict)


@dataclass
class RunContext:
    """What a run's steps share."""

    run_id: str
    step_project: str
    params: Mapping[str, Any]
    add_pipeline_tags: bool = False
    output_uri: str | None = None
    default_queue: str | None = None
    with_payload: bool = True  #: store the pickled function (needed when steps run in other processes)
    base_task_lookup: Callable[[Node], str] | None = None  #: id of a task step's base task
    serialize: Callable[[Any], bytes] | None = None  #: artifact_serialization_function
    deserialize: Callable[[bytes], Any] | None = None  #: artifact_deserialization_function
    #: the requirement lines a function step's source imports, for steps that name no packages
    #: (ClearML's auto-detection); None: record none
    detect_packages: Callable[[str], Sequence[str]] | None = None


class StepBuilder:
    """Creates the tasks of a run's steps."""

    def __init__(self, backend: Backend, ctx: RunContext) -> None:
        self._b = backend
        self._ctx = ctx
        self._detected: dict[str, str] = {}  #: function source -> detected requirement lines

    def _requirements(self, spec: StepSpec) -> str:
        """The step's requirement lines: its own packages, else those its source imports."""
        if spec.packages or self._ctx.detect_packages is None:
            return "\n".join(spec.packages)
        found = self._detected.get(spec.function_source)
        if found is None:  # once per distinct function in a run (fan-outs share one)
            found = "\n".join(self._ctx.detect_packages(spec.function_source))
            self._detected[spec.function_source] = found
        return found

    def resolve(self, node: Node, executed: Mapping[str, str | None]) -> Resolved:
        """Resolve the node's references against the tasks that ran its parents."""
        spec = node.spec
        res = Resolver(self._b, spec.name, params=self._ctx.params, executed=executed)
        recursive = spec.recursively_parse_parameters
        out = Resolved()
        out.parameters = {k: resolve(v, res, recursive=recursive) for k, v in spec.parameters.items()}
        out.configurations = {k: resolve(v, res, recursive=True) for k, v in spec.configurations.items()}
        out.task_overrides = {k: resolve(v, res) for k, v in spec.task_overrides.items()}
        queue = step_queue(spec.queue, self._ctx.default_queue)
        out.queue = None if queue is None else str(resolve(queue, res))
        if spec.kind == "function":
            as_inputs = Resolver(
                self._b, spec.name, params=self._ctx.params, executed=executed, returns_as_inputs=True
            )
            for arg, value in spec.function_kwargs.items():
                # return references (and input markers) anywhere inside the value become inputs
                got = decode_markers(resolve(value, as_inputs, recursive=True))
                if isinstance(got, ArtifactInput):
                    out.inputs[arg] = got
                else:
                    got = resolve(got, res, recursive=True) if recursive else got
                    out.kwargs[arg] = encode_inputs(got)
            for arg in node.hooks.object_kwargs:
                out.inputs[arg] = ArtifactInput(self._ctx.run_id, f"{spec.name}.{arg}")
            res.input_hashes.update(as_inputs.input_hashes)
        out.input_hashes = dict(res.input_hashes)
        if self._elsewhere(node):
            # its process reads its parents' artifacts from disk: writes left running must land
            self._b.artifacts.flush()
        return out

    def _elsewhere(self, node: Node) -> bool:
        """True when the step may run in another process (it then reads files, not memory)."""
        return node.spec.kind != "function" or self._ctx.with_payload or node.hooks.launcher is not None

    # -- creating the task ---------------------------------------------------------------------

    def create(
        self, node: Node, resolved: Resolved, key: CacheKey | None = None, *, running: bool = False
    ) -> str:
        """Create the step's task (status created) with everything recorded; returns its id.

        A function step's cache ``key`` (known before its task exists) is recorded with it.
        ``running``: the step starts this instant in this process (in-process launcher), so its
        task is created already ``in_progress`` (one write fewer per step).
        """
        if node.spec.kind == "function":
            return self._create_function_task(node, resolved, key=key, running=running)
        return self._create_cloned_task(node, resolved)

    def _tags(self, node: Node, base: tuple[str, ...] = ()) -> tuple[str, ...]:
        tags = list(base) + [t for t in node.spec.tags if t not in base]
        if self._ctx.add_pipeline_tags:
            tags.append(f"pipe: {self._ctx.run_id}")
        return tuple(tags)

    def _create_function_task(
        self, node: Node, resolved: Resolved, *, key: CacheKey | None, running: bool
    ) -> str:
        spec = node.spec
        store = self._b.store
        record = TaskRecord(
            id=new_id(),
            name=spec.task_name or spec.name,
            project=spec.project_name or self._ctx.step_project,
            task_type=TaskTypes(spec.task_type),
            parent=self._ctx.run_id,
            tags=self._tags(node),
            script=ScriptInfo(
                entry_point=f"{spec.function_name}.py",
                working_dir=".",
                diff=spec.function_source,
                requirements=self._requirements(spec),
            ),
            runtime={
                "pipeline_step": spec.name,
                "function": f"{spec.function_module}:{spec.function_name}",
                **(key.runtime() if key is not None and key.key else {}),
                **_placement(spec),
            },
            output_uri=spec.output_uri or self._ctx.output_uri or "",
            cache_key=key.key if key is not None else "",
        )
        if running:
            now = time.time()
            record = replace(
                record,
                status=TaskStatus.in_progress,
                status_message="running in-process",
                worker="inline",
                started=now,
            )
        params = [
            Param(KWARGS, k, _jsonable(v, spec.name, k), type(v).__name__) for k, v in resolved.kwargs.items()
        ]
        params += [Param(KWARGS_ARTIFACTS, k, v.encode(), "artifact") for k, v in resolved.inputs.items()]
        with store.batch():
            store.create_task(record)
            if params:
                store.set_params(record.id, params)
            if self._ctx.with_payload and node.hooks.function is not None:
                payload = _pickle_function(node, self._ctx)
                store.set_config(record.id, ConfigObject(FUNCTION_PAYLOAD, payload, "cloudpickle"))
        return record.id

    def _create_cloned_task(self, node: Node, resolved: Resolved) -> str:
        spec = node.spec
        store = self._b.store
        if node.hooks.base_task_factory is not None:
            made = node.hooks.base_task_factory(node)
            task_id = str(getattr(made, "id", made))
            store.update_task(task_id, parent=self._ctx.run_id)
        else:
            base_id = spec.base_task_id
            if base_id is None and self._ctx.base_task_lookup is not None:
                base_id = self._ctx.base_task_lookup(node)
            if not base_id:
                raise ExecutionError(f"step '{spec.name}' has no base task; give base_task_id or a factory")
            base = store.get_task(base_id)
            task_id = self._clone(base, node)
        params = [Param(*split_key(k), v, type(v).__name__) for k, v in resolved.parameters.items()]
        with store.batch():
            if params:
                store.set_params(task_id, params)
            for name, value in resolved.configurations.items():
                text = value if isinstance(value, str) else json.dumps(value, indent=2)
                store.set_config(
                    task_id, ConfigObject(name, text, "text" if isinstance(value, str) else "dictionary")
                )
            if resolved.task_overrides:
                _apply_overrides(store.get_task(task_id), resolved.task_overrides, self._b)
        return task_id

    def _clone(self, base: TaskRecord, node: Node) -> str:
        store = self._b.store
        record = TaskRecord(
            id=new_id(),
            name=node.spec.task_name or node.spec.name,
            project=base.project if self._ctx.step_project == "" else self._ctx.step_project,
            task_type=base.task_type,
            parent=self._ctx.run_id,
            tags=self._tags(node, base.tags),
            comment=base.comment,
            script=base.script,
            runtime={"pipeline_step": node.spec.name, "base_task": base.id, **_placement(node.spec, base)},
            output_uri=node.spec.output_uri or base.output_uri or self._ctx.output_uri or "",
        )
        with store.batch():
            store.create_task(record)
            store.set_params(record.id, store.get_params(base.id))
            for cfg in store.get_configs(base.id):
                store.set_config(record.id, cfg)
        return record.id

    # -- cache key -----------------------------------------------------------------------------

    def key(self, node: Node, task_id: str, resolved: Resolved) -> CacheKey:
        """The cache key of the created step task (for a function step that does not cache:
        an empty key, computed from nothing: no reads, no hashing)."""
        store = self._b.store
        if node.spec.kind == "function":
            if not node.spec.cache:
                return CacheKey(key="", reason="caching is off for this step")
            if resolved.inputs or resolved.kwargs:
                self._b.artifacts.flush()  # input hashes are known once their writes landed
            inputs = {arg: self._input_hash(inp) for arg, inp in resolved.inputs.items()}
            # nested inputs are keyed by their content, not by the id of the task that made them
            params = {
                f"{KWARGS}/{k}": map_inputs(v, lambda ref: {"hash": self._input_hash(ref)})
                for k, v in resolved.kwargs.items()
            }
            return make_key(code=node.spec.function_source, params=params, inputs=inputs, configs={})
        record = store.get_task(task_id)
        code, reason = script_code(record.script)
        if not code:
            return CacheKey(key="", reason=reason)
        params = store.get_param_dict(task_id)
        configs = {c.name: c.value for c in store.get_configs(task_id)}
        return make_key(code=code, params=params, inputs=resolved.input_hashes, configs=configs)

    def _input_hash(self, ref: ArtifactInput) -> str:
        for rec in self._b.store.get_artifacts(ref.task_id):
            if rec.name == ref.name:
                return rec.hash
        params = self._b.store.get_param_dict(ref.task_id)
        return "value:" + json.dumps(params.get(f"{RETURN}/{ref.name}"), sort_keys=True, default=repr)


def _placement(spec: StepSpec, base: TaskRecord | None = None) -> dict[str, JSONValue]:
    """The step's ``runtime["resources"]`` and ``runtime["docker"]`` (what a launcher or an
    agent places it by); a cloned step keeps its base task's when it names none of its own."""
    out: dict[str, JSONValue] = {}
    inherited = base.runtime if base is not None else {}
    resources = spec.resources or inherited.get("resources")
    if resources:
        out["resources"] = dict(resources) if isinstance(resources, dict) else resources
    docker = spec.docker or inherited.get("docker")
    if docker:
        out["docker"] = docker
    return out


def _jsonable(value: Any, step: str, arg: str) -> JSONValue:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        raise ExecutionError(
            f"step '{step}': argument '{arg}' resolved to a {type(value).__name__}, which cannot be stored "
            "as a parameter; pass it as an object argument (it is then stored as an artifact)"
        ) from None
    return value  # type: ignore[no-any-return]


def _pickle_function(node: Node, ctx: RunContext) -> str:
    import cloudpickle

    try:
        function = node.hooks.function
        # cloudpickle names the code of functions it sends by value "<dynamic-code>"; the real
        # file travels alongside so the step's tracebacks point at the user's file and lines
        filename = getattr(getattr(function, "__code__", None), "co_filename", "")
        payload = (function, tuple(node.spec.function_return), ctx.serialize, ctx.deserialize, filename)
        try:
            with by_value(function):  # the process running the step may not have the user's module
                data = cloudpickle.dumps(payload)
        except Exception:  # a global the function uses cannot travel: by reference, as before
            data = cloudpickle.dumps(payload)
    except Exception as exc:  # any pickling failure means the same thing to the user
        raise ExecutionError(
            f"step '{node.name}': its function cannot be sent to another process ({exc}); "
            "define it at module "
            "level, or run the pipeline in-process"
        ) from exc
    return base64.b64encode(data).decode()


FunctionPayload = tuple[
    Callable[..., Any], tuple[str, ...], Callable[[Any], bytes] | None, Callable[[bytes], Any] | None
]


def load_function(payload: str) -> FunctionPayload:
    """Inverse of the payload written for a function step: the function, its return names and
    the pipeline's artifact (de)serialization functions."""
    import cloudpickle

    data = cloudpickle.loads(base64.b64decode(payload))
    if not (isinstance(data, tuple) and len(data) in (4, 5) and callable(data[0])):
        raise ExecutionError("the stored function payload is not a taskmill step function")
    function, returns, serialize, deserialize = data[:4]
    filename = data[4] if len(data) == 5 else ""
    code = getattr(function, "__code__", None)
    if filename and isinstance(code, CodeType) and code.co_filename == _DYNAMIC_CODE:
        function.__code__ = _with_filename(code, str(filename))
    return function, returns, serialize, deserialize


#: the file name cloudpickle gives the code of functions it sends by value
_DYNAMIC_CODE = "<dynamic-code>"


def _with_filename(code: CodeType, filename: str) -> CodeType:
    """``code`` (and the code of functions, lambdas and comprehensions inside it) renamed to
    ``filename``; line numbers are already the original ones."""
    consts = tuple(_with_filename(c, filename) if isinstance(c, CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


def _apply_overrides(record: TaskRecord, overrides: Mapping[str, Any], backend: Backend) -> None:
    """ClearML-style dotted task field overrides (``script.branch``, ``name``, ``tags`` ...)."""
    script = record.script.to_dict()
    fields: dict[str, Any] = {}
    aliases = {"version_num": "commit", "repository": "repository", "entry_point": "entry_point"}
    for key, value in overrides.items():
        head, _, rest = key.partition(".")
        if head == "script" and rest:
            sub = rest.split(".")[0]
            if sub == "requirements":
                script["requirements"] = "" if value is None else str(value)
            else:
                script[aliases.get(sub, sub)] = "" if value is None else str(value)
        elif head in ("name", "comment", "project", "output_uri"):
            fields[head] = str(value)
        elif head in ("tags", "system_tags"):
            fields[head] = list(value) if isinstance(value, (list, tuple)) else [str(value)]
        elif head == "type":
            fields["task_type"] = str(value)
        else:
            # container/execution fields have no meaning for local runs; keep them visible
            fields.setdefault("runtime", {})[f"override:{key}"] = value
    fields["script"] = ScriptInfo.from_dict(script)
    backend.store.update_task(record.id, **fields)
