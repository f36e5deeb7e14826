"""Monitoring: copying what a finished step reported onto its pipeline run.

A step's ``monitor_metrics``, ``monitor_artifacts`` and ``monitor_models`` name what of its task
the run task shows as its own (ClearML's semantics): the last value of each metric series, a link
to each artifact (same URI, no copy), and each output model. Blocking on the store; copying twice
adds the metric point and model record twice (callers copy once, when the step completes).
"""

from __future__ import annotations

from dataclasses import replace

from taskmill.core.model import ModelRecord, ScalarPoint, new_id
from taskmill.core.pipeline import StepSpec
from taskmill.store.base import TaskStore


def copy_monitored(store: TaskStore, run_id: str, *, spec: StepSpec, task_id: str) -> None:
    """Copy what ``spec`` monitors from step task ``task_id`` onto run ``run_id``."""
    if spec.monitor_metrics:
        points = store.get_scalars(task_id)
        for (src_t, src_s), (dst_t, dst_s) in spec.monitor_metrics:
            last = [p for p in points if p.title == src_t and p.series == src_s]
            if last:
                store.add_scalars(run_id, [ScalarPoint(dst_t, dst_s, last[-1].iteration, last[-1].value)])
    if spec.monitor_artifacts:
        arts = {a.name: a for a in store.get_artifacts(task_id)}
        for src, dst in spec.monitor_artifacts:
            if src in arts:
                a = arts[src]
                store.put_artifact(
                    replace(a, task_id=run_id, name=dst, metadata={**a.metadata, "linked_from": task_id})
                )
    if spec.monitor_models:
        models = {m.name: m for m in store.get_models(task_id) if m.mode == "output"}
        for src, dst in spec.monitor_models:
            if src in models:
                m = models[src]
                store.add_model(ModelRecord(run_id, new_id(), dst, m.uri, "output", m.framework))
