"""The runnable-block convention: markers are found (also indented, in tabs and admonitions),
options parsed, and a marker that does not fit is an error, never silently ignored."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.docs.blocks import Block, DocsError, PageSession, check, extract

PAGE = """# A page

<!-- file: hello.py -->
```python
print("hello from a file")
```

Some text.

<!-- run: expect="hello from a file" timeout=5 -->
```bash
python hello.py
```

=== "A tab"

    <!-- run -->
    ```python
    print("in a tab")
    ```

```python
shown_only = True
```
"""


def test_markers_give_blocks_in_page_order() -> None:
    blocks = extract(PAGE, "page.md")
    assert [(b.kind, b.lang, b.line) for b in blocks] == [
        ("file", "python", 4),
        ("run", "bash", 11),
        ("run", "python", 18),
        ("show", "python", 22),
    ]
    assert blocks[0].options == {"name": "hello.py"}
    assert blocks[1].options == {"expect": "hello from a file", "timeout": "5"}
    assert blocks[2].code == 'print("in a tab")\n'  # the tab's indentation is removed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<!-- run -->\nno fence here\n", "must be right above a code fence"),
        ("<!-- run -->\n```python\nprint(1)\n", "never closed"),
        ("<!-- run -->\n```yaml\na: 1\n```\n", "only python and bash"),
        ("<!-- run: retries=3 -->\n```bash\ntrue\n```\n", "unknown run option"),
        ("<!-- file: -->\n```python\nx = 1\n```\n", "needs a file name"),
    ],
)
def test_markers_that_do_not_fit_are_errors(text: str, message: str) -> None:
    with pytest.raises(DocsError, match=message):
        extract(text, "bad.md")


def test_a_page_session_runs_blocks_in_order_in_its_own_folder(tmp_path: Path) -> None:
    blocks = extract(PAGE, "page.md")
    session = PageSession(tmp_path, blocks)
    result = session.run_through(blocks[1])  # writes hello.py first, then runs the bash block
    assert result is not None
    check(blocks[1], result)
    assert (tmp_path / "hello.py").exists()
    assert "in a tab" in session.run_through(blocks[2]).stdout  # type: ignore[union-attr]


def test_check_reports_failures_and_missing_output(tmp_path: Path) -> None:
    block = Block("p.md", 3, "bash", "run", "echo nope\n", {"expect": "yes"})
    result = PageSession(tmp_path, [block]).run_through(block)
    with pytest.raises(AssertionError, match="'yes' not in output"):
        check(block, result)
    failing = subprocess.CompletedProcess("x", 3, "", "boom")
    with pytest.raises(AssertionError, match="exit 3"):
        check(block, failing)


def test_what_a_block_leaves_running_is_stopped_with_it(tmp_path: Path) -> None:
    block = Block("p.md", 3, "bash", "run", "sleep 30 &\necho $! > pid\necho started\n", {})
    result = PageSession(tmp_path, [block]).run_through(block)
    check(block, result)
    assert result is not None and "started" in result.stdout
    pid = int((tmp_path / "pid").read_text())
    for _ in range(50):  # SIGTERM was sent as the block ended; give the kernel a moment
        if not _alive(pid):
            break
        time.sleep(0.02)
    else:
        raise AssertionError(f"the background sleep {pid} still runs")


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a killed orphan may linger as a zombie until init reaps it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")
