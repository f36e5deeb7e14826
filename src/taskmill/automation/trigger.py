"""``TriggerScheduler``: ClearML's triggers, launching work when datasets, models or tasks change.

* ``add_dataset_trigger``: a dataset version becomes final (completed; ``trigger_on_publish``:
  published), or has the given tags, in a project;
* ``add_model_trigger``: a model is published, or has the given tags;
* ``add_task_trigger``: a task reaches one of ``trigger_on_status``, has the tags, or its scalar
  ``trigger_on_metric/trigger_on_variant`` crosses ``trigger_on_threshold`` (``trigger_on_sign``
  ``min``: its minimum went at or below it; ``max``: its maximum at or above it).

Each fire launches a clone of a task or a pipeline run on ``schedule_queue`` (parameters whose
value contains ``${dataset.id}``, ``${model.id}`` or ``${task.id}`` get the triggering object's
id; the clone is tagged with the trigger's name) or calls ``schedule_function(object_id)`` on a
thread. A launched task records what launched it in its runtime property
``_automation/launched_by``.

**How changes are seen**: by polling the store for tasks changed since a watermark, every
``pooling_frequency_minutes``, and at once when the store's event feed reports a task status
change or a new task (a finalized dataset version wakes the trigger within milliseconds). Tag and
publish changes are picked up by the next poll.

**What fires**: each object fires a trigger at most once (its id is remembered; the last 10,000
per trigger). Objects that already matched when the trigger was first added do not fire: a dataset
or status trigger needs the version/status to come later, a model trigger ignores the models that
matched then; tag and metric triggers need the object to change afterwards. A task trigger never
fires for the scheduler's own task or for tasks this same trigger launched.

**Reliability**: watermark, remembered ids and recent events are stored in the service task's
state (see :mod:`taskmill.automation.service`); an id is recorded before its launch, so a restarted
trigger scheduler never fires twice for the same object. Changes made while it was down are seen
when it comes back (each fires once).

What each kind of trigger matches is in :mod:`taskmill.automation.conditions` (its classes are
importable from here too, as from ClearML's ``clearml.automation.trigger``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from taskmill.api.session import PROCESS
from taskmill.api.task import Task
from taskmill.automation.clock import Clock
from taskmill.automation.conditions import BaseTrigger, DatasetTrigger, Match, ModelTrigger, TaskTrigger
from taskmill.automation.job import task_id_of
from taskmill.automation.service import Fire, ServiceBase, substitute
from taskmill.core.stored import TRIGGER_TAG
from taskmill.store.base import TaskFilter, TaskStore

MARGIN = 5.0  #: seconds of overlap between polls (commits land a moment after their timestamp)
MAX_REMEMBERED = 10_000
_STATUS_EVENTS = ("task.status", "task.created")

__all__ = ["BaseTrigger", "DatasetTrigger", "ModelTrigger", "TaskTrigger", "TriggerScheduler"]


class TriggerScheduler(ServiceBase):
    """Launch tasks, pipelines and functions when datasets, models or tasks change."""

    _system_tag = TRIGGER_TAG
    _default_name = "Trigger Scheduler"

    def __init__(
        self,
        pooling_frequency_minutes: float = 3.0,
        sync_frequency_minutes: float = 15,
        force_create_task_name: str | None = None,
        force_create_task_project: str | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        """Create the trigger scheduler and find or create its service task."""
        super().__init__(
            sync_frequency_minutes,
            force_create_task_name,
            force_create_task_project,
            pooling_frequency_minutes=pooling_frequency_minutes,
            clock=clock,
        )
        self._triggers: list[BaseTrigger] = []
        self._cursor: int | None = None

    # == adding triggers =====================================================================

    def _add(self, trigger: BaseTrigger) -> None:
        trigger.verify()
        self._triggers = [t for t in self._triggers if t.name != trigger.name] + [trigger]

    @staticmethod
    def _common(
        kind: str,
        schedule_task_id: Any,
        schedule_function: Callable[[str], Any] | None,
        schedule_queue: str | None,
        name: str | None,
        add_tag: bool | str,
        **rest: Any,
    ) -> dict[str, Any]:
        task_id = task_id_of(schedule_task_id) if schedule_task_id is not None else None
        label = name or f"{kind}:{task_id or getattr(schedule_function, '__name__', 'function')}"
        tag = (add_tag if isinstance(add_tag, str) else label) if add_tag else None
        return {
            "name": label,
            "base_task_id": task_id,
            "base_function": schedule_function,
            "queue": schedule_queue,
            "add_tag": tag,
            "task_parameters": dict(rest.pop("task_parameters") or {}),
            "task_overrides": dict(rest.pop("task_overrides") or {}),
            "clone_task": not rest.pop("reuse_task"),
            "tags": list(rest.pop("trigger_on_tags") or []),
            "required_tags": list(rest.pop("trigger_required_tags") or []),
            **rest,
        }

    def add_dataset_trigger(
        self,
        schedule_task_id: str | Task | Any = None,
        schedule_queue: str | None = None,
        schedule_function: Callable[[str], Any] | None = None,
        trigger_project: str | None = None,
        trigger_name: str | None = None,
        trigger_on_publish: bool | None = None,
        trigger_on_tags: Sequence[str] | None = None,
        trigger_on_archive: bool | None = None,
        trigger_required_tags: Sequence[str] | None = None,
        name: str | None = None,
        target_project: str | None = None,
        add_tag: bool | str = True,
        single_instance: bool = False,
        reuse_task: bool = False,
        task_parameters: dict[str, Any] | None = None,
        task_overrides: dict[str, Any] | None = None,
    ) -> None:
        """Fire on dataset versions of ``trigger_project`` (its ``.datasets`` sub-projects) named
        like ``trigger_name`` (a regexp): each new final version, or (``trigger_on_publish``) each
        published one; with ``trigger_on_tags`` each version carrying those tags."""
        self._add(
            DatasetTrigger(
                **self._common(
                    "dataset",
                    schedule_task_id,
                    schedule_function,
                    schedule_queue,
                    name,
                    add_tag,
                    project=trigger_project,
                    match_name=trigger_name,
                    on_publish=trigger_on_publish,
                    on_archive=trigger_on_archive,
                    trigger_on_tags=trigger_on_tags,
                    trigger_required_tags=trigger_required_tags,
                    target_project=target_project,
                    single_instance=single_instance,
                    reuse_task=reuse_task,
                    task_parameters=task_parameters,
                    task_overrides=task_overrides,
                )
            )
        )

    def add_model_trigger(
        self,
        schedule_task_id: str | Task | Any = None,
        schedule_queue: str | None = None,
        schedule_function: Callable[[str], Any] | None = None,
        trigger_project: str | None = None,
        trigger_name: str | None = None,
        trigger_on_publish: bool | None = None,
        trigger_on_tags: Sequence[str] | None = None,
        trigger_on_archive: bool | None = None,
        trigger_required_tags: Sequence[str] | None = None,
        name: str | None = None,
        target_project: str | None = None,
        add_tag: bool | str = True,
        single_instance: bool = False,
        reuse_task: bool = False,
        task_parameters: dict[str, Any] | None = None,
        task_overrides: dict[str, Any] | None = None,
    ) -> None:
        """Fire on models of ``trigger_project`` named like ``trigger_name`` (a regexp) that are
        published (``trigger_on_publish``) and/or carry ``trigger_on_tags``."""
        self._add(
            ModelTrigger(
                **self._common(
                    "model",
                    schedule_task_id,
                    schedule_function,
                    schedule_queue,
                    name,
                    add_tag,
                    project=trigger_project,
                    match_name=trigger_name,
                    on_publish=trigger_on_publish,
                    on_archive=trigger_on_archive,
                    trigger_on_tags=trigger_on_tags,
                    trigger_required_tags=trigger_required_tags,
                    target_project=target_project,
                    single_instance=single_instance,
                    reuse_task=reuse_task,
                    task_parameters=task_parameters,
                    task_overrides=task_overrides,
                )
            )
        )

    def add_task_trigger(
        self,
        schedule_task_id: str | Task | Any = None,
        schedule_queue: str | None = None,
        schedule_function: Callable[[str], Any] | None = None,
        trigger_project: str | None = None,
        trigger_name: str | None = None,
        trigger_on_tags: Sequence[str] | None = None,
        trigger_on_status: Sequence[str] | None = None,
        trigger_exclude_dev_tasks: bool | None = None,
        trigger_on_metric: str | None = None,
        trigger_on_variant: str | None = None,
        trigger_on_threshold: float | None = None,
        trigger_on_sign: str | None = None,
        trigger_required_tags: Sequence[str] | None = None,
        name: str | None = None,
        target_project: str | None = None,
        add_tag: bool | str = True,
        single_instance: bool = False,
        reuse_task: bool = False,
        task_parameters: dict[str, Any] | None = None,
        task_overrides: dict[str, Any] | None = None,
    ) -> None:
        """Fire on tasks of ``trigger_project`` named like ``trigger_name`` reaching one of
        ``trigger_on_status``, carrying ``trigger_on_tags``, and/or whose scalar
        ``trigger_on_metric``/``trigger_on_variant`` crossed ``trigger_on_threshold``
        (``trigger_on_sign`` ``min``, the default: at or below; ``max``: at or above).
        ``trigger_exclude_dev_tasks`` leaves out tasks not run by an agent."""
        self._add(
            TaskTrigger(
                **self._common(
                    "task",
                    schedule_task_id,
                    schedule_function,
                    schedule_queue,
                    name,
                    add_tag,
                    project=trigger_project,
                    match_name=trigger_name,
                    trigger_on_tags=trigger_on_tags,
                    trigger_required_tags=trigger_required_tags,
                    on_status=list(trigger_on_status) if trigger_on_status else None,
                    exclude_dev=trigger_exclude_dev_tasks,
                    metrics=trigger_on_metric,
                    variant=trigger_on_variant,
                    threshold=trigger_on_threshold,
                    value_sign=trigger_on_sign,
                    ignore_ids=(self._task.id,),
                    target_project=target_project,
                    single_instance=single_instance,
                    reuse_task=reuse_task,
                    task_parameters=task_parameters,
                    task_overrides=task_overrides,
                )
            )
        )

    def get_triggers(self) -> list[BaseTrigger]:
        """All triggers (models, datasets, tasks), in the order they were added."""
        return list(self._triggers)

    # == the loop ==============================================================================

    def _definition(self) -> dict[str, str]:
        sections = {"datasets": "dataset", "models": "model", "tasks": "task"}
        return {
            section: json.dumps(
                [t.to_dict() for t in self._triggers if t.kind == kind], indent=1, default=str
            )
            for section, kind in sections.items()
        }

    def step(self) -> list[Fire]:
        """Look for changes once and fire the triggers they match; returns what fired or was
        skipped. Blocking (a launch is a clone and an enqueue)."""
        store = PROCESS.session().store
        fires: list[Fire] = []
        for trigger in list(self._triggers):
            fires.extend(self._step_trigger(store, trigger))
        return fires

    def _trigger_state(self, state: dict[str, Any], trigger: BaseTrigger, store: TaskStore) -> dict[str, Any]:
        entries = state.setdefault("triggers", {})
        stored = entries.get(trigger.name)
        if not isinstance(stored, dict):
            newest = store.find_tasks(TaskFilter(order="-last_update", limit=1))
            mark = newest[0].last_update if newest else 0.0
            stored = {"since": mark, "watermark": mark, "fired": trigger.baseline(store), "last_task_id": ""}
            entries[trigger.name] = stored
        return stored

    def _step_trigger(self, store: TaskStore, trigger: BaseTrigger) -> list[Fire]:
        with self._state() as state:
            stored = dict(self._trigger_state(state, trigger, store))
        matches, newest = trigger.find(store, float(stored["watermark"]), float(stored["since"]))
        remembered = set(stored.get("fired") or [])
        fires = []
        for match in matches:
            if match.key in remembered:
                continue
            with self._state() as state:
                entry = self._trigger_state(state, trigger, store)
                if match.key in (entry.get("fired") or []):  # another copy claimed it meanwhile
                    continue
                entry["fired"] = [*(entry.get("fired") or []), match.key][-MAX_REMEMBERED:]
                last_task = str(entry.get("last_task_id") or "") or None
            fire = self._fire(trigger, match, last_task)
            fires.append(fire)
            remembered.add(match.key)
        with self._state() as state:
            entry = self._trigger_state(state, trigger, store)
            entry["watermark"] = max(float(entry["watermark"]), newest - MARGIN)
            for fire in fires:
                if fire.task_id and fire.launched:
                    entry["last_task_id"] = fire.task_id
                self._event(state, fire, "fired" if fire.launched else "skipped", fire.skipped)
        return fires

    def _fire(self, trigger: BaseTrigger, match: Match, last_task: str | None) -> Fire:
        parameters = {
            k: substitute(v, trigger.placeholder, match.object_id) for k, v in trigger.task_parameters.items()
        }
        overrides = {
            k: substitute(v, trigger.placeholder, match.object_id) for k, v in trigger.task_overrides.items()
        }
        fire = self._launch(
            trigger,
            match.key,
            parameters=parameters,
            overrides=overrides,
            tags=[trigger.add_tag] if trigger.add_tag else [],
            args=(match.object_id,),
            last_task_id=last_task,
            launched_by={
                "service": self._task.id,
                "job": trigger.name,
                "kind": trigger.kind,
                "object": match.object_id,
            },
        )
        if fire.launched:
            what = f"task {fire.task_id}" if fire.task_id else "function"
            self._log(f"trigger '{trigger.name}' fired for {match.what} ({match.object_id}): {what}")
        else:
            self._log(
                f"trigger '{trigger.name}' matched {match.what} but skipped: {fire.skipped}", logging.WARNING
            )
        return fire

    def _sleep_seconds(self) -> float:
        return self._poll_seconds if self._poll_seconds is not None else 180.0

    def _wait(self, seconds: float) -> None:
        """Sleep up to ``seconds``, waking early when the event feed reports a status change."""
        if not self._clock.is_real:
            self._clock.sleep(seconds, self._stop)
            return
        store = PROCESS.session().store
        if self._cursor is None:
            self._cursor = store.last_event_id()
        deadline = time.monotonic() + seconds
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            events = store.wait_events(self._cursor, timeout=min(1.0, left))
            if events:
                self._cursor = events[-1].id
                if _relevant(e.kind for e in events):
                    return

    def start(self) -> None:
        """Run the triggers here until :meth:`stop` (blocking). Polls every
        ``pooling_frequency_minutes`` and at once after a status change."""
        self._cursor = PROCESS.session().store.last_event_id()
        super().start()


def _relevant(kinds: Iterable[str]) -> bool:
    return any(kind in _STATUS_EVENTS for kind in kinds)
