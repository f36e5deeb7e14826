"""``Memo``: outputs of in-process steps, handed over without a copy."""

from __future__ import annotations

import threading

from taskmill.engine.backend import Memo


def test_memo_remembers_by_task_and_name_across_threads() -> None:
    memo = Memo()
    value = object()
    threads = [threading.Thread(target=memo.put, args=(f"t{i}", "r", i)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    memo.put("t0", "obj", value)
    assert memo.get("t3", "r") == (True, 3)
    assert memo.get("t0", "obj")[1] is value
    assert memo.get("t0", "missing") == (False, None)
    memo.clear()
    assert memo.get("t3", "r") == (False, None)
