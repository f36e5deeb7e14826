"""StorageManager's folder, listing and metadata calls (ClearML names) on local paths and on a
real S3 server (moto): what ClearML scripts use to move data sets around."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskmill import StorageManager
from taskmill.errors import ArtifactError
from tests.plugins.s3 import S3Server


def _tree(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "a.json").write_text('{"a": 1}')
    (root / "b.txt").write_text("bee")
    (root / "sub" / "c.json").write_text('{"c": 3}')
    return root


@pytest.fixture(params=["local", "s3"])
def base(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Where the uploads go: a local folder, or a fresh prefix on the S3 server."""
    if request.param == "local":
        return str(tmp_path / "remote")
    s3: S3Server = request.getfixturevalue("s3_server")
    for key, value in s3.env.items():
        monkeypatch.setenv(key, value)
    return s3.url(f"sm-{tmp_path.name}")


def test_folders_round_trip_with_listing_sizes_and_wildcards(base: str, tmp_path: Path) -> None:
    src = _tree(tmp_path / "src")
    remote = f"{base}/data"
    assert StorageManager.upload_folder(src, remote) == remote
    assert StorageManager.list(remote) == ["a.json", "b.txt", "sub/c.json"]
    assert StorageManager.list(remote, return_full_path=True)[0] == f"{remote}/a.json"
    assert {"name": "b.txt", "size": 3} in StorageManager.list(remote, with_metadata=True)
    assert StorageManager.exists_file(f"{remote}/b.txt")
    assert not StorageManager.exists_file(f"{remote}/nope.txt")
    assert not StorageManager.exists_file(f"{remote}/sub")  # a folder is not a file
    assert StorageManager.get_file_size_bytes(f"{remote}/sub/c.json") == len('{"c": 3}')
    assert StorageManager.get_metadata(f"{remote}/b.txt") == {"name": "b.txt", "size": 3}
    assert StorageManager.get_metadata(f"{remote}/nope.txt") is None

    everything = StorageManager.download_folder(remote, str(tmp_path / "back"))
    assert everything is not None
    assert (Path(everything) / "sub" / "c.json").read_text() == '{"c": 3}'
    only_json = StorageManager.download_folder(remote, str(tmp_path / "json"), match_wildcard="*.json")
    assert only_json is not None
    assert sorted(p.relative_to(only_json).as_posix() for p in Path(only_json).rglob("*") if p.is_file()) == [
        "a.json",
        "sub/c.json",
    ]
    cached = StorageManager.download_folder(remote)  # no folder given: one in the cache
    assert cached is not None and (Path(cached) / "b.txt").read_text() == "bee"


def test_missing_things_are_clear_errors_or_silenced(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no folder at"):
        StorageManager.upload_folder(tmp_path / "missing", str(tmp_path / "remote"))
    with pytest.raises((ArtifactError, FileNotFoundError)):
        StorageManager.get_file_size_bytes(str(tmp_path / "missing.bin"))
    assert StorageManager.get_file_size_bytes(str(tmp_path / "missing.bin"), silence_errors=True) is None
    assert StorageManager.set_cache_file_limit(50) == 50


def test_download_file_zero_size_check_and_silenced_errors(tm_home: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    with pytest.raises(ArtifactError, match="skip_zero_size_check"):
        StorageManager.download_file(str(empty))
    assert StorageManager.download_file(str(empty), silence_errors=True) is None
    assert StorageManager.download_file(str(empty), skip_zero_size_check=True) == str(empty)
    assert StorageManager.download_file(str(tmp_path / "missing"), silence_errors=True) is None
    full = tmp_path / "full.bin"
    full.write_bytes(b"x" * 2500)
    copied = StorageManager.download_file(str(full), local_folder=str(tmp_path / "into"))
    assert copied is not None and Path(copied).read_bytes() == b"x" * 2500
    assert b"".join(StorageManager.get_stream(str(full), chunk_size=1000)) == b"x" * 2500
    assert [len(c) for c in StorageManager.get_stream(str(full), chunk_size=1000)] == [1000, 1000, 500]


def test_list_and_metadata_with_hash(base: str, tmp_path: Path) -> None:
    StorageManager.upload_folder(_tree(tmp_path / "src"), base)
    listed = StorageManager.list(base, with_metadata=True, read_hash=True)
    assert sorted(e["name"] for e in listed) == ["a.json", "b.txt", "sub/c.json"]
    assert all("hash" in e for e in listed)
    meta = StorageManager.get_metadata(f"{base}/b.txt", read_hash=True)
    assert meta is not None and meta["size"] == 3 and "hash" in meta
    if base.startswith("s3://"):
        assert meta["hash"]  # S3 reports an ETag


def test_files_server_is_the_default_artifact_location(tm_home: Path) -> None:
    assert Path(StorageManager.get_files_server()) == tm_home / "artifacts"
