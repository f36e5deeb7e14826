"""``TaskScheduler``: ClearML's cron-like scheduler of tasks, pipelines and functions.

``add_task`` registers an entry (a task or pipeline run to clone and enqueue, or a function to
call on a thread) with ClearML's time fields, or a cron string, in a time zone
(:mod:`taskmill.automation.timing`). ``start()`` runs the loop here; ``start_remotely()`` hands
it to an agent on the ``services`` queue. A decorated pipeline function is scheduled as
``schedule_function=my_pipeline``; a pipeline run (``PipelineController`` or its id) as
``schedule_task_id=``: each tick starts a new run of it.

**Missed runs** (the service was not running when a tick came): with ``missed_runs="catch_up"``
(the default, what ClearML does on a restart) the *latest* missed tick fires once, at once, and
the schedule goes on; with ``missed_runs="skip"`` missed ticks are dropped and the next one is
waited for. A tick counts as missed when the loop sees it more than ``missed_run_grace_seconds``
late. Never more than one run per entry per step: no burst after a long pause.

**Reliability**: every tick is claimed in the store before its launch (see
:mod:`taskmill.automation.service`), so a restarted scheduler, here or under an agent, never fires
a tick twice. Each entry's anchor (what its periods count from) is stored too: a restart keeps the
same tick times. Changing an entry's timing resets its anchor and history.

Differences from ClearML: ``cron=``, ``timezone=``, ``missed_runs=`` and ``clock=`` are additions;
``sync_frequency_minutes`` bounds how long the loop sleeps (entries are defined by the code's
``add_task`` calls, not re-read from the task's configuration); a function entry's name defaults to
the function's name; ``limit_execution_time`` (hours) stops the launched task when it runs over.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import UTC, datetime, tzinfo
from typing import Any

from taskmill.api.task import Task
from taskmill.automation.clock import Clock
from taskmill.automation.job import abort_task, task_id_of
from taskmill.automation.service import Fire, ServiceBase, Target
from taskmill.automation.timing import CronTiming, FieldTiming, Timing, zone, zone_name
from taskmill.core.stored import SCHEDULER_TAG

MISSED_RUN_POLICIES = ("catch_up", "skip")
_MAX_REPLAY = 100_000  #: ticks walked to find the latest missed one (a week of minutes is 10,080)
_KEEP_RUNS = 20


def _iso(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, tz=UTC).isoformat()


class ScheduleJob(Target):
    """One entry of a :class:`TaskScheduler` (what ``get_scheduled_tasks()`` returns)."""

    def __init__(
        self,
        target: Target,
        *,
        minute: int | None,
        hour: int | None,
        day: int | None,
        weekdays: Sequence[str] | None,
        month: int | None,
        year: int | None,
        cron: str | None,
        timezone: tzinfo,
        recurring: bool,
        execute_immediately: bool,
        execution_limit_hours: float | None,
        missed_runs: str,
        starting_time: datetime,
    ) -> None:
        """Build an entry and check its timing (ValueError says what is wrong)."""
        super().__init__(**{f.name: getattr(target, f.name) for f in fields(target)})
        self.minute, self.hour, self.day, self.month, self.year = minute, hour, day, month, year
        self.weekdays = [str(w).lower() for w in weekdays] if weekdays else None
        self.cron = cron
        self.timezone = timezone
        self.recurring = bool(recurring)
        self.execute_immediately = bool(execute_immediately)
        self.execution_limit_hours = execution_limit_hours
        if missed_runs not in MISSED_RUN_POLICIES:
            raise ValueError(f"missed_runs must be one of {MISSED_RUN_POLICIES}, not {missed_runs!r}")
        self.missed_runs = missed_runs
        self.starting_time = starting_time
        self._stored: dict[str, Any] = {}
        self.verify()
        self.timing(starting_time)  # raises for bad fields or cron strings now, not at the first tick

    def timing(self, anchor: datetime) -> Timing:
        """The entry's ticks, counted from ``anchor``."""
        if self.cron:
            if any(
                v is not None
                for v in (self.minute, self.hour, self.day, self.month, self.year, self.weekdays)
            ):
                raise ValueError(
                    "give either cron= or the minute/hour/day/weekdays/month/year fields, not both"
                )
            return CronTiming(self.cron, self.timezone)
        return FieldTiming(
            minute=self.minute,
            hour=self.hour,
            day=self.day,
            weekdays=self.weekdays,
            month=self.month,
            year=self.year,
            tz=self.timezone,
            anchor=anchor,
        )

    def definition_hash(self) -> str:
        """Changes when the entry's timing changes (the stored anchor and history then reset)."""
        spec = [self.minute, self.hour, self.day, self.weekdays, self.month, self.year, self.cron]
        spec += [zone_name(self.timezone), self.recurring]
        return hashlib.sha256(json.dumps(spec).encode()).hexdigest()[:16]

    def describe(self) -> str:
        """The timing in words."""
        return self.timing(self.starting_time).describe()

    def next_run(self) -> datetime | None:
        """When this entry fires next (as of the last step), None when it is done."""
        value = self._stored.get("next")
        return None if value is None else datetime.fromtimestamp(float(value), tz=UTC)

    def get_last_executed_task_id(self) -> str | None:
        """The task launched by the last run (None for functions or before any run)."""
        runs = self._stored.get("runs") or []
        return next((str(r["task_id"]) for r in reversed(runs) if r.get("task_id")), None)

    def get_execution_timeout(self) -> datetime | None:
        """When the last launched task is stopped for running over ``limit_execution_time``."""
        runs = self._stored.get("runs") or []
        deadline = runs[-1].get("deadline") if runs else None
        return None if not deadline else datetime.fromtimestamp(float(deadline), tz=UTC)

    def to_dict(self, full: bool = False) -> dict[str, Any]:
        """JSON-able description (with its stored state when ``full``)."""
        out = super().to_dict()
        out.update(
            minute=self.minute,
            hour=self.hour,
            day=self.day,
            weekdays=self.weekdays,
            month=self.month,
            year=self.year,
            cron=self.cron or "",
            timezone=zone_name(self.timezone),
            recurring=self.recurring,
            execute_immediately=self.execute_immediately,
            execution_limit_hours=self.execution_limit_hours,
            missed_runs=self.missed_runs,
            schedule=self.describe(),
            next_run=_iso(self._stored.get("next")),
        )
        if full:
            out["state"] = dict(self._stored)
        return out

    def __repr__(self) -> str:
        return (
            f"ScheduleJob(name={self.name!r}, {self.describe()}, next_run={_iso(self._stored.get('next'))!r})"
        )


class TaskScheduler(ServiceBase):
    """Launch tasks, pipelines and functions on a schedule (see the module docstring)."""

    _system_tag = SCHEDULER_TAG
    _default_name = "Scheduler"

    def __init__(
        self,
        sync_frequency_minutes: float = 15,
        force_create_task_name: str | None = None,
        force_create_task_project: str | None = None,
        *,
        missed_runs: str = "catch_up",
        missed_run_grace_seconds: float = 300.0,
        clock: Clock | None = None,
    ) -> None:
        """Create the scheduler and find or create its service task (see
        :mod:`taskmill.automation.service`). ``missed_runs`` is the default policy of its entries."""
        if missed_runs not in MISSED_RUN_POLICIES:
            raise ValueError(f"missed_runs must be one of {MISSED_RUN_POLICIES}, not {missed_runs!r}")
        super().__init__(
            sync_frequency_minutes, force_create_task_name, force_create_task_project, clock=clock
        )
        self._missed_runs = missed_runs
        self._grace = float(missed_run_grace_seconds)
        self._jobs: list[ScheduleJob] = []
        self._tables_at = -1e18

    def add_task(
        self,
        schedule_task_id: str | Task | Any = None,
        schedule_function: Callable[..., Any] | None = None,
        queue: str | None = None,
        name: str | None = None,
        target_project: str | None = None,
        minute: int | None = None,
        hour: int | None = None,
        day: int | None = None,
        weekdays: Sequence[str] | None = None,
        month: int | None = None,
        year: int | None = None,
        limit_execution_time: float | None = None,
        single_instance: bool = False,
        recurring: bool = True,
        execute_immediately: bool = False,
        reuse_task: bool = False,
        task_parameters: dict[str, Any] | None = None,
        task_overrides: dict[str, Any] | None = None,
        *,
        cron: str | None = None,
        timezone: str | tzinfo | None = None,
        missed_runs: str | None = None,
    ) -> bool:
        """Add an entry; returns True. ``schedule_task_id`` is a task, a pipeline run
        (``PipelineController`` or id) to clone and put on ``queue``, or use ``schedule_function``.

        Timing: ClearML's fields (``minute=15``: every 15 minutes; ``day=1, hour=22, minute=30``:
        daily at 22:30 ...) or ``cron='30 2 * * 1-5'``, read in ``timezone`` (IANA name, default
        UTC). Entries are keyed by ``name`` (default: the task id, or the function's name); adding
        a name again replaces that entry. Raises ValueError for bad timing or arguments.
        """
        if schedule_task_id is not None and schedule_function is not None:
            raise ValueError("give schedule_task_id or schedule_function, not both")
        task_id = task_id_of(schedule_task_id) if schedule_task_id is not None else None
        fn_name = getattr(schedule_function, "__name__", "") if schedule_function else ""
        target = Target(
            name=name or task_id or fn_name,
            base_task_id=task_id,
            base_function=schedule_function,
            queue=queue,
            target_project=target_project,
            single_instance=bool(single_instance),
            task_parameters=dict(task_parameters or {}),
            task_overrides=dict(task_overrides or {}),
            clone_task=not reuse_task,
        )
        job = ScheduleJob(
            target,
            minute=minute,
            hour=hour,
            day=day,
            weekdays=weekdays,
            month=month,
            year=year,
            cron=cron,
            timezone=zone(timezone),
            recurring=recurring,
            execute_immediately=execute_immediately,
            execution_limit_hours=limit_execution_time,
            missed_runs=missed_runs or self._missed_runs,
            starting_time=self._clock.utcnow(),
        )
        self._jobs = [j for j in self._jobs if j.name != job.name] + [job]
        return True

    def get_scheduled_tasks(self) -> list[ScheduleJob]:
        """The entries, in the order they were added."""
        return list(self._jobs)

    def remove_task(self, task_id: str | Task | Callable[..., Any]) -> bool:
        """Remove the entries launching this task id / Task, or calling this function (also
        matched by entry name); True if any was removed. Their stored history is kept."""
        if callable(task_id) and not isinstance(task_id, (str, Task)):
            keep = [j for j in self._jobs if j.base_function is not task_id]
        else:
            wanted = task_id_of(task_id)
            keep = [j for j in self._jobs if wanted not in (j.base_task_id, j.name)]
        removed = len(keep) < len(self._jobs)
        self._jobs = keep
        return removed

    # == the loop ==============================================================================

    def _definition(self) -> dict[str, str]:
        return {"schedule": json.dumps([j.to_dict() for j in self._jobs], indent=1, default=str)}

    def _entry_state(self, state: dict[str, Any], job: ScheduleJob) -> dict[str, Any]:
        entries = state.setdefault("jobs", {})
        stored = entries.get(job.name)
        if not isinstance(stored, dict) or stored.get("definition") != job.definition_hash():
            stored = {
                "definition": job.definition_hash(),
                "anchor": job.starting_time.timestamp(),
                "runs": [],
            }
            entries[job.name] = stored
        return stored

    def _next_tick(self, job: ScheduleJob, stored: dict[str, Any]) -> float | None:
        anchor = datetime.fromtimestamp(float(stored["anchor"]), tz=UTC)
        if job.execute_immediately and not stored.get("immediate_done"):
            return anchor.timestamp()
        if not job.recurring and stored.get("fired"):
            return None
        last = stored.get("last_tick")
        after = anchor if last is None else datetime.fromtimestamp(float(last), tz=UTC)
        tick = job.timing(anchor).next_after(after)
        return None if tick is None else tick.timestamp()

    def _latest_due(
        self, job: ScheduleJob, stored: dict[str, Any], first: float, now: float
    ) -> tuple[float, int]:
        """The latest tick at or before ``now`` from ``first`` on, and how many ticks it passed."""
        timing = job.timing(datetime.fromtimestamp(float(stored["anchor"]), tz=UTC))
        latest, passed = first, 0
        when = datetime.fromtimestamp(first, tz=UTC)
        for _ in range(_MAX_REPLAY):
            following = timing.next_after(when)
            if following is None or following.timestamp() > now:
                break
            when, latest, passed = following, following.timestamp(), passed + 1
        return latest, passed

    def step(self) -> list[Fire]:
        """Fire the entries that are due at the clock's now (one run per entry at most), stop
        launched tasks over their time limit; returns what fired or was skipped. Blocking."""
        now = self._clock.now()
        fires: list[Fire] = []
        for job in list(self._jobs):
            fire = self._step_job(job, now)
            if fire is not None:
                fires.append(fire)
        self._enforce_time_limits(now)
        if fires or now - self._tables_at >= self._sync_seconds:
            self._report_tables()
            self._tables_at = now
        return fires

    def _step_job(self, job: ScheduleJob, now: float) -> Fire | None:
        with self._state() as state:
            stored = self._entry_state(state, job)
            tick = self._next_tick(job, stored)
            if tick is None or tick > now:
                stored["next"] = tick
                job._stored = dict(stored)
                return None
            immediate = job.execute_immediately and not stored.get("immediate_done")
            passed = 0
            if immediate:
                stored["immediate_done"] = True
            else:
                tick, passed = self._latest_due(job, stored, tick, now)
                stored["last_tick"] = tick  # claimed before launching: a restart never fires it again
            late = not immediate and now - tick > self._grace
            fire = Fire(job=job.name, key=_iso(tick))
            if late and job.missed_runs == "skip":
                fire.skipped = f"missed {passed + 1} tick(s) while not running (missed_runs='skip')"
                self._event(state, fire, "skipped", fire.skipped)
            stored["next"] = self._next_tick(job, stored)
            job._stored = dict(stored)
            last_task = job.get_last_executed_task_id()
        if fire.skipped:
            self._log(f"'{job.name}': {fire.skipped}")
            return fire
        fire = self._launch(job, fire.key, last_task_id=last_task)
        caught_up = ""
        if late:
            caught_up = f"caught up once for {passed + 1} missed tick(s)"
        elif passed:
            verb = "skipped" if job.missed_runs == "skip" else "caught up once for"
            caught_up = f"{verb} {passed} earlier missed tick(s)"
        with self._state() as state:
            stored = self._entry_state(state, job)
            if fire.launched:
                stored["fired"] = int(stored.get("fired") or 0) + 1
                deadline = (
                    now + job.execution_limit_hours * 3600
                    if job.execution_limit_hours and fire.task_id
                    else None
                )
                run = {"tick": tick, "fired": now, "task_id": fire.task_id or "", "deadline": deadline}
                stored["runs"] = [*(stored.get("runs") or []), run][-_KEEP_RUNS:]
                self._event(state, fire, "fired", caught_up)
            else:
                self._event(state, fire, "skipped", fire.skipped)
            stored["next"] = self._next_tick(job, stored)
            job._stored = dict(stored)
        what = f"task {fire.task_id}" if fire.task_id else "function"
        self._log(
            f"'{job.name}' fired for {fire.key}: {what}" + (f" ({caught_up})" if caught_up else "")
            if fire.launched
            else f"'{job.name}' skipped {fire.key}: {fire.skipped}",
            logging.INFO if fire.launched else logging.WARNING,
        )
        return fire

    def _enforce_time_limits(self, now: float) -> None:
        for job in self._jobs:
            for run in job._stored.get("runs") or []:
                deadline, task_id = run.get("deadline"), run.get("task_id")
                if not deadline or not task_id or float(deadline) > now or run.get("timed_out"):
                    continue
                if abort_task(Task.get_task(task_id=str(task_id)), "over its limit_execution_time"):
                    self._log(f"'{job.name}': stopped task {task_id}, over its limit_execution_time")
                with self._state() as state:
                    stored = self._entry_state(state, job)
                    for stored_run in stored.get("runs") or []:
                        if stored_run.get("task_id") == task_id:
                            stored_run["timed_out"] = True
                    job._stored = dict(stored)

    def _sleep_seconds(self) -> float:
        now = self._clock.now()
        upcoming = [float(j._stored["next"]) for j in self._jobs if j._stored.get("next") is not None]
        deadlines = [
            float(r["deadline"])
            for j in self._jobs
            for r in j._stored.get("runs") or []
            if r.get("deadline") and not r.get("timed_out")
        ]
        soonest = min([*upcoming, *deadlines], default=now + self._sync_seconds)
        return max(0.0, soonest - now)

    def _report_tables(self) -> None:
        columns = ["name", "schedule", "next_run", "base_task_id", "base_function", "queue", "runs"]
        rows: list[list[str]] = [columns]
        executed: list[list[str]] = [["name", "tick", "task id", "fired"]]
        for job in self._jobs:
            data = job.to_dict()
            data["runs"] = str(job._stored.get("fired") or 0)
            rows.append([str(data.get(c) or "") for c in columns])
            for run in job._stored.get("runs") or []:
                executed.append(
                    [
                        job.name,
                        _iso(run.get("tick")),
                        str(run.get("task_id") or "function"),
                        _iso(run.get("fired")),
                    ]
                )
        try:
            logger_ = self._task.get_logger()
            logger_.report_table(title="Schedule Tasks", series=" ", iteration=0, table_plot=rows)
            logger_.report_table(title="Executed Tasks", series=" ", iteration=0, table_plot=executed)
        except Exception as exc:  # tables are for people: never stop the loop for them
            self._log(f"could not report the tables: {exc}", logging.WARNING)
