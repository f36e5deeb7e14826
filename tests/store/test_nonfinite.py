"""From outside: NaN and ±Inf reported by a script reach a real server and come back unchanged.

(The same round trip on every backend, store call by store call, is in ``test_contract.py``.)
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

from taskmill.store.http import HttpTaskStore
from tests.store.procs import cli_env, run_cli, server_process

INF = float("inf")


def test_report_table_of_a_dataframe_with_a_missing_value_over_http(tmp_path: Path) -> None:
    """From outside: a script's ``report_table(df)`` against a real server process succeeds."""
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent(
            """
            import pandas as pd
            from taskmill import Task

            task = Task.init(project_name="p", task_name="nan-table")
            df = pd.DataFrame({"a": [1.0, None], "b": [float("inf"), 2.0]})
            task.get_logger().report_table("preview", "head", 0, table_plot=df)
            task.get_logger().report_scalar("loss", "train", float("nan"), 0)
            task.close()
            print("TASK", task.id)
            """
        )
    )
    with server_process(f"sqlite:///{tmp_path}/store.db", tmp_path) as server:
        env = {"TASKMILL_STORE": server.url}
        run = [sys.executable, str(script)]
        done = subprocess.run(run, env=cli_env(tmp_path, env), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        task_id = done.stdout.split("TASK", 1)[1].strip()
        shown = run_cli("tasks", "show", task_id, home=tmp_path, env=env)
        assert shown.returncode == 0, shown.stderr
        remote = HttpTaskStore(server.url)
        (plot,) = remote.get_plots(task_id)
        (scalar,) = remote.get_scalars(task_id)
        remote.close()
    assert math.isnan(scalar.value)
    assert isinstance(plot.data, dict)
    assert "nan" in repr(plot.data) and "inf" in repr(plot.data), plot.data
