"""ClearML's public pipeline examples, and pipelines written the way public ClearML projects write
them, all our own programs with ClearML's import lines changed (``tests/compat/clearml_examples/``),
each run as a real process in three modes:

* ``debug``: steps as plain calls in the script's process (``PipelineDecorator.debug_pipeline()``;
  a PipelineController, which has no debug mode in ClearML, is debugged with
  ``TASKMILL_PIPELINE_MODE=debug``);
* ``local``: steps as local processes (``run_locally()`` /
  ``start_locally(run_pipeline_steps_locally=True)``);
* ``remote``: ``start(queue="services")`` against a real ``taskmill server`` (SQLite) with a
  ``services`` agent running the controller and a ``default`` agent running the steps.

Each case asserts what the run stored (run and step status, step values, datasets, models), read
back through ClearML's API (``Task.get_task``, ``Dataset.get``) and ``taskmill pipelines --json``.
The server and its agents are shared by the remote cases (module scope) to keep the suite short.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from taskmill import Dataset, Task
from taskmill.api.session import PROCESS
from tests.processes import Processes, free_port

EXAMPLES = Path(__file__).resolve().parent / "clearml_examples"
BIN = Path(sys.executable).parent
TASKMILL = str(BIN / "taskmill")
MODES = ("debug", "local", "remote")
SCRIPT_TIMEOUT = 120.0
REMOTE_TIMEOUT = 120.0
FINAL = frozenset({"completed", "failed", "stopped", "published"})


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    env.update(extra)
    return env


@dataclass
class Remote:
    """A running server and its two agents (``services``, ``default``)."""

    url: str
    logs: Path
    #: runs already checked by a case: the server is shared, so each case only looks at its own
    seen: set[str] = field(default_factory=set)


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Remote]:
    """``taskmill server`` on SQLite and two ``taskmill agent`` processes, for the whole module."""
    root = tmp_path_factory.mktemp("clearml-remote")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with Processes(root) as procs:

        def start(name: str, args: list[str], home: Path, **extra: str) -> None:
            # in its home: steps an agent runs write their files (the examples' ./dataset.csv) there
            home.mkdir(parents=True, exist_ok=True)
            procs.start(name, [TASKMILL, *args], _clean_env(TASKMILL_HOME=str(home), **extra), cwd=home)

        start(
            "server",
            [
                "server",
                "--no-auth",
                "--port",
                str(port),
                "--store",
                f"sqlite:///{root / 'server.db'}",
                "--artifacts",
                str(root / "server-artifacts"),
            ],
            root / "server-home",
        )
        _wait(lambda: _reachable(port), 30, "the server to listen")
        for name, args in (
            ("services", ["--queue", "services", "--services-mode"]),
            ("default", ["--queue", "default"]),
        ):
            start(
                f"agent-{name}",
                ["agent", *args, "--create-queue", "--id", f"agent-{name}", "--heartbeat", "0.5"],
                root / f"agent-{name}-home",
                TASKMILL_STORE=url,
            )
        yield Remote(url, root)


def _reachable(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait(check: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.25)


@dataclass
class Place:
    """Where one case runs: its scripts' folder, the environment of its processes."""

    mode: str
    workdir: Path
    env: dict[str, str]
    remote: Remote | None = None
    seen: set[str] = field(default_factory=set)

    def cli(self, *args: str) -> Any:
        """``taskmill ARGS --json``, parsed."""
        out = subprocess.run(
            [TASKMILL, *args, "--json"], env=self.env, capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stdout + out.stderr
        return json.loads(out.stdout)

    def run(self, script: str, *args: str, env: dict[str, str] | None = None) -> str:
        """Run ``script`` here to its end; its output (it must exit 0)."""
        out = subprocess.run(
            [sys.executable, script, *args],
            cwd=self.workdir,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT,
        )
        text = out.stdout + out.stderr
        assert out.returncode == 0, f"{script} {' '.join(args)} exited {out.returncode}:\n{text}"
        return text

    def run_ids(self, project: str, pipeline: str) -> list[str]:
        """Ids of the runs of ``pipeline`` (newest first), [] when it has none yet."""
        out = subprocess.run(
            [TASKMILL, "pipelines", "runs", pipeline, "--project", project, "--json"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return [r["id"] for r in json.loads(out.stdout)] if out.returncode == 0 else []

    def new_runs(self, project: str, pipeline: str, count: int) -> list[dict[str, Any]]:
        """The ``count`` runs of ``pipeline`` started since the last call, once they ended
        (``pipelines show --json`` of each, oldest first). Remote runs are waited for."""
        timeout = REMOTE_TIMEOUT if self.remote else 10.0
        fresh: list[str] = []

        def ended() -> bool:
            fresh[:] = [i for i in self.run_ids(project, pipeline) if i not in self.seen]
            if len(fresh) < count:
                return False
            return all(self.cli("pipelines", "show", i)["status"] in FINAL for i in fresh)

        try:
            _wait(ended, timeout, f"{count} run(s) of {pipeline!r} to end")
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.agent_logs()}") from None
        self.seen.update(fresh)
        return [self.cli("pipelines", "show", i) for i in reversed(fresh)]

    def agent_logs(self) -> str:
        if self.remote is None:
            return ""
        return "\n".join(
            f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.remote.logs.glob("*.log"))
        )


#: (test, mode) -> what taskmill lacks for it; those cases are strict xfails
GAPS: dict[tuple[str, str], str] = {}


@pytest.fixture(params=MODES)
def place(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Place]:
    """The examples copied to a fresh folder, and a taskmill home (debug, local) or the shared
    server (remote) for the scripts and for this process's ``Task.get_task``."""
    mode: str = request.param
    gap = GAPS.get((request.node.originalname, mode))
    if gap:
        request.applymarker(pytest.mark.xfail(strict=True, reason=gap))
    workdir = tmp_path / "examples"
    shutil.copytree(EXAMPLES, workdir, ignore=shutil.ignore_patterns("__pycache__", "*.md"))
    home = tmp_path / "home"
    extra = {"TASKMILL_HOME": str(home)}
    server = None
    if mode == "remote":
        server = request.getfixturevalue("remote")
        extra["TASKMILL_STORE"] = server.url
    for var in ("TASKMILL_STORE", "TASKMILL_ARTIFACTS", "TASKMILL_TASK_ID", "TASKMILL_OUTPUT_URI"):
        monkeypatch.delenv(var, raising=False)
    for var, value in extra.items():
        monkeypatch.setenv(var, value)
    PROCESS.reset()
    yield Place(mode, workdir, _clean_env(**extra), server, server.seen if server else set())
    PROCESS.reset()


def launch(place: Place, script: str, kind: str, *args: str) -> str:
    """Run an example script (with ``args``) the way its mode says (see the module docstring)."""
    if place.mode == "remote":
        return place.run(script, "--mode", "remote", *args)
    if place.mode == "debug" and kind == "controller":
        return place.run(script, "--mode", "local", *args, env={"TASKMILL_PIPELINE_MODE": "debug"})
    return place.run(script, "--mode", place.mode, *args)


def steps(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in run["steps"]}


def describe(run: dict[str, Any]) -> str:
    """A run's status, its steps' and, for failed steps, the end of their console output."""
    lines = [f"run {run['id']}: {run['status']} {run['message']}"]
    for step in run["steps"]:
        lines.append(f"  {step['name']}: {step['status']} {step['message']}")
        if step["status"] == "failed" and step["task_id"]:
            lines.extend("    | " + line for line in console(step["task_id"]).splitlines()[-15:])
    return "\n".join(lines)


def completed(run: dict[str, Any], names: set[str]) -> dict[str, dict[str, Any]]:
    """Assert the run and exactly the steps ``names`` completed; the steps by name."""
    by_name = steps(run)
    detail = describe(run)
    assert run["status"] == "completed", detail
    assert set(by_name) == names, detail
    assert {s["status"] for s in by_name.values()} == {"completed"}, detail
    return by_name


def value(task_id: str, name: str) -> Any:
    """A step's stored return value, as ClearML code reads it: the step task's artifact, else
    (small values) its ``return/<name>`` parameter."""
    task = Task.get_task(task_id=task_id)
    if name in task.artifacts:
        return task.artifacts[name].get()
    params = task.get_parameters()
    assert f"return/{name}" in params, f"task {task_id} stored no value {name!r}: {params}"
    return params[f"return/{name}"]


def console(task_id: str) -> str:
    return "\n".join(Task.get_task(task_id=task_id).get_reported_console_output())


# --- the examples ------------------------------------------------------------------------


def test_pipeline_from_decorator(place: Place) -> None:
    launch(place, "pipeline_from_decorator.py", "decorator")
    (run,) = place.new_runs("examples", "custom pipeline logic", 1)
    by = completed(run, {"step_one", "step_two", "step_three", "step_four"})
    frame = value(by["step_one"]["task_id"], "data_frame")
    assert frame.shape == (150, 5) and "label" in frame.columns
    assert len(value(by["step_two"]["task_id"], "X_test")) == 30
    model = value(by["step_three"]["task_id"], "model")
    assert type(model).__name__ == "LogisticRegression"
    accuracy = value(by["step_four"]["task_id"], "accuracy")
    assert 0.9 <= accuracy <= 1.0
    assert f"Accuracy={100 * accuracy}%" in console(run["id"])
    assert run["params"]["dataset_name"] == "load_iris"


def test_pipeline_from_functions(place: Place) -> None:
    launch(place, "pipeline_from_functions.py", "controller")
    (run,) = place.new_runs("examples", "Pipeline demo", 1)
    by = completed(run, {"step_one", "step_two", "step_three"})
    X_train, X_test, _, y_test = value(by["step_two"]["task_id"], "processed_data")
    assert (len(X_train), len(X_test)) == (120, 30)
    model = value(by["step_three"]["task_id"], "model")
    assert model.score(X_test, y_test) >= 0.9
    assert (
        Task.get_task(task_id=by["step_one"]["task_id"]).get_parameters()["kwargs/dataset_name"]
        == "load_iris"
    )


def test_pipeline_from_tasks(place: Place) -> None:
    # as in ClearML: run each step script once to register it (execute_remotely() leaves a draft)
    for script in ("step1_dataset_artifact.py", "step2_data_processing.py", "step3_train_model.py"):
        place.run(script)
    launch(place, "pipeline_from_tasks.py", "controller")
    (run,) = place.new_runs("examples", "Pipeline demo", 1)
    by = completed(run, {"stage_data", "stage_process", "stage_train"})
    process = Task.get_task(task_id=by["stage_process"]["task_id"])
    assert float(process.get_parameters()["General/test_size"]) == 0.25
    data_url = process.get_parameters()["General/dataset_url"]
    assert data_url == Task.get_task(task_id=by["stage_data"]["task_id"]).artifacts["dataset"].url
    assert len(process.artifacts["X_test"].get()) == 38  # 25 % of 150
    log = console(run["id"])
    assert f"Completed Task id={process.id}" in log and "Cloning Task id=" in log
    train = Task.get_task(task_id=by["stage_train"]["task_id"])
    assert train.get_parameters()["General/dataset_task_id"] == process.id
    assert "model score: 1.0" in console(train.id)
    # ClearML's auto-logging: the joblib.dump'ed model is an output model, plt.show() a plot
    assert train.models["output"], "joblib.dump did not register an output model"
    assert train.get_reported_plots(), "plt.show() did not record a plot"


def test_decorated_pipeline_step_decorators(place: Place) -> None:
    out = launch(place, "decorated_pipeline_step_decorators.py", "decorator")
    (run,) = place.new_runs("test_decorated", "test_decorated", 1)
    assert run["status"] == "completed" and len(run["steps"]) == 1, describe(run)
    (only,) = run["steps"]
    assert value(only["task_id"], "return_object") == 2  # the user's decorator ran inside the step
    assert "step returned 2" in (out if place.mode != "remote" else console(run["id"]))
    # ClearML names the step after the wrapped function (it unwraps the closure), not the wrapper
    assert only["name"] == "step"


def test_decorated_pipeline_step_functions(place: Place) -> None:
    launch(place, "decorated_pipeline_step_functions.py", "controller")
    (run,) = place.new_runs("test_decorated", "test_decorated_functions", 1)
    by = completed(run, {"step", "evaluate"})
    assert value(by["step"]["task_id"], "step_return") == 2
    assert value(by["evaluate"]["task_id"], "checked") == 20


def test_pipeline_from_decorator_nested(place: Place) -> None:
    launch(place, "pipeline_from_decorator_nested.py", "decorator")
    (run,) = place.new_runs("examples", "nested components", 1)
    by = steps(run)
    assert run["status"] == "completed", describe(run)
    assert len(by) == 3 and {s["status"] for s in by.values()} == {"completed"}, by
    outer = by["summarize"]
    inner = {name: s for name, s in by.items() if name != "summarize"}
    assert {n.rsplit("_", 1)[-1] for n in inner} >= {"squares", "up"}, inner  # make_squares, add_up
    assert all("summarize" in s["parents"] for s in inner.values()), inner
    squares = next(s for n, s in inner.items() if n.endswith("make_squares"))
    assert value(squares["task_id"], "squares") == [0, 1, 4, 9, 16]
    assert value(outer["task_id"], "report") == {"count": 5, "total": 30}


def test_pipeline_multi_instance(place: Place) -> None:
    launch(place, "pipeline_multi_instance.py", "decorator")
    runs = place.new_runs("examples", "multi instance", 2)
    totals = {}
    for run in runs:
        by = completed(run, {"scale", "total"})
        totals[run["params"]["factor"]] = value(by["total"]["task_id"], "total")
    assert totals == {2: 20, 3: 30}


def test_tabular_data_pipeline(place: Place) -> None:
    launch(place, "tabular_data_pipeline.py", "decorator")
    (run,) = place.new_runs("tabular_pipe_demo", "tabular_pipeline", 1)
    by = completed(
        run,
        {
            "create_dataset",
            "preprocess_dataset",
            "verify_dataset_integrity",
            "train_model",
            "train_model_1",
            "select_best_model",
        },
    )
    raw_id = value(by["create_dataset"]["task_id"], "return_object")
    v2_id = value(by["preprocess_dataset"]["task_id"], "return_object")
    raw, v2 = Dataset.get(dataset_id=raw_id), Dataset.get(dataset_id=v2_id)
    assert v2.name == "mock v2" and raw_id in v2.get_parents()
    frame = pd.read_csv(Path(v2.get_local_copy()) / "dataset.csv")
    assert frame.shape == (442, 11) and frame.columns[0] == "age"
    # the preview tables went to each dataset's own logger
    for ds in (raw, v2):
        plots = Task.get_task(task_id=ds.id).get_reported_plots()
        assert any(p.get("metric") == "sample" or "sample" in json.dumps(p)[:500] for p in plots), plots
    assert value(by["verify_dataset_integrity"]["task_id"], "return_object") is True
    scores = [value(by[name]["task_id"], "return_object") for name in ("train_model", "train_model_1")]
    for name, score in zip(("train_model", "train_model_1"), scores, strict=True):
        assert score["model_id"] == Task.get_task(task_id=by[name]["task_id"]).models["output"][-1].id
    best = min(scores, key=lambda s: s["error"])
    chosen = value(by["select_best_model"]["task_id"], "return_object")
    assert f"The best model is {best}" in console(by["select_best_model"]["task_id"])
    # ClearML's OutputModel(base_model_id=X) reuses model X (its id stays X), here X is another task's
    assert chosen == best["model_id"]


def test_full_custom_pipeline(place: Place) -> None:
    launch(place, "full_custom_pipeline.py", "decorator")
    (run,) = place.new_runs("examples_custom", "full custom pipeline", 1)
    by = completed(run, {"load_table", "split_table", "fit_model"})
    frame = value(by["load_table"]["task_id"], "data_frame")
    assert frame.shape == (150, 5) and frame.columns[-1] == "target"
    _, X_test, _, _ = value(by["split_table"]["task_id"], "processed_data")
    # fit_model got the pipeline logic's changed copy (X_test doubled), not split_table's values
    doubled = 2 * float(X_test.iloc[0, 0])
    assert value(by["fit_model"]["task_id"], "first_test_value") == doubled
    assert type(value(by["fit_model"]["task_id"], "model")).__name__ == "LogisticRegression"
    assert f"pipeline completed with model: LogisticRegression(max_iter=500) ({doubled})" in console(
        run["id"]
    )


def test_pipeline_controller_callbacks(place: Place) -> None:
    launch(place, "pipeline_controller_callbacks.py", "controller")
    (run,) = place.new_runs("examples_callbacks", "callbacks demo", 1)
    by = completed(run, {"make_numbers", "square", "cube", "combine"})
    assert set(by["combine"]["parents"]) == {"square", "cube"}
    assert value(by["square"]["task_id"], "values") == [0, 1, 4, 9]
    assert value(by["combine"]["task_id"], "total") == 14 + 36
    log = console(run["id"])
    for name in ("square", "cube", "combine"):
        assert f"Completed Task id={by[name]['task_id']} ({name})" in log, log
    assert "Cloning Task id=" in log and "make_numbers" not in {
        line.rsplit("(", 1)[-1].rstrip(")") for line in log.splitlines() if line.startswith("Completed")
    }


def test_dataset_pipeline(place: Place) -> None:
    launch(place, "dataset_pipeline.py", "controller")
    (run,) = place.new_runs("examples_data", "data pipeline", 1)
    by = completed(run, {"ingest", "clean", "summarize"})
    dataset = Dataset.get(dataset_id=value(by["ingest"]["task_id"], "dataset_id"))
    assert (dataset.project, dataset.name) == ("examples_data", "wine raw")
    assert dataset.list_files() == ["wine.csv"]
    rows = int(value(by["clean"]["task_id"], "rows"))
    clean = Task.get_task(task_id=by["clean"]["task_id"])
    assert len(clean.artifacts["clean_table"].get()) == rows
    scalars = clean.get_reported_scalars()
    assert scalars["rows"]["kept"]["y"] == [rows]
    assert value(by["summarize"]["task_id"], "summary") == {"rows": rows, "classes": [0, 1, 2]}


def test_pipeline_fan_out(place: Place) -> None:
    launch(place, "pipeline_fan_out.py", "decorator")
    (run,) = place.new_runs("examples_fan", "fan out", 1)
    by = steps(run)
    assert run["status"] == "completed", describe(run)
    evaluations = sorted(n for n in by if n.startswith("evaluate"))
    assert len(evaluations) == 3 and set(by) == {"bounds", "pick_best", *evaluations}, by
    assert {s["status"] for s in by.values()} == {"completed"}, describe(run)
    assert value(by["bounds"]["task_id"], "low") == 1 and value(by["bounds"]["task_id"], "high") == 9
    scores = [value(by[n]["task_id"], "score") for n in evaluations]
    assert all(10 <= s <= 90 for s in scores), scores
    best = value(by["pick_best"]["task_id"], "best")
    assert best["score"] == max(scores)
    assert set(by["pick_best"]["parents"]) == set(evaluations)


def test_pipeline_cached_rerun(place: Place) -> None:
    launch(place, "pipeline_cached_rerun.py", "decorator", "--label", "first")
    (first,) = place.new_runs("examples_cache", "cached rerun", 1)
    launch(place, "pipeline_cached_rerun.py", "decorator", "--label", "second")
    (second,) = place.new_runs("examples_cache", "cached rerun", 1)
    one, two = completed(first, {"make_rows", "count_evens"}), steps(second)
    assert second["status"] == "completed", describe(second)
    # unchanged code and arguments: the second run reuses the first run's task
    assert two["make_rows"]["status"] == "cached", describe(second)
    assert two["make_rows"]["task_id"] == one["make_rows"]["task_id"]
    assert two["count_evens"]["status"] == "completed"
    assert two["count_evens"]["task_id"] != one["count_evens"]["task_id"]
    assert value(one["count_evens"]["task_id"], "evens") == {"first": 3}
    assert value(two["count_evens"]["task_id"], "evens") == {"second": 3}


def test_pipeline_skip_step(place: Place) -> None:
    launch(place, "pipeline_skip_step.py", "controller")
    (run,) = place.new_runs("examples_skip", "skip demo", 1)
    by = steps(run)
    assert run["status"] == "completed", describe(run)
    assert {n: s["status"] for n, s in by.items()} == {
        "prepare": "completed",
        "expensive_report": "skipped",
        "cheap_report": "completed",
    }, describe(run)
    assert by["expensive_report"]["task_id"] is None  # never created, never run
    assert value(by["cheap_report"]["task_id"], "report") == {"count": 5, "total": 10}
