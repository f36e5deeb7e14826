"""Pytest plugin: a real S3 endpoint (``moto_server`` subprocess) for the whole test session.

Register with ``pytest_plugins = ["tests.plugins.s3"]`` in the root ``conftest.py``. Tests ask for
the ``s3_server`` fixture and pass its ``storage_options`` (fsspec) or ``env`` (botocore variables,
for subprocesses) explicitly; nothing global (``os.environ``) is changed. When moto cannot start,
the fixture skips with the reason (CI turns skips into failures).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

#: Seconds to wait for moto_server to answer before giving up.
STARTUP_TIMEOUT = 30.0
#: Credentials moto accepts (any value works; these are the conventional ones).
ACCESS_KEY = "test"
SECRET_KEY = "test"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    """A running S3-compatible endpoint with one empty-at-start bucket."""

    endpoint_url: str
    bucket: str
    #: fsspec/s3fs options: ``fsspec.filesystem("s3", **storage_options)``.
    storage_options: dict[str, Any] = field(default_factory=dict)
    #: ``AWS_*`` variables for botocore in a subprocess (includes ``AWS_ENDPOINT_URL``).
    env: dict[str, str] = field(default_factory=dict)

    def url(self, *parts: str) -> str:
        """``s3://<bucket>/<parts...>``."""
        return "/".join([f"s3://{self.bucket}", *parts])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_up(endpoint: str, proc: subprocess.Popen[bytes]) -> str | None:
    """None once the server answers HTTP; the reason otherwise."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"moto_server exited with code {proc.returncode}"
        try:
            with urllib.request.urlopen(endpoint + "/moto-api/", timeout=2):
                return None
        except urllib.error.HTTPError:
            return None  # any HTTP answer means it is serving
        except OSError:
            time.sleep(0.1)
    return f"moto_server did not answer on {endpoint} within {STARTUP_TIMEOUT:.0f} s"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real ``moto_server`` on 127.0.0.1 (random port) with the bucket ``taskmill-test``."""
    executable = Path(sys.executable).parent / "moto_server"
    if not executable.exists():
        pytest.skip(f"moto_server not found next to {sys.executable}; pip install 'moto[server]'")
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        # Output goes to a file, not a pipe: an unread pipe would block the server once full.
        proc = subprocess.Popen(
            [str(executable), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
        )
        try:
            problem = _wait_until_up(endpoint, proc)
            if problem is not None:
                log.seek(0)
                pytest.skip(f"{problem}: {log.read().decode(errors='replace')[-2000:]}")
            server = _make_bucket(endpoint, "taskmill-test")
            yield server
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _make_bucket(endpoint: str, bucket: str) -> S3Server:
    import boto3  # type: ignore[import-untyped]

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
    )
    client.create_bucket(Bucket=bucket)
    env = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint,
    }
    options = {
        "key": ACCESS_KEY,
        "secret": SECRET_KEY,
        "client_kwargs": {"endpoint_url": endpoint, "region_name": REGION},
    }
    return S3Server(endpoint_url=endpoint, bucket=bucket, storage_options=options, env=env)


def subprocess_env(server: S3Server) -> dict[str, str]:
    """``os.environ`` plus the server's ``AWS_*`` variables, for ``subprocess.run(env=...)``."""
    return {**os.environ, **server.env}
