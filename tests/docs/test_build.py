"""The site builds with ``mkdocs build --strict`` (no broken link, anchor or API reference), and
its generated parts hold what they should: every CLI command, the OpenAPI document, the API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.blocks import REPO

mkdocs = pytest.importorskip("mkdocs", reason="the docs tools are not installed: ./scripts/docs build")
pytest.importorskip("mkdocstrings_handlers.python")
pytest.importorskip("material")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once for this module, strictly."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
    return out


def test_every_page_of_the_nav_is_built(site: Path) -> None:
    pages = sorted(p.relative_to(site) for p in site.rglob("index.html") if "assets" not in p.parts)
    names = {str(p.parent) for p in pages}
    for expected in (
        "quickstart",
        "concepts",
        "guides",
        "reference/cli",
        "reference/http-api",
        "reference/configuration",
        "deployment",
        "troubleshooting",
        "clearml",
        "performance",
    ):
        assert expected in names, names
    assert len(pages) >= 30


def test_the_cli_reference_has_every_command(site: Path) -> None:
    from tests.docs.test_commands import commands

    html = (site / "reference" / "cli" / "index.html").read_text()
    for path in commands():
        assert f"<code>{path}</code>" in html, f"{path} missing from the CLI reference"
    assert "--services-mode [N]" in html  # options come from the commands' own help records


def test_the_openapi_document_is_the_servers(site: Path) -> None:
    document = json.loads((site / "reference" / "openapi.json").read_text())
    assert document["openapi"].startswith("3.")
    assert "/api/v1/health" in document["paths"]
    html = (site / "reference" / "http-api" / "index.html").read_text()
    assert "/api/v1/queues/claim" in html  # the endpoint table was generated
    assert 'href="../openapi.json"' in html or 'href="openapi.json"' in html


@pytest.mark.parametrize(
    ("page", "anchors"),
    [
        ("task", ["taskmill.Task.init", "taskmill.Task.connect", "taskmill.Task.upload_artifact"]),
        ("logger", ["taskmill.Logger.report_scalar", "taskmill.Logger.report_confusion_matrix"]),
        (
            "pipeline-controller",
            ["taskmill.PipelineController.add_function_step", "taskmill.PipelineController.start_locally"],
        ),
        (
            "pipeline-decorator",
            ["taskmill.PipelineDecorator.component", "taskmill.PipelineDecorator.pipeline"],
        ),
        ("dataset", ["taskmill.Dataset.create", "taskmill.Dataset.get_local_copy"]),
        (
            "models",
            ["taskmill.OutputModel.update_weights", "taskmill.InputModel", "taskmill.Model.query_models"],
        ),
        ("storage-manager", ["taskmill.StorageManager.get_local_copy"]),
        ("statuses-and-errors", ["taskmill.TaskStatus", "taskmill.errors.TaskmillError"]),
    ],
)
def test_the_api_reference_documents_the_public_classes(site: Path, page: str, anchors: list[str]) -> None:
    html = (site / "reference" / "api" / page / "index.html").read_text()
    for anchor in anchors:
        assert f'id="{anchor}"' in html, f"{anchor} is not documented on {page}"
