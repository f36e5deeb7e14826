"""What the triggers look at: tasks changed since a watermark, found page after page."""

from __future__ import annotations

from taskmill import Task
from taskmill.automation.conditions import changed_since
from taskmill.store.base import TaskFilter, TaskStore


def test_changed_since_pages_until_the_watermark(store: TaskStore) -> None:
    made = [Task.create(project_name="many", task_name=f"t{i}") for i in range(230)]
    mark = made[9].data.last_update
    found = changed_since(store, TaskFilter(project="many"), mark)
    assert {t.id for t in found} == {t.id for t in made if t.data.last_update > mark}
    assert len(found) >= 220 and found == sorted(found, key=lambda r: r.last_update, reverse=True)
    assert changed_since(store, TaskFilter(project="many"), found[0].last_update) == []
