"""The Slurm glue agent on a real single-node Slurm (Debian's slurm-wlm and munge), started by
the test inside a private network namespace (``unshare --net``) so it touches no real network."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from taskmill.agent.slurm_glue import render
from taskmill.core.states import TaskStatus
from taskmill.errors import ExecutionError
from taskmill.store.base import TaskStore
from tests.agent.conftest import Agents, enqueue, log_text, record, script_task, wait_for, write

TEMPLATE = "#!/bin/bash\n#SBATCH --cpus-per-task=1\necho job {{job_name}} for {{task_id}}\n{{command}}\n"

#: Starts munged, slurmctld and slurmd (state in $1), runs the rest of the arguments, stops them.
CLUSTER = r"""
set -e
D=$1; shift
mkdir -p $D/spool $D/state $D/munge $D/log
ip link set lo up
ip addr add 10.213.0.1/32 dev lo  # getaddrinfo wants an address besides 127/8
H=$(hostname)
cat > $D/slurm.conf <<CONF
ClusterName=tm
SlurmctldHost=$H(10.213.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$D/munge/munge.socket
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MinJobAge=600
NodeName=$H NodeAddr=10.213.0.1 CPUs=2 RealMemory=2000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$D/slurm.conf
munged --socket=$D/munge/munge.socket --pid-file=$D/munge/munged.pid --log-file=$D/log/munged.log \
  --seed-file=$D/munge/seed -f --key-file=/etc/munge/munge.key
slurmctld -f $D/slurm.conf
slurmd -f $D/slurm.conf
for i in $(seq 100); do sinfo -h -o %t 2>/dev/null | grep -q idle && break; sleep 0.1; done
set +e
"$@"
code=$?
for f in $D/slurmd.pid $D/slurmctld.pid $D/munge/munged.pid; do kill $(cat $f) 2>/dev/null; done
exit $code
"""


def _can_run_slurm() -> str | None:
    for tool in ("sbatch", "slurmctld", "slurmd", "munged", "unshare", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install slurmctld slurmd slurm-client munge)"
    if not Path("/etc/munge/munge.key").exists():
        return "no /etc/munge/munge.key"
    if subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode != 0:
        return "this machine cannot make a network namespace (unshare --net)"
    return None


pytestmark = pytest.mark.skipif(_can_run_slurm() is not None, reason=str(_can_run_slurm()))


def glue(agents: Agents, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    script = write(tmp_path / "cluster.sh", CLUSTER)
    template = write(tmp_path / "job.sbatch", TEMPLATE)
    taskmill = str(Path(sys.executable).parent / "taskmill")
    argv = [taskmill, "agent", "-q", "default", "--backend", "slurm", "--template", str(template)]
    return subprocess.Popen(
        [
            "unshare",
            "--net",
            "bash",
            str(script),
            str(tmp_path / "slurm"),
            *argv,
            "--heartbeat",
            "0.3",
            *args,
        ],
        env=agents.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_jobs_run_tasks_to_their_end_and_a_stop_cancels_the_job(
    agents: Agents, tmp_path: Path, store: TaskStore
) -> None:
    ok = script_task(
        write(
            tmp_path / "ok.py",
            "import os\nfrom taskmill import Task\nt = Task.init()\nt.upload_artifact('x', 42)\n"
            "print('ran ok')\nenv = os.environ.get\n"
            "print('mem', env('SLURM_MEM_PER_NODE'), 'cpus', env('SLURM_CPUS_PER_TASK'))\n",
        )
    )
    # a step's resources= reach sbatch (-c, --mem): the job sees them in its environment
    store.update_task(ok.id, runtime={"resources": {"cpu": 2, "memory": 100 * 1024**2}})
    dies = script_task(write(tmp_path / "dies.py", "import os\nos._exit(5)\n"))
    slow = script_task(
        write(tmp_path / "slow.py", "import time\nprint('sleeping', flush=True)\ntime.sleep(120)\n")
    )
    enqueue(ok, dies, slow)
    started = time.time()
    proc = glue(agents, tmp_path, "--burst")
    try:
        wait_for(lambda: "sleeping" in log_text(store, slow) or proc.poll() is not None, 60, "the slow job")
        store.set_status(slow.id, TaskStatus.stopped, message="stopped by a person", force=True)
        out, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.terminate()  # the cluster script stops its daemons on the way out
            proc.wait(30)
    assert proc.returncode == 0, out
    assert time.time() - started < 90

    assert record(store, ok).status == TaskStatus.completed, out
    assert sorted(record(store, t).runtime["slurm_job"] for t in (ok, dies, slow)) == ["1", "2", "3"]
    assert "ran ok" in log_text(store, ok)
    assert "mem 100 cpus 2" in log_text(store, ok)
    assert {a.name for a in store.get_artifacts(ok.id)} == {"x"}
    failed = record(store, dies)
    assert failed.status == TaskStatus.failed and failed.status_message == "process exited with code 5"
    stopped = record(store, slow)
    assert stopped.status == TaskStatus.stopped and stopped.status_message == "stopped by a person"
    assert "slurm job" in out and (
        tmp_path / "tmhome" / "agent" / "slurm" / f"{ok.id}.out"
    ).read_text().startswith(f"job tm-{ok.id[:8]} for {ok.id}")


def test_render_needs_the_command_placeholder() -> None:
    assert render(TEMPLATE, task_id="abcdef123", command="run it").endswith("run it\n")
    with pytest.raises(ExecutionError, match=r"no .*command.* placeholder"):
        render("#!/bin/sh\necho\n", task_id="x", command="y")
