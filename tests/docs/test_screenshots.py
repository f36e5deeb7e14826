"""The pictures in the docs: every image a page shows exists and has alt text, and every UI
screenshot in docs/img/ui/ is taken by a browser test (``./scripts/docs screenshots`` retakes
them), so none can go stale or linger unnoticed. Normal test runs never write docs/img/."""

from __future__ import annotations

import ast
import re
import struct
import zlib
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.ui.conftest import SCREENSHOTS_ENV, _png_chunks, docs_screenshots, recompress_png

DOCS = ROOT / "docs"
UI_IMAGES = DOCS / "img" / "ui"
SCREENS_MODULE = ROOT / "tests" / "ui" / "test_screens.py"

#: Every image in docs/img/ui/ -> the test in tests/ui/test_screens.py that takes it.
MANIFEST = {
    "pipelines.png": "test_pipelines_list",
    "tasks.png": "test_tasks_table",
    "task-scalars.png": "test_task_scalars",
    "run-live.png": "test_live_run_step_by_step",
    "run-live-1.png": "test_live_run_step_by_step",
    "run-live-2.png": "test_live_run_step_by_step",
    "run-live-3.png": "test_live_run_step_by_step",
    "run-live-4.png": "test_live_run_step_by_step",
    "run-live-animated.png": "test_live_run_step_by_step",
}
#: Budget for the committed screenshots (bytes): they are in every clone.
TOTAL_BUDGET = 400_000
IMAGE_BUDGET = 120_000

#: ``![alt](src)`` (optionally with a title or attributes after it) and ``<img ... src="...">``.
MARKDOWN_IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<src>[^)\s]+)[^)]*\)")
HTML_IMAGE = re.compile(r"<img\b(?P<attrs>[^>]*)>", re.IGNORECASE)
#: Code (fenced blocks, inline spans) shows markup as text: images there are examples, not shown.
CODE = re.compile(r"^(```|~~~).*?^\1|`[^`\n]+`", re.MULTILINE | re.DOTALL)


def _references() -> list[tuple[Path, str, str]]:
    """(page, src, alt) for every local image a docs page shows."""
    found = []
    for page in sorted(DOCS.rglob("*.md")):
        text = CODE.sub("", page.read_text())
        for m in MARKDOWN_IMAGE.finditer(text):
            found.append((page, m["src"], m["alt"]))
        for m in HTML_IMAGE.finditer(text):
            src = re.search(r'src="([^"]+)"', m["attrs"])
            alt = re.search(r'alt="([^"]*)"', m["attrs"])
            if src:
                found.append((page, src[1], alt[1] if alt else ""))
    return [(page, src, alt) for page, src, alt in found if "://" not in src]


def _shot_names(test: ast.FunctionDef) -> set[str]:
    """The string literals in a test function (the names it passes to doc_shot/save_doc_png)."""
    return {n.value for n in ast.walk(test) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def test_every_image_a_page_shows_exists_and_has_alt_text() -> None:
    refs = _references()
    assert any(src.startswith("../img/ui/") for _, src, _ in refs), "the UI guide shows no screenshot"
    for page, src, alt in refs:
        target = (page.parent / src.split("#")[0]).resolve()
        assert target.is_file(), f"{page.relative_to(ROOT)} shows {src}, which does not exist"
        assert alt.strip(), f"{page.relative_to(ROOT)} shows {src} without alt text"


def test_every_ui_screenshot_is_taken_by_a_test_and_shown() -> None:
    on_disk = {p.name for p in UI_IMAGES.glob("*")}
    assert on_disk == set(MANIFEST), (
        "docs/img/ui/ and MANIFEST differ: add the image's test to MANIFEST, or delete the image "
        f"(only on disk: {sorted(on_disk - set(MANIFEST))}, "
        f"only in MANIFEST: {sorted(set(MANIFEST) - on_disk)})"
    )
    tests = {
        node.name: node
        for node in ast.parse(SCREENS_MODULE.read_text()).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }
    for image, test in MANIFEST.items():
        assert test in tests, f"{image}: no test {test} in tests/ui/test_screens.py"
        assert Path(image).stem in _shot_names(tests[test]), f"{test} does not take {image}"
    shown = {Path(src).name for _, src, _ in _references() if "img/ui/" in src}
    assert not set(MANIFEST) - shown, f"screenshots no page shows: {sorted(set(MANIFEST) - shown)}"


def test_screenshots_are_pngs_within_budget() -> None:
    sizes = {p.name: p.stat().st_size for p in UI_IMAGES.glob("*.png")}
    for name, size in sizes.items():
        assert (UI_IMAGES / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert size <= IMAGE_BUDGET, f"{name} is {size} bytes (budget {IMAGE_BUDGET})"
    assert sum(sizes.values()) <= TOTAL_BUDGET, f"screenshots total {sum(sizes.values())} bytes"


def test_the_animation_is_a_well_formed_apng() -> None:
    chunks = list(_png_chunks((UI_IMAGES / "run-live-animated.png").read_bytes()))
    kinds = [kind for kind, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
    assert kinds.index(b"acTL") < kinds.index(b"IDAT")  # the animation is declared before the data
    (frames, plays) = struct.unpack(">II", dict(chunks)[b"acTL"])
    assert (frames, plays) == (4, 0) and kinds.count(b"fcTL") == 4  # four states, looping
    width, height, depth, colour = struct.unpack(">IIBB", chunks[0][1][:10])
    channels = {2: 3, 6: 4}[colour]
    sequence = []
    for kind, body in chunks:
        if kind == b"fcTL":
            sequence.append(struct.unpack(">I", body[:4])[0])
            assert struct.unpack(">II", body[4:12]) == (width, height)
        elif kind in (b"IDAT", b"fdAT"):
            data = body if kind == b"IDAT" else body[4:]
            if kind == b"fdAT":
                sequence.append(struct.unpack(">I", body[:4])[0])
            # each frame's scanlines: a filter byte and the pixels of each row
            assert len(zlib.decompress(data)) == height * (1 + width * channels * depth // 8)
    assert sequence == list(range(len(sequence)))


def test_recompressing_keeps_the_pixels() -> None:
    original = (UI_IMAGES / "pipelines.png").read_bytes()
    again = recompress_png(original)

    def pixels(png: bytes) -> bytes:
        return zlib.decompress(b"".join(d for kind, d in _png_chunks(png) if kind == b"IDAT"))

    assert pixels(again) == pixels(original)
    assert len(again) <= len(original) + 64


def test_only_the_screenshots_script_writes_into_docs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SCREENSHOTS_ENV, raising=False)
    assert docs_screenshots() is None  # a normal run: test-output/ only
    monkeypatch.setenv(SCREENSHOTS_ENV, "docs/img/ui")
    assert docs_screenshots() == UI_IMAGES
    script = (ROOT / "scripts" / "docs").read_text()
    assert f"{SCREENSHOTS_ENV}=" in script and "tests/ui/test_screens.py" in script
