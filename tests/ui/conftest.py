"""Fixtures for the browser tests: real Chromium (Debian's, driven by Playwright), a real server
(uvicorn thread) over the SQLite store of the test's taskmill home, and screenshots.

Pipelines run in this process (``debug_pipeline``) or as real processes on the same store; the
server sees their writes through the store, as it would in production.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from taskmill.runs import commands
from taskmill.store.base import TaskStore
from tests.conftest import ROOT
from tests.server.harness import Served, served

CHROMIUM = Path("/usr/bin/chromium")
#: Headless, offline-friendly flags (see shared/reference/test-infrastructure.md).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = ROOT / "test-output" / "ui"
VIEWPORT = {"width": 1440, "height": 900}
#: Set to a folder (``docs/img/ui``) to write the documentation's screenshots there too.
SCREENSHOTS_ENV = "TASKMILL_SCREENSHOTS"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for the whole session."""
    if not CHROMIUM.exists():
        pytest.skip("Chromium is missing: ./scripts/test installs it (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=15_000)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def ui_server(tm_home: Path, tmp_path: Path) -> Iterator[Served]:
    """A server without authentication over the store of ``tm_home``."""
    with served(
        f"sqlite:///{tm_home}/store.db", tmp_path, auth=False, artifacts_uri=str(tm_home / "artifacts")
    ) as s:
        yield s


@pytest.fixture
def auth_server(tm_home: Path, tmp_path: Path) -> Iterator[Served]:
    """A server that requires an API key, over the store of ``tm_home``."""
    with served(
        f"sqlite:///{tm_home}/store.db", tmp_path, auth=True, artifacts_uri=str(tm_home / "artifacts")
    ) as s:
        yield s


@dataclass
class Watched:
    """A browser page of one test, with what went wrong on it (script errors, alert boxes)."""

    page: Any
    errors: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)

    def shot(self, name: str) -> Path:
        """Save a screenshot under test-output/ui/ for people to look at."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def doc_shot(self, name: str, clip: dict[str, float] | None = None) -> bytes:
        """A screenshot the documentation shows (``docs/img/ui/NAME.png``), of the viewport or
        of the ``clip`` rectangle (x, y, width, height in CSS pixels), saved by :func:`save_doc_png`.
        Returns the PNG (for :func:`apng` frames)."""
        png = self.page.screenshot(clip=clip, animations="disabled", caret="hide")
        return save_doc_png(name, recompress_png(png))


def save_doc_png(name: str, png: bytes) -> bytes:
    """Write a documentation image: always under test-output/ui/docs/, and into
    ``$TASKMILL_SCREENSHOTS`` as well when that is set (``./scripts/docs screenshots``), so a
    normal test run never rewrites the committed images. Overwrites; returns ``png``."""
    folder = docs_screenshots()
    for parent in [SCREENSHOTS / "docs"] + ([folder] if folder is not None else []):
        parent.mkdir(parents=True, exist_ok=True)
        (parent / f"{name}.png").write_bytes(png)
    return png


def docs_screenshots() -> Path | None:
    """Where documentation screenshots are written besides test-output/: the folder named by
    ``TASKMILL_SCREENSHOTS`` (relative to the repository root), or ``None`` when unset."""
    folder = os.environ.get(SCREENSHOTS_ENV, "").strip()
    return (ROOT / folder) if folder else None


def recompress_png(png: bytes) -> bytes:
    """The same PNG with its image data recompressed at zlib level 9 into one IDAT chunk;
    pixels and the other chunks are unchanged (the filtered scanlines are kept as they are)."""
    chunks = list(_png_chunks(png))
    data = zlib.compress(zlib.decompress(b"".join(d for t, d in chunks if t == b"IDAT")), 9)
    out = [PNG_SIGNATURE]
    for kind, body in chunks:
        if kind != b"IDAT":
            out.append(_png_chunk(kind, body))
        elif data:  # the first IDAT chunk: all the data goes there
            out.append(_png_chunk(b"IDAT", data))
            data = b""
    return b"".join(out)


def apng(frames: list[bytes], delays_ms: list[int]) -> bytes:
    """An animated PNG (looping forever) of same-sized PNG ``frames``, each shown for its delay;
    viewers without APNG support show the first frame. The frames' compressed data is reused
    as is, so the result is about the sum of the frames' sizes."""
    parsed = [list(_png_chunks(frame)) for frame in frames]
    heads = [next(d for t, d in chunks if t == b"IHDR") for chunks in parsed]
    assert len(set(heads)) == 1, "APNG frames must have the same size and pixel format"
    width, height = struct.unpack(">II", heads[0][:8])
    out = [
        PNG_SIGNATURE,
        _png_chunk(b"IHDR", heads[0]),
        _png_chunk(b"acTL", struct.pack(">II", len(frames), 0)),
    ]
    sequence = 0
    for i, (chunks, delay) in enumerate(zip(parsed, delays_ms, strict=True)):
        control = struct.pack(">IIIIIHHBB", sequence, width, height, 0, 0, delay, 1000, 0, 0)
        out.append(_png_chunk(b"fcTL", control))
        sequence += 1
        data = b"".join(d for t, d in chunks if t == b"IDAT")
        if i == 0:
            out.append(_png_chunk(b"IDAT", data))
        else:
            out.append(_png_chunk(b"fdAT", struct.pack(">I", sequence) + data))
            sequence += 1
    out.append(_png_chunk(b"IEND", b""))
    return b"".join(out)


def _png_chunks(png: bytes) -> Iterator[tuple[bytes, bytes]]:
    assert png[:8] == PNG_SIGNATURE, "not a PNG"
    at = 8
    while at < len(png):
        (size,) = struct.unpack(">I", png[at : at + 4])
        yield png[at + 4 : at + 8], png[at + 8 : at + 8 + size]
        at += 12 + size


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def open_page(browser: Any, base_url: str) -> Watched:
    """A fresh browser context and page on ``base_url`` that records errors and alert boxes;
    confirmation boxes (abort, resume) are accepted."""
    context = browser.new_context(viewport=VIEWPORT, base_url=base_url)
    page = context.new_page()
    watched = Watched(page)
    page.on("pageerror", lambda exc: watched.errors.append(str(exc)))

    def on_dialog(dialog: Any) -> None:
        if dialog.type == "confirm":
            dialog.accept()
        else:
            watched.alerts.append(dialog.message)
            dialog.dismiss()

    page.on("dialog", on_dialog)
    return watched


@pytest.fixture
def web(browser: Any, ui_server: Served) -> Iterator[Watched]:
    """A page on ``ui_server``; the test fails on any script error or alert box."""
    watched = open_page(browser, ui_server.url)
    yield watched
    watched.page.context.close()
    assert not watched.errors, f"script errors on the page: {watched.errors}"
    assert not watched.alerts, f"alert boxes opened (escaping failed?): {watched.alerts}"


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` (tests may poll; the code under test does not)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.05)


def pipeline_env(tm_home: Path) -> dict[str, str]:
    """Environment of a pipeline process on the store of ``tm_home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKMILL_")}
    return {**env, "TASKMILL_HOME": str(tm_home), "PYTHONPATH": str(ROOT)}


@dataclass
class Gated:
    """The gated pipeline running in its own process; :meth:`release` lets a step finish."""

    proc: subprocess.Popen[bytes]
    gate: Path
    run_id: str

    def release(self, step: str) -> None:
        (self.gate / step).touch()


@pytest.fixture
def gated(tm_home: Path, store: TaskStore, tmp_path: Path) -> Iterator[Callable[[], Gated]]:
    """Start the gated pipeline (see tests.ui.resources.GATED_SCRIPT); returns once step
    ``first`` runs. The process is killed at the end of the test if still alive."""
    from tests.ui.resources import GATED_SCRIPT

    started: list[Gated] = []

    def start() -> Gated:
        gate = tmp_path / f"gate{len(started)}"
        gate.mkdir()
        script = tmp_path / "gated.py"
        script.write_text(GATED_SCRIPT)
        known = {r.id for r in _runs(store)}
        proc = subprocess.Popen(
            [sys.executable, str(script), str(gate)],
            env=pipeline_env(tm_home),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def first_running() -> bool:
            fresh = [r for r in _runs(store) if r.id not in known]
            if fresh and dict(store.get_nodes(fresh[0].id)).get("first", {}).get("status") == "running":
                started.append(Gated(proc, gate, fresh[0].id))
                return True
            assert proc.poll() is None, "the gated pipeline process ended early"
            return False

        wait_until(first_running, 60, "step 'first' of the gated pipeline to run")
        return started[-1]

    yield start
    for g in started:
        if g.proc.poll() is None:
            g.proc.kill()
        g.proc.wait()


def _runs(store: TaskStore) -> list[Any]:
    try:
        return list(commands.list_runs(store, "ui-tests", "gated"))
    except Exception:  # no run yet
        return []
