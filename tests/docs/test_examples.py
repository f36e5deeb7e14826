"""Every code block the docs mark runnable runs, as a reader would run it, on a fresh embedded store.

Blocks marked ``<!-- run -->`` are executed in page order, each page in its own folder with its
own ``TASKMILL_HOME`` (see :mod:`tests.docs.blocks` for the convention). Every ``python`` block,
marked or not, must at least compile, so no snippet on the site is a syntax error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.blocks import Block, PageSession, all_blocks, check

BLOCKS = all_blocks()
RUNNABLE = [b for b in BLOCKS if b.kind == "run"]
#: ``--8<--`` blocks are filled with a repository file at build time (tests/examples runs those).
PYTHON = [b for b in BLOCKS if b.lang == "python" and not b.code.startswith("--8<--")]


@pytest.fixture(scope="module")
def sessions() -> dict[str, PageSession]:
    """One session per page, created on first use and shared by that page's blocks."""
    return {}


def _session(
    sessions: dict[str, PageSession], page: str, tmp_path_factory: pytest.TempPathFactory
) -> PageSession:
    if page not in sessions:
        workdir: Path = tmp_path_factory.mktemp(page.replace("/", "_").removesuffix(".md"))
        sessions[page] = PageSession(workdir, [b for b in BLOCKS if b.page == page])
    return sessions[page]


@pytest.mark.parametrize("block", RUNNABLE, ids=[b.id for b in RUNNABLE])
def test_runnable_block(
    block: Block, sessions: dict[str, PageSession], tmp_path_factory: pytest.TempPathFactory
) -> None:
    session = _session(sessions, block.page, tmp_path_factory)
    check(block, session.run_through(block))


@pytest.mark.parametrize("block", PYTHON, ids=[b.id for b in PYTHON])
def test_python_block_compiles(block: Block) -> None:
    compile(block.code, block.id, "exec")


def test_the_docs_have_runnable_examples() -> None:
    # A convention change that silently matched nothing would pass every test above.
    assert len(RUNNABLE) >= 20, [b.id for b in RUNNABLE]
    assert {b.lang for b in RUNNABLE} == {"python", "bash"}
