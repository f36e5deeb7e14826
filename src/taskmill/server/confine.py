"""Which artifact locations the server may read bytes from: its own artifact location and an allow-list.

An artifact or model record is only a pointer; without this check, any API key could record
``/etc/passwd``, the server's own database or ``http://127.0.0.1:<port>/...`` and have the server
stream it back. :class:`Confinement` decides, for a record's ``uri``, whether it lies inside

* the server's artifact location (where uploads through the server go, and where clients that can
  reach it write directly), or
* one of the prefixes of the setting ``server.artifact_allow`` (environment
  ``TASKMILL_SERVER_ARTIFACT_ALLOW``, comma-separated): absolute local folders (``/data/models``,
  ``file:///data/models``; ``/`` allows every local path) or URLs with a host
  (``s3://bucket/prefix``, ``https://models.example.com/weights``).

Local paths must be absolute, contain no ``..`` segment, and are resolved (symbolic links
included) before the containment test, so a link inside the location that points outside it is
refused; ``file://`` URLs must be ``file:///absolute/path``. URLs must not carry credentials,
``.``/``..`` segments or fsspec chaining (``::``), and match a prefix only on the same scheme, host and
port and at a ``/`` boundary: loopback and internal hosts are refused unless a prefix names them.

The routes check at record time (``POST .../artifacts`` and ``.../models`` answer 422 naming the
uri and the setting, and store nothing) and again before serving bytes (a record written into the
database directly keeps being listed, as text, but its bytes are refused). Checks are cheap and
blocking (a ``realpath`` of local paths, no network); the object is immutable and thread-safe.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from taskmill.artifacts import transfer
from taskmill.errors import ConfigError

#: The setting (config file key) that lists extra readable locations.
SETTING = "server.artifact_allow"
#: The environment variable of :data:`SETTING` (comma-separated prefixes).
ENV_VAR = "TASKMILL_SERVER_ARTIFACT_ALLOW"
#: Attribute of ``app.state`` holding the app's :class:`Confinement` (the web UI reads it there).
STATE_KEY = "artifact_confinement"


class ArtifactLocationRefused(ValueError):
    """Raised when a record's ``uri`` lies outside what this server may read (HTTP 422).

    ``uri`` is the refused location, ``setting`` and ``env_var`` the setting that would allow it.
    """

    def __init__(self, uri: str, reason: str, readable: Sequence[str]) -> None:
        self.uri = uri
        self.setting = SETTING
        self.env_var = ENV_VAR
        where = ", ".join(readable)
        super().__init__(
            f"artifact location '{uri}' is refused: {reason}. This server reads artifact bytes only "
            f"from {where}; to allow another location, add its prefix to the server setting "
            f"{SETTING} (environment {ENV_VAR}, comma-separated) and restart the server"
        )


class _Unusable(ValueError):
    """A location that cannot be checked at all (relative path, ``..``, credentials...)."""


@dataclass(frozen=True, slots=True)
class _Local:
    path: str  #: absolute and normalised, not resolved: links are resolved at each check

    def contains(self, other: _Local) -> bool:
        root = os.path.realpath(self.path)
        real = os.path.realpath(other.path)
        return os.path.commonpath((root, real)) == root


@dataclass(frozen=True, slots=True)
class _Remote:
    scheme: str
    host: str
    port: int | None
    path: str  #: without a trailing ``/`` ("" for the whole host or bucket)

    def contains(self, other: _Remote) -> bool:
        if (self.scheme, self.host, self.port) != (other.scheme, other.host, other.port):
            return False
        return not self.path or other.path == self.path or other.path.startswith(self.path + "/")


_Location = _Local | _Remote


def _parse(uri: str) -> _Location:
    """The location ``uri`` names; raises :class:`_Unusable` saying why it cannot be checked."""
    if not uri or any(ord(ch) < 32 or ord(ch) == 127 for ch in uri):
        raise _Unusable("it is empty or contains control characters")
    kind = transfer.scheme(uri)
    if transfer.is_local(uri):  # the same test the artifact storage uses to pick os calls
        path = uri
        if kind:
            path = uri.partition("://")[2]
            if not path.startswith("/"):
                raise _Unusable(f"a {kind}:// URL must be {kind}:///absolute/path (no host)")
        if not path.startswith("/"):  # relative, or ``~``: would be the server's cwd or home
            raise _Unusable("it is not an absolute path")
        if ".." in path.split("/"):
            raise _Unusable("it contains a '..' segment")
        return _Local(os.path.normpath(path))
    if "::" in uri:
        raise _Unusable("it chains URLs with '::'")
    if "\\" in uri:
        raise _Unusable("it contains a backslash")
    parts = urlsplit(uri)
    if "@" in parts.netloc:
        raise _Unusable("it carries credentials or a user name")
    try:
        port = parts.port
    except ValueError:
        raise _Unusable("its port is not a number") from None
    if not parts.hostname:
        raise _Unusable("it names no host or bucket")
    segments = [unquote(s) for s in parts.path.split("/")]
    if any(s in (".", "..") for s in segments):
        raise _Unusable("it contains a '.' or '..' segment")
    return _Remote(kind, parts.hostname.lower(), port, parts.path.rstrip("/"))


class Confinement:
    """The locations one server reads artifact bytes from (see the module docstring)."""

    __slots__ = ("_locations", "readable")

    def __init__(self, root: str, allow: Iterable[str] = ()) -> None:
        """Confine to ``root`` (the server's artifact location) and the prefixes in ``allow``.

        Raises ConfigError naming :data:`SETTING` for a prefix that is not an absolute path or a
        URL with a host (``https://`` alone would open every host, internal ones included).
        """
        prefixes = [root, *(p.strip() for p in allow if p.strip())]
        locations: list[_Location] = []
        for index, prefix in enumerate(prefixes):
            try:
                locations.append(_parse(prefix))
            except _Unusable as exc:
                what = f"{SETTING} entry" if index else "the artifact location"
                raise ConfigError(
                    f"{what} '{prefix}' cannot confine artifact reads: {exc}; use an absolute folder "
                    "or a URL with a host (s3://bucket/prefix)"
                ) from None
        #: The prefixes, for messages: the artifact location first.
        self.readable: tuple[str, ...] = tuple(prefixes)
        self._locations: tuple[_Location, ...] = tuple(locations)

    def check(self, uri: str) -> None:
        """Raise :class:`ArtifactLocationRefused` unless the server may read ``uri``. Blocking (realpath)."""
        self.resolve(uri)

    def resolve(self, uri: str) -> str:
        """What to read for ``uri``: the resolved local path (symbolic links followed), or the URL.

        Raises :class:`ArtifactLocationRefused` when ``uri`` lies outside every allowed location.
        Serve the returned path, not ``uri``: it is the one that was checked.
        """
        try:
            location = _parse(uri)
        except _Unusable as exc:
            raise ArtifactLocationRefused(uri, str(exc), self.readable) from None
        if not any(_inside(location, allowed) for allowed in self._locations):
            raise ArtifactLocationRefused(
                uri,
                "it is outside these locations"
                + (" once symbolic links are resolved" if self._escapes_by_link(location) else ""),
                self.readable,
            )
        return os.path.realpath(location.path) if isinstance(location, _Local) else uri

    def _escapes_by_link(self, location: _Location) -> bool:
        """Whether ``location`` is inside an allowed folder as written, but not once resolved."""
        if not isinstance(location, _Local):
            return False
        return any(
            isinstance(allowed, _Local) and os.path.commonpath((allowed.path, location.path)) == allowed.path
            for allowed in self._locations
        )


def _inside(location: _Location, allowed: _Location) -> bool:
    if isinstance(location, _Local) and isinstance(allowed, _Local):
        return allowed.contains(location)
    if isinstance(location, _Remote) and isinstance(allowed, _Remote):
        return allowed.contains(location)
    return False


def confinement_of(state: Any, root: str) -> Confinement:
    """The :class:`Confinement` stored on an app's ``state`` by ``create_app``; for an app built
    some other way, the strictest one (``root`` only)."""
    found = getattr(state, STATE_KEY, None)
    return found if isinstance(found, Confinement) else Confinement(root)
