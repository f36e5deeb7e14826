"""``taskmill datasets create|add|finalize|list|get`` over the SDK's Dataset, on a real store."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Cli


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_create_add_finalize_list_get_and_a_child_version(cli: Cli, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.csv").write_text("x,y\n1,2\n")
    (src / "sub" / "b.txt").write_text("hello")

    created = cli("datasets", "create", "--project", "data", "--name", "iris", "--tag", "raw")
    assert created.exit_code == 0, created.output
    ds_id = created.stdout.strip()
    added = cli("datasets", "add", ds_id[:8], str(src))
    assert added.exit_code == 0, added.output
    assert "Added 2 new or changed file(s) to dataset 'iris' 1.0.0" in added.stdout

    assert "No datasets match. (--all includes unfinalized ones)" in cli("datasets", "list").stderr
    drafts = cli("datasets", "list", "--all", "--json")
    assert [row["id"] for row in json.loads(drafts.stdout)] == [ds_id]

    final = cli("datasets", "finalize", ds_id)
    assert (
        final.exit_code == 0
        and "Finalized dataset 'iris' 1.0.0" in final.stdout
        and "2 file(s)" in final.stdout
    )
    listed = cli("datasets", "list", "--project", "data")
    assert listed.exit_code == 0 and ds_id[:8] in listed.stdout and "iris" in listed.stdout
    assert "1.0.0" in listed.stdout and "raw" in listed.stdout

    got = cli("datasets", "get", ds_id)
    assert got.exit_code == 0, got.output
    assert _files(Path(got.stdout.strip())) == {"a.csv": "x,y\n1,2\n", "sub/b.txt": "hello"}

    # A child version stores only what changed; get by name finds the newest.
    child = cli("datasets", "create", "-p", "data", "-n", "iris", "--parent", ds_id).stdout.strip()
    (src / "a.csv").write_text("x,y\n3,4\n")
    assert "Added 1 new or changed" in cli("datasets", "add", child, str(src / "a.csv")).stdout
    assert cli("datasets", "finalize", child).exit_code == 0
    target = tmp_path / "copy"
    by_name = cli("datasets", "get", "--project", "data", "--name", "iris", "--to", str(target))
    assert by_name.exit_code == 0, by_name.output
    assert "1.0.1" in by_name.stderr and by_name.stdout.strip() == str(target)
    assert _files(target) == {"a.csv": "x,y\n3,4\n", "sub/b.txt": "hello"}


def test_errors_are_one_line(cli: Cli, tmp_path: Path) -> None:
    ds_id = cli("datasets", "create", "-p", "data", "-n", "empty").stdout.strip()
    unfinalized = cli("datasets", "get", ds_id)
    assert unfinalized.exit_code == 1 and "is not finalized; finalize() it first" in unfinalized.stderr
    assert cli("datasets", "finalize", ds_id).exit_code == 0
    again = cli("datasets", "add", ds_id, str(tmp_path))
    assert again.exit_code == 1 and "it is finalized; create a new version" in again.stderr
    missing = cli("datasets", "get", "--project", "data", "--name", "nope")
    assert missing.exit_code == 1 and "no dataset named 'nope'" in missing.stderr
