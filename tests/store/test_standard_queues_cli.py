"""From outside: on a fresh server, a services agent starts without creating any queue."""

from __future__ import annotations

from pathlib import Path

from tests.store.procs import run_cli, server_process


def test_services_agent_starts_on_a_fresh_server(tmp_path: Path) -> None:
    with server_process(f"sqlite:///{tmp_path}/store.db", tmp_path) as server:
        listed = run_cli("queues", "list", home=tmp_path, env={"TASKMILL_STORE": server.url})
        assert listed.returncode == 0, listed.stderr
        assert {"default", "services"} <= set(listed.stdout.split())
        agent = run_cli(
            "agent", "--queue", "services", "--services-mode", "--burst",
            home=tmp_path, env={"TASKMILL_STORE": server.url},
        )  # fmt: skip
        assert agent.returncode == 0, agent.stderr
        assert "no queue named" not in agent.stderr
