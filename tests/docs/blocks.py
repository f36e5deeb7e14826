"""The docs' code blocks: find the ones marked runnable, and run them the way a reader would.

Convention (written up in docs/contributing-docs.md): an HTML comment on the line right before
a fenced block, at the same indentation, marks it. The comment is invisible on the site.

* ``<!-- run -->`` before a ``python`` block: the block is a script, run with the venv's Python
  in the page's working folder; before a ``bash`` block: run with ``bash -euo pipefail`` there,
  with the venv's ``bin`` first on ``PATH`` (so ``taskmill`` and ``python`` are the venv's).
* ``<!-- file: NAME -->``: the block is written to ``NAME`` in the working folder, not run
  (a later block runs it: ``python train.py``).
* Options after ``run``: ``timeout=SECONDS`` (default 60), ``expect="TEXT"`` (the output must
  contain it), ``cwd=repo`` (a bash block runs in the repository root, for ``examples/...``).

Every page gets one working folder and one ``TASKMILL_HOME`` (an embedded store), shared by its
blocks in page order, so a page reads as one session at a terminal.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"

_MARKER = re.compile(r"^(?P<indent>\s*)<!--\s*(?P<kind>run|file)\b:?(?P<args>.*?)-->\s*$")
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
#: Variables a reader's shell may have that must not point the examples at another store.
_CLEARED = (
    "TASKMILL_STORE",
    "TASKMILL_ARTIFACTS",
    "TASKMILL_OUTPUT_URI",
    "TASKMILL_API_KEY",
    "TASKMILL_TASK_ID",
    "TASKMILL_RESUME",
    "TASKMILL_RECOMPUTE",
    "TASKMILL_PIPELINE_MODE",
)


@dataclass(frozen=True)
class Block:
    """One marked code block of a page."""

    page: str  #: path relative to docs/
    line: int  #: 1-based line of the opening fence
    lang: str
    kind: str  #: "run", "file" or "show" (not marked: shown, never run)
    code: str
    options: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


class DocsError(ValueError):
    """A marker that does not fit the convention (reported with page and line)."""


def extract(text: str, page: str) -> list[Block]:
    """Every fenced block of a markdown ``text``, in order: marked ones with kind "run" or
    "file", the others with kind "show". Raises DocsError for a marker not right above a fence,
    an unterminated fence, or a run marker on a language other than python and bash."""
    lines = text.split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        marker = _MARKER.match(lines[i])
        fence = _FENCE.match(lines[i + 1] if marker and i + 1 < len(lines) else lines[i])
        if marker and (not fence or fence["indent"] != marker["indent"]):
            raise DocsError(
                f"{page}:{i + 1}: a <!-- {marker['kind']} --> marker must be right above a code fence"
            )
        if not fence:
            i += 1
            continue
        start = i + 1 if marker else i  # index of the opening fence
        indent, close = fence["indent"], fence["fence"]
        body: list[str] = []
        j = start + 1
        while j < len(lines) and not (
            lines[j].strip().startswith(close) and not lines[j].strip()[len(close) :].strip()
        ):
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j].lstrip())
            j += 1
        if j == len(lines):
            raise DocsError(f"{page}:{start + 1}: code fence never closed")
        lang = fence["lang"].lower()
        kind, options = "show", {}
        if marker:
            kind, args = marker["kind"], marker["args"].strip()
            if kind == "file" and not args:
                raise DocsError(f"{page}:{i + 1}: <!-- file: NAME --> needs a file name")
            if kind == "run" and lang not in ("python", "bash"):
                raise DocsError(
                    f"{page}:{start + 1}: only python and bash blocks can run, not {lang or 'untyped'}"
                )
            options = _options(args, page, i + 1) if kind == "run" else {"name": args}
        blocks.append(Block(page, start + 1, lang, kind, "\n".join(body) + "\n", options))
        i = j + 1
    return blocks


def _options(args: str, page: str, line: int) -> dict[str, str]:
    options: dict[str, str] = {}
    for word in shlex.split(args):
        key, sep, value = word.partition("=")
        if not sep or key not in ("timeout", "expect", "cwd"):
            raise DocsError(f"{page}:{line}: unknown run option {word!r} (timeout=, expect=, cwd=repo)")
        options[key] = value
    return options


def pages() -> list[tuple[Path, str]]:
    """Every markdown page of the site, and the README, with the name blocks are reported by."""
    found = sorted(p for p in DOCS.rglob("*.md") if "_hooks" not in p.parts)
    return [(p, str(p.relative_to(DOCS))) for p in found] + [(REPO / "README.md", "README.md")]


def all_blocks() -> list[Block]:
    """The fenced blocks of every page (and the README)."""
    return [b for path, name in pages() for b in extract(path.read_text(), name)]


@dataclass
class PageSession:
    """One page's working folder and store; runs its blocks in order (each block at most once)."""

    workdir: Path
    blocks: list[Block]
    done: int = 0  #: how many of ``blocks`` have been run or written

    def environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
        env["TASKMILL_HOME"] = str(self.workdir / ".taskmill")
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env["PYTHONPATH"] = str(self.workdir)  # steps import the page's modules like a reader's would
        env.pop("COLUMNS", None)
        env["NO_COLOR"] = "1"
        return env

    def __post_init__(self) -> None:
        self.blocks = [b for b in self.blocks if b.kind != "show"]
        (self.workdir / ".venv").symlink_to(REPO / ".venv")  # `.venv/bin/taskmill` works as in the repo

    def run_through(self, block: Block) -> subprocess.CompletedProcess[str] | None:
        """Run (or write) every block up to and including ``block``; return ``block``'s result."""
        result = None
        target = self.blocks.index(block)
        while self.done <= target:
            current = self.blocks[self.done]
            self.done += 1
            result = self._execute(current)
            if result is not None and result.returncode != 0 and current is not block:
                raise AssertionError(f"an earlier block of the page failed: {current.id}\n{_report(result)}")
        return result

    def _execute(self, block: Block) -> subprocess.CompletedProcess[str] | None:
        if block.kind == "file":
            path = self.workdir / block.options["name"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(block.code)
            return None
        timeout = float(block.options.get("timeout", 60))
        cwd = REPO if block.options.get("cwd") == "repo" else self.workdir
        if block.lang == "python":
            script = self.workdir / f"block_{block.line}.py"
            script.write_text(block.code)
            argv = [sys.executable, str(script)]
        else:
            argv = ["bash", "-euo", "pipefail", "-c", block.code]
        return _run(argv, cwd, self.environ(), timeout, block.id)


def _run(
    argv: list[str], cwd: Path, env: dict[str, str], timeout: float, name: str
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in a session of its own; when it ends (or times out), whatever it left running
    in the background (an agent, a server) is stopped too. Output goes to files, not pipes, so a
    straggler holding them open cannot keep the block from ending."""
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=out, stderr=err, text=True, start_new_session=True
        )
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = -1
            err.write(f"\n[timed out after {timeout:.0f} s]\n")
        finally:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            proc.wait()
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(
            f"{name} ({time.monotonic() - started:.1f} s)", code, out.read(), err.read()
        )


def _report(result: subprocess.CompletedProcess[str]) -> str:
    return (
        f"exit {result.returncode}\n--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
    )


def check(block: Block, result: subprocess.CompletedProcess[str] | None) -> None:
    """Fail with the block's output unless it ran cleanly (and printed ``expect=``)."""
    if result is None:
        return
    assert result.returncode == 0, f"{block.id} failed: {_report(result)}"
    expected = block.options.get("expect")
    if expected is not None:
        assert expected in result.stdout + result.stderr, (
            f"{block.id}: {expected!r} not in output\n{_report(result)}"
        )
