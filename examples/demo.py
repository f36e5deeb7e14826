"""The taskmill demo: a concurrent pipeline on local data, tracked on the embedded store.

``./scripts/demo`` runs this. It runs the tabular fan-out/fan-in pipeline (load -> two
preprocessings -> two trainings -> pick the best; see tabular_pipeline.py), each step in its own
process, then shows where to look. Run it again: cached steps are reused, and taskmill says why.
"""

from __future__ import annotations

import sys

from tabular_pipeline import build

from taskmill.api.session import PROCESS


def main() -> int:
    mode = "debug" if "--debug" in sys.argv else "process"
    pipe = build()
    if mode == "debug":
        pipe.debug_pipeline()
    else:
        pipe.start_locally(run_pipeline_steps_locally=True)
    settings = PROCESS.session().settings
    dag = pipe.get_pipeline_dag()
    print()
    print(f"store:     {settings.store_url}")
    print(f"artifacts: {settings.artifacts_uri}")
    print(f"run:       {pipe.id}  ({pipe.task.name}, version {pipe.version})")
    for name, node in dag.items():
        cache = node.cache.get("result", "-")
        print(f"  {name:<16} {node.status.value:<10} task {node.job_id}  cache: {cache}")
    print("next:")
    print(f"  .venv/bin/taskmill pipelines show {pipe.id}")
    print(f"  .venv/bin/taskmill pipelines explain {pipe.id} train_1")
    print(f"  .venv/bin/taskmill tasks logs {dag['pick_best'].job_id}")
    print("  ./scripts/demo      # again: the cached steps are reused")
    return 0 if pipe.is_successful() else 1


if __name__ == "__main__":
    raise SystemExit(main())
