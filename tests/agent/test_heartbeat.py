"""The agent's heartbeat: who reaps (database stores only), and re-registration re-adopts running tasks.

Real processes: a ``taskmill server`` and a ``taskmill agent`` running a real step, or a real SQLite store.
"""

from __future__ import annotations

import os
import signal
import textwrap
import time
from pathlib import Path

from taskmill.agent.heartbeat import Heartbeat
from taskmill.core.states import TaskStatus
from taskmill.store.factory import open_store
from tests.chaos.faults import STEP, start_agent, step_task, wait_until
from tests.store.procs import server_process


def _pulse(store_url: str, me: str, *, reap: bool | None) -> list[str]:
    store = open_store(store_url)
    store.register_worker("gone", ["q"], {})  # never beats again
    store.register_worker(me, ["q"], {})
    beat = Heartbeat(
        store, me, queues=["q"], info={}, interval=0.05, dead_after=0.4, current_task=lambda: None, reap=reap
    )
    beat.start()
    time.sleep(1.2)
    beat.stop()
    workers = [w.id for w in store.list_workers()]
    store.close()
    return workers


def test_agents_reap_peers_on_a_database_store_only_when_told(tmp_path: Path) -> None:
    workers = _pulse(f"sqlite:///{tmp_path}/a.db", "me", reap=None)  # default on a database: reap
    assert workers == ["me"]
    workers = _pulse(f"sqlite:///{tmp_path}/b.db", "me", reap=False)  # as with a server
    assert workers == ["gone", "me"]


def test_an_agent_unregistered_mid_task_registers_again_and_keeps_its_task(tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    script = tmp_path / "step.py"
    script.write_text(textwrap.dedent(STEP))
    with server_process(f"sqlite:///{home}/store.db", home) as server:
        store = open_store(server.url)
        store.create_queue("default")
        task_id = step_task(store, work, script, sleep=4.0)
        log = tmp_path / "agent.log"
        agent = start_agent(home, server.url, "--heartbeat", "0.2", log=log)
        try:
            assert wait_until(lambda: list(work.glob("pid-*")), 60), log.read_text()
            (me,) = [w.id for w in store.list_workers()]
            store.unregister_worker(me)  # as `taskmill agents` or a reaper would

            def adopted() -> bool:
                return any(w.id == me and w.task_id == task_id for w in store.list_workers())

            assert wait_until(adopted, 5), log.read_text()
            task = store.get_task(task_id)
            assert (task.status, task.worker) == (TaskStatus.in_progress, me)
            assert wait_until(lambda: store.get_task(task_id).status.is_final, 30), log.read_text()
            assert store.get_task(task_id).status == TaskStatus.completed
            assert list(work.glob("side-effect-*"))  # the step ran to its end, once
            assert f"re-adopting task {task_id}" in log.read_text()
        finally:
            if agent.poll() is None:
                os.killpg(agent.pid, signal.SIGTERM)
                agent.wait(20)
            store.close()
