"""Confinement decisions on their own: which uris a server with a given location and allow-list reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskmill.errors import ConfigError
from taskmill.server.confine import ArtifactLocationRefused, Confinement


def test_local_paths_are_resolved_before_the_containment_test(tmp_path: Path) -> None:
    root = tmp_path / "art"
    (root / "t").mkdir(parents=True)
    (root / "t" / "f").write_bytes(b"x")
    (tmp_path / "outside").write_bytes(b"secret")
    (root / "t" / "out").symlink_to(tmp_path / "outside")
    (root / "t" / "in").symlink_to(root / "t" / "f")
    (tmp_path / "via").symlink_to(root)  # a link to the location itself leads inside
    c = Confinement(str(root))
    assert c.resolve(str(root / "t" / "f")) == str(root / "t" / "f")
    assert c.resolve(f"file://{root}/t/f") == str(root / "t" / "f")
    assert c.resolve(str(root / "t" / "in")) == str(root / "t" / "f")  # the checked path is served
    assert c.resolve(str(tmp_path / "via" / "t" / "f")) == str(root / "t" / "f")
    with pytest.raises(ArtifactLocationRefused, match="once symbolic links are resolved"):
        c.resolve(str(root / "t" / "out"))
    for uri in (str(root) + "-other/f", f"{root}/t/../../outside", "t/f", "~/f", "file://host/etc/passwd"):
        with pytest.raises(ArtifactLocationRefused) as info:
            c.check(uri)
        assert info.value.uri == uri and "server.artifact_allow" in str(info.value)


def test_url_prefixes_match_scheme_host_port_and_whole_segments() -> None:
    c = Confinement("s3://bucket/runs", ["https://models.example.com/w", "/"])
    for ok in (
        "s3://bucket/runs",
        "s3://bucket/runs/a/b.bin",
        "s3://BUCKET/runs/x",
        "https://models.example.com/w/m.pt",
    ):
        assert c.resolve(ok) == ok
    assert c.resolve("/etc/hostname") == "/etc/hostname"  # "/" allows every local path: an opt-out
    for bad in (
        "s3://bucket/runs-2/x",
        "s3://bucket/other",
        "s3://bucket2/runs/x",
        "s3://bucket/runs/../other",
        "s3://bucket/runs/%2E%2E/other",
        "s3://bucket/runs/x::http://127.0.0.1/",
        "http://models.example.com/w/m.pt",
        "https://models.example.com:8443/w/m.pt",
        "https://models.example.com@127.0.0.1/w/m.pt",
        "https://models.example.com/weights",
        "https://127.0.0.1/w",
        "gs://bucket/runs/x",
    ):
        with pytest.raises(ArtifactLocationRefused):
            c.check(bad)


@pytest.mark.parametrize("prefix", ["relative", "~/x", "https://", "file://host/x", "/a/../b", "s3://u@b/x"])
def test_unusable_prefixes_are_a_config_error(prefix: str) -> None:
    with pytest.raises(ConfigError, match=r"server\.artifact_allow"):
        Confinement("/srv/art", [prefix])


def test_blank_prefixes_are_ignored() -> None:  # a trailing comma in the environment variable
    assert Confinement("/srv/art", ["", "  ", "/data"]).readable == ("/srv/art", "/data")
