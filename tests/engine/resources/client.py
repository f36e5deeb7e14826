"""A controller stand-in for the client-death test: run it, then SIGKILL it.

``python -m tests.engine.resources.client ROOT OUT``: starts a ForkServer, submits a long sleep,
writes ``{"server": pid, "child": pid}`` to OUT, then waits to be killed.
"""

from __future__ import annotations

import json
import os
import sys
import time

from taskmill.engine.forkserver import ForkServer


def main() -> None:
    root, out = sys.argv[1], sys.argv[2]
    server = ForkServer(preload=(), sys_path=[root])
    server.start()
    child = server.submit("sleeper", "tests.engine.resources.targets:sleep", args=["60"])
    with open(out + ".tmp", "w") as f:
        json.dump({"server": server.pid, "child": child}, f)
    os.replace(out + ".tmp", out)
    time.sleep(60)


if __name__ == "__main__":
    main()
