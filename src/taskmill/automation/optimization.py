"""``HyperParameterOptimizer``: ClearML's hyper-parameter search over a base task or pipeline.

Each trial is a clone of ``base_task_id`` (a task, or a pipeline run: its ``Args/`` parameters
are the pipeline's) with the strategy's parameters set, run on ``execution_queue`` by an agent
(``start()``), as a local process (``start_locally()``), or as ``trial_function(task, params)`` on
a thread here (see :mod:`taskmill.automation.trials`). At most ``max_number_of_concurrent_tasks``
run at once. The objective is read from each trial's reported scalars
(``objective_metric_title/series``; sign ``min``/``max`` use the last value, ``min_global``/
``max_global`` the best one; several objectives need ``OptimizerOptuna``).

Limits (ClearML's units): ``optimization_time_limit`` and ``compute_time_limit`` (sum of the
trials' run times) in minutes end the search and stop running trials; per trial,
``time_limit_per_job`` (minutes of running), ``max_iteration_per_job`` (reported iterations) stop
it, its objective so far still counts; ``total_max_jobs`` caps the number of trials.
``save_top_k_tasks_only=k`` archives every trial that falls out of the best k.

The optimizer runs on a background thread: ``start()`` returns at once, ``wait()`` blocks until
the search ends, ``stop()`` ends it early. It checks its trials when one changes status (the
store's event feed) and at least every ``pool_period_min`` (at most 5 s here).

Differences from ClearML: the optimization always has a task (the current task, the
``auto_connect_task`` one, or a new ``optimizer`` task in the base task's project) and every trial
is its child, so ``get_optimizer_top_experiments(optimizer_task_id=...)`` and the CLI find them;
the search definition is recorded in it (section ``opt`` and configuration ``hyper_parameters``)
but not read back; ``set_default_job_class`` is not supported (see :mod:`.trials` for the ways
trials run).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from taskmill.api.session import PROCESS
from taskmill.api.task import Task
from taskmill.automation.objective import Objective
from taskmill.automation.parameters import Parameter
from taskmill.automation.strategies import GridSearch, RandomSearch, SearchStrategy
from taskmill.automation.trials import (
    FunctionRunner,
    LocalRunner,
    QueueRunner,
    Runner,
    Trial,
    TrialFunction,
    TrialSpec,
)
from taskmill.core.states import TaskStatus, TaskTypes
from taskmill.core.stored import OPTIMIZATION_TAG

__all__ = ["GridSearch", "HyperParameterOptimizer", "Objective", "RandomSearch", "SearchStrategy"]

logger = logging.getLogger("taskmill.automation")

JobCallback = Callable[[str, float, int, dict[str, Any], str], Any]
_MAX_WAIT = 5.0
_CLOSE_TIMEOUT = 10.0  #: seconds stop() waits for function trials to return


def _listify(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


class HyperParameterOptimizer:
    """Search hyper-parameters of a base task by launching and scoring trials (see module docs)."""

    _tag = OPTIMIZATION_TAG

    def __init__(
        self,
        base_task_id: str | None,
        hyper_parameters: Sequence[Parameter],
        objective_metric_title: str | Sequence[str],
        objective_metric_series: str | Sequence[str],
        objective_metric_sign: str | Sequence[str] = "min",
        optimizer_class: type[SearchStrategy] | SearchStrategy = RandomSearch,
        max_number_of_concurrent_tasks: int = 10,
        execution_queue: str = "default",
        optimization_time_limit: float | None = None,
        compute_time_limit: float | None = None,
        auto_connect_task: bool | Task = True,
        always_create_task: bool = False,
        spawn_project: str | None = None,
        save_top_k_tasks_only: int | None = None,
        *,
        trial_function: TrialFunction | None = None,
        **optimizer_kwargs: Any,
    ) -> None:
        """Define the search (nothing runs until ``start``). ``optimizer_kwargs`` go to the
        strategy: ``total_max_jobs``, ``time_limit_per_job``, ``min_iteration_per_job``,
        ``max_iteration_per_job``, ``pool_period_min``, ``random_seed`` ...

        ValueError for mismatched objective lists, several objectives without OptimizerOptuna,
        or neither a base task nor a ``trial_function``.
        """
        titles, series, signs = (
            _listify(v) for v in (objective_metric_title, objective_metric_series, objective_metric_sign)
        )
        if not isinstance(objective_metric_title, str) and not (len(titles) == len(series) == len(signs)):
            raise ValueError("objective_metric_title, _series and _sign must be lists of the same length")
        if isinstance(objective_metric_title, str) != isinstance(objective_metric_series, str):
            raise TypeError(
                "objective_metric_title and objective_metric_series must both be strings or both lists"
            )
        self._objectives = [
            Objective.from_sign(t, s, g) for t, s, g in zip(titles, series, signs, strict=True)
        ]
        if not base_task_id and trial_function is None:
            raise ValueError(
                "HyperParameterOptimizer needs base_task_id (the task to clone) or trial_function="
            )
        self.base_task_id = base_task_id
        self.hyper_parameters = list(hyper_parameters)
        self.max_number_of_concurrent_tasks = max(1, int(max_number_of_concurrent_tasks))
        self.execution_queue = execution_queue
        self._trial_function = trial_function
        base = Task.get_task(task_id=base_task_id) if base_task_id else None
        self._base_name = base.name if base is not None else getattr(trial_function, "__name__", "trial")
        self._spawn_project = spawn_project or (base.project if base is not None else "default")
        if isinstance(optimizer_class, SearchStrategy):
            self.optimizer = optimizer_class
        else:
            if len(self._objectives) > 1 and not getattr(optimizer_class, "multi_objective", False):
                raise ValueError(
                    "several objectives need optimizer_class=OptimizerOptuna "
                    "(from taskmill.automation.optuna; pip install 'taskmill[optuna]')"
                )
            self.optimizer = optimizer_class(
                base_task_id=base_task_id,
                hyper_parameters=self.hyper_parameters,
                objective_metric=self._objectives[0] if len(self._objectives) == 1 else self._objectives,
                execution_queue=execution_queue,
                num_concurrent_workers=self.max_number_of_concurrent_tasks,
                compute_time_limit=compute_time_limit,
                **optimizer_kwargs,
            )
        self._compute_limit = (
            compute_time_limit if compute_time_limit is not None else self.optimizer.compute_time_limit
        )
        self._task = self._optimizer_task(auto_connect_task, always_create_task, base)
        self._task.add_tags([self._tag])
        if auto_connect_task:
            self._record_definition(optimizer_kwargs)
        self.optimizer.set_optimizer_task(self._task)
        self.optimizer.set_job_default_parent(self._task.id, project_name=spawn_project)
        self.optimizer._top = self.get_top_experiments
        self._save_top_k = max(0, int(save_top_k_tasks_only or 0))
        self._deadline: float | None = None
        self._pending_limit: float | None = None
        self._started_at: float | None = None
        self.set_time_limit(in_minutes=optimization_time_limit)
        self._trials: list[Trial] = []
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._done = threading.Event()
        self._callback: JobCallback | None = None
        self._runner: Runner | None = None
        self._report_period = 5.0
        self.error: BaseException | None = None  #: what ended the search early, if anything

    # == setup ===============================================================================

    def _optimizer_task(self, auto_connect: bool | Task, always_create: bool, base: Task | None) -> Task:
        if isinstance(auto_connect, Task):
            return auto_connect
        current = Task.current_task()
        if current is not None and not always_create:
            return current
        name = f"Optimizing: {self._base_name}"
        return Task.create(project_name=self._spawn_project, task_name=name, task_type=TaskTypes.optimizer)

    def _record_definition(self, optimizer_kwargs: dict[str, Any]) -> None:
        opts: dict[str, Any] = {
            "opt/base_task_id": self.base_task_id or "",
            "opt/objective_metric_title": [o.title for o in self._objectives],
            "opt/objective_metric_series": [o.series for o in self._objectives],
            "opt/objective_metric_sign": [
                o.order + ("_global" if o.extremum else "") for o in self._objectives
            ],
            "opt/optimizer_class": type(self.optimizer).__name__,
            "opt/max_number_of_concurrent_tasks": self.max_number_of_concurrent_tasks,
            "opt/execution_queue": self.execution_queue,
        }
        opts.update(
            {f"opt/{k}": v for k, v in optimizer_kwargs.items() if isinstance(v, (int, float, str, bool))}
        )
        self._task.update_parameters(opts)
        self._task.set_configuration_object(
            "hyper_parameters", config_dict={"parameters": [p.to_dict() for p in self.hyper_parameters]}
        )

    # == running =============================================================================

    def start(self, job_complete_callback: JobCallback | None = None) -> bool:
        """Start the search on a background thread (trials on ``execution_queue``); returns True.
        ``job_complete_callback(job_id, objective_value, objective_iteration, job_parameters,
        top_performance_job_id)`` is called after each trial."""
        return self._start(job_complete_callback, local=False)

    def start_locally(self, job_complete_callback: JobCallback | None = None) -> bool:
        """Like :meth:`start`, but every trial runs as a child process of this one."""
        return self._start(job_complete_callback, local=True)

    def _start(self, callback: JobCallback | None, local: bool) -> bool:
        if self._thread is not None:
            return True
        spec = TrialSpec(
            base_task_id=self.base_task_id,
            project=self._spawn_project,
            parent=self._task.id,
            tags=[self._tag, f"opt: {self._task.id}"],
        )
        if self._trial_function is not None:
            self._runner = FunctionRunner(spec, self._trial_function)
        elif local:
            self._runner = LocalRunner(spec)
        else:
            self._runner = QueueRunner(spec, self.execution_queue)
        self._callback = callback
        self._started_at = time.time()
        if self._deadline is None and self._pending_limit is not None:
            self._deadline = self._started_at + self._pending_limit * 60
        if self._task.status in (TaskStatus.created, TaskStatus.queued):
            self._task.mark_started(force=True)
        self._stop.clear()
        self._done.clear()
        self._thread = threading.Thread(target=self._run, name="taskmill-hpo", daemon=True)
        self._thread.start()
        return True

    def _run(self) -> None:
        try:
            exhausted = False
            store = PROCESS.session().store
            while not self._stop.is_set():
                cursor = store.last_event_id()  # before reading: a change after it wakes the wait
                self._refresh()
                if self._limits_reached():
                    break
                exhausted = self._fill() or exhausted
                with self._lock:
                    running = [t for t in self._trials if not t.done]
                if exhausted and not running:
                    break
                self._wait(cursor)
        except Exception as exc:  # recorded and reported: wait() returns, error says why
            self.error = exc
            logger.exception("hyper-parameter optimization failed")
            self._task.get_logger().report_text(
                f"optimization failed: {type(exc).__name__}: {exc}", print_console=False
            )
        finally:
            self._stop_running()
            if self._runner is not None:
                self._runner.close(_CLOSE_TIMEOUT)
            self._report_summary()
            if self._task.status == TaskStatus.in_progress and self._task is not Task.current_task():
                self._task.mark_completed(status_message="optimization ended")
            self._done.set()

    def _fill(self) -> bool:
        """Launch trials up to the concurrency and job limits; True once the space is exhausted."""
        assert self._runner is not None
        total = self.optimizer.total_max_jobs
        while not self._stop.is_set():
            with self._lock:
                running = sum(1 for t in self._trials if not t.done)
                count = len(self._trials)
            if running >= self.max_number_of_concurrent_tasks:
                return False
            if total is not None and count >= int(total):
                return True
            parameters = self.optimizer.suggest()
            if parameters is None:
                return True
            name = self.optimizer.trial_name(self._base_name, parameters)
            trial = self._runner.start(count, name, parameters)
            self.optimizer.bind(trial.id, parameters)
            with self._lock:
                self._trials.append(trial)
        return False

    def _refresh(self) -> None:
        assert self._runner is not None
        with self._lock:
            active = [t for t in self._trials if not t.done]
        for trial in active:
            self._runner.poll(trial)
            record = trial.task.data
            trial.status = record.status.value
            trial.started = record.started
            if record.started is not None:
                end = record.completed if record.status.is_final and record.completed else time.time()
                trial.elapsed = max(0.0, end - record.started)
            scalars = trial.task.get_reported_scalars()
            raws = [o.raw_from_scalars(scalars) for o in self._objectives]
            trial.values = [None if r is None else r[1] for r in raws]
            trial.iteration = max((r[0] for r in raws if r is not None), default=-1)
            if trial.done:
                self._finish(trial)
                continue
            self._check_trial(trial, raws[0])

    def _check_trial(self, trial: Trial, raw: tuple[int, float] | None) -> None:
        assert self._runner is not None
        limit = self.optimizer.time_limit_per_job
        why = ""
        if limit is not None and trial.started is not None and trial.elapsed > float(limit) * 60:
            why = f"ran over time_limit_per_job ({limit} min)"
        max_iter = self.optimizer.max_iteration_per_job
        if not why and max_iter is not None and trial.iteration > int(max_iter):
            why = f"passed max_iteration_per_job ({max_iter})"
        if not why and raw is not None and len(self._objectives) == 1:
            if self.optimizer.report(trial.id, raw[0], raw[1]):
                trial.pruned = True
                why = f"pruned by {type(self.optimizer).__name__} at iteration {raw[0]}"
        if why:
            self._runner.stop(trial)
            trial.task.get_logger().report_text(f"trial stopped: {why}", print_console=False)
            trial.status = TaskStatus.stopped.value
            self._finish(trial)

    def _finish(self, trial: Trial) -> None:
        trial.ended = time.time()
        values = (
            None
            if any(v is None for v in trial.values)
            else [float(v) for v in trial.values if v is not None]
        )
        state = "pruned" if trial.pruned else trial.status
        self.optimizer.tell(trial.id, values, state)
        best = self.get_top_experiments(1)
        if values is not None:
            logger_ = self._task.get_logger()
            objective = self._objectives[0]
            title = f"{objective.title}/{objective.series}"
            logger_.report_scalar(title, "trial", values[0], iteration=trial.number)
            best_value = objective.get_objective(best[0]) if best else None
            if best_value is not None:
                logger_.report_scalar(title, "best", best_value, iteration=trial.number)
        if self._save_top_k:
            self._archive_beyond_top_k()
        if self._callback is not None and values is not None:
            try:
                self._callback(
                    trial.id, values[0], trial.iteration, dict(trial.parameters), best[0].id if best else ""
                )
            except Exception:
                logger.exception("job_complete_callback raised")

    def _archive_beyond_top_k(self) -> None:
        keep = {t.id for t in self.get_top_experiments(self._save_top_k)}
        with self._lock:
            ended = [t for t in self._trials if t.done]
        for trial in ended:
            if trial.id not in keep and not trial.task.get_archived():
                trial.task.set_archived(True)

    def _limits_reached(self) -> bool:
        now = time.time()
        if self._deadline is not None and now >= self._deadline:
            self._note("optimization_time_limit reached")
            return True
        if self._compute_limit is not None:
            with self._lock:
                used = sum(t.elapsed for t in self._trials)
            if used >= float(self._compute_limit) * 60:
                self._note("compute_time_limit reached")
                return True
        return False

    def _note(self, message: str) -> None:
        logger.info("optimization %s: %s", self._task.id, message)
        self._task.get_logger().report_text(message, print_console=False)

    def _wait(self, after: int) -> None:
        seconds = min(_MAX_WAIT, max(0.01, self.optimizer.pool_period_min * 60))
        store = PROCESS.session().store
        deadline = time.monotonic() + seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            events = store.wait_events(after, timeout=min(0.5, max(0.0, deadline - time.monotonic())))
            if events:
                after = events[-1].id
                if any(e.kind == "task.status" for e in events):
                    return

    def _stop_running(self) -> None:
        if self._runner is None:
            return
        with self._lock:
            active = [t for t in self._trials if not t.done]
        for trial in active:
            self._runner.stop(trial)
            trial.status = TaskStatus.stopped.value
            trial.ended = time.time()

    def _report_summary(self) -> None:
        columns = [
            "trial",
            "task id",
            "status",
            *[f"{o.title}/{o.series}" for o in self._objectives],
            "parameters",
        ]
        rows: list[list[str]] = [columns]
        with self._lock:
            trials = list(self._trials)
        for trial in trials:
            values = [("" if v is None else f"{v:.6g}") for v in trial.values] or [""] * len(self._objectives)
            params = " ".join(f"{k}={trial.parameters[k]}" for k in sorted(trial.parameters))
            rows.append([str(trial.number), trial.id, trial.status, *values, params])
        try:
            self._task.get_logger().report_table("summary", "trials", iteration=0, table_plot=rows)
            self._task.flush()
        except Exception as exc:
            logger.warning("could not report the optimization summary: %s", exc)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the search ended (``timeout`` in minutes); True if it did."""
        if self._thread is None:
            return True
        return self._done.wait(None if timeout is None else timeout * 60.0)

    def stop(self, timeout: float | None = None, wait_for_reporter: bool | None = True) -> None:
        """End the search: no new trials, running ones are stopped. Waits up to ``timeout``
        minutes for the background thread (None: until it ended)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(None if timeout is None else timeout * 60.0)

    # == reading =============================================================================

    @property
    def objective_metric(self) -> Objective | list[Objective]:
        """The objective (a list of them for several)."""
        return self._objectives[0] if len(self._objectives) == 1 else list(self._objectives)

    def get_optimizer(self) -> SearchStrategy:
        """The search strategy."""
        return self.optimizer

    @property
    def task(self) -> Task:
        """The optimization's own task (trials are its children)."""
        return self._task

    def get_trials(self) -> list[Trial]:
        """Every trial so far, in launch order."""
        with self._lock:
            return list(self._trials)

    def _ranked(self, only_completed: bool = False) -> list[Trial]:
        with self._lock:
            ended = [t for t in self._trials if t.done and not t.pruned]
        trials = [t for t in ended if t.values and None not in t.values]
        if only_completed:
            trials = [t for t in trials if TaskStatus(t.status).succeeded]
        signs = [o.get_objective_sign() for o in self._objectives]

        def score(trial: Trial) -> tuple[float, ...]:
            return tuple(float(v or 0.0) * s for v, s in zip(trial.values, signs, strict=True))

        return sorted(trials, key=score, reverse=True)

    def get_top_experiments(self, top_k: int) -> list[Task]:
        """The ``top_k`` best ended trials' tasks, best first (several objectives: in order)."""
        return [t.task for t in self._ranked()[: max(0, top_k)]]

    def get_top_experiments_details(
        self,
        top_k: int,
        all_metrics: bool = False,
        all_hyper_parameters: bool = False,
        only_completed: bool = False,
    ) -> list[dict[str, Any]]:
        """``[{"task_id", "hyper_parameters", "metrics"}]`` of the best ``top_k`` trials:
        the searched parameters (every parameter with ``all_hyper_parameters``) and the
        objective values (every last scalar with ``all_metrics``)."""
        out = []
        for trial in self._ranked(only_completed)[: max(0, top_k)]:
            params = trial.task.get_parameters() if all_hyper_parameters else dict(trial.parameters)
            if all_metrics:
                last = trial.task.get_last_scalar_metrics()
                metrics: dict[str, Any] = {t: {s: v["last"] for s, v in ss.items()} for t, ss in last.items()}
            else:
                metrics = {
                    o.title: {o.series: v} for o, v in zip(self._objectives, trial.values, strict=True)
                }
            out.append({"task_id": trial.id, "hyper_parameters": params, "metrics": metrics})
        return out

    @classmethod
    def get_optimizer_top_experiments(
        cls,
        objective_metric_title: str | list[str],
        objective_metric_series: str | list[str],
        objective_metric_sign: str | list[str],
        optimizer_task_id: str,
        top_k: int,
    ) -> list[Task]:
        """The best ``top_k`` trials of a stored optimization (by its task id), best first."""
        title, series, sign = (
            _listify(v)[0] for v in (objective_metric_title, objective_metric_series, objective_metric_sign)
        )
        return Objective.from_sign(title, series, sign).get_top_tasks(
            top_k, optimizer_task_id=optimizer_task_id
        )

    def get_num_active_experiments(self) -> int:
        """How many trials are running or queued."""
        return len(self.get_active_experiments())

    def get_active_experiments(self) -> list[Task]:
        """The tasks of trials not ended yet."""
        with self._lock:
            return [t.task for t in self._trials if not t.done]

    def is_active(self) -> bool:
        """True while the search runs (started and not ended)."""
        return self._thread is not None and not self._done.is_set()

    def is_running(self) -> bool:
        """True while the search thread runs."""
        return self.is_active()

    def elapsed(self) -> float:
        """Minutes since ``start`` (-1 before)."""
        return -1.0 if self._started_at is None else (time.time() - self._started_at) / 60.0

    def set_time_limit(self, in_minutes: float | None = None, specific_time: datetime | None = None) -> None:
        """End the search ``in_minutes`` after it starts, or at ``specific_time``."""
        self._pending_limit = in_minutes
        if specific_time is not None:
            self._deadline = specific_time.timestamp()
        elif in_minutes is not None and self._started_at is not None:
            self._deadline = self._started_at + in_minutes * 60
        else:
            self._deadline = None

    def get_time_limit(self) -> datetime | None:
        """When the search ends at the latest (None: no limit or not started)."""
        return None if self._deadline is None else datetime.fromtimestamp(self._deadline, tz=UTC)

    def reached_time_limit(self) -> bool:
        """True once the optimization time limit has passed."""
        return self._deadline is not None and time.time() >= self._deadline

    def set_report_period(self, report_period_minutes: float) -> None:
        """Accepted for ClearML code: results are reported as each trial ends."""
        self._report_period = float(report_period_minutes)

    def set_default_job_class(self, job_class: Any) -> None:
        """Not supported: trials run on a queue (``start``), locally (``start_locally``) or as a
        function (``trial_function=``). Raises NotImplementedError saying so."""
        raise NotImplementedError(
            "set_default_job_class is not supported in taskmill: use start() (queue), start_locally() "
            "(local processes) or HyperParameterOptimizer(trial_function=...)"
        )
