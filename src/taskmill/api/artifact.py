"""``task.artifacts[name]``: a read-only view of an artifact with ``get()`` and ``get_local_copy()``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from taskmill.core.model import ArtifactRecord
from taskmill.types import JSONValue

if TYPE_CHECKING:
    from taskmill.api.session import Session


class Artifact:
    """One stored artifact (ClearML's ``Artifact``). Reading it never copies local bytes."""

    def __init__(self, record: ArtifactRecord, session: Session) -> None:
        self._record = record
        self._session = session

    @property
    def record(self) -> ArtifactRecord:
        """The stored record."""
        return self._record

    @property
    def name(self) -> str:
        """Artifact name."""
        return self._record.name

    @property
    def url(self) -> str:
        """Where the bytes are (a local path, ``file://``, ``s3://`` ...)."""
        return self._record.uri

    @property
    def size(self) -> int:
        """Size of the stored bytes."""
        return self._record.size

    @property
    def hash(self) -> str:
        """Content hash of the stored bytes (``sha256:<hex>``)."""
        return self._record.hash

    @property
    def type(self) -> str:
        """Kind of object (numpy, pandas, json, file, folder, str, pickle, custom)."""
        return self._record.type

    @property
    def mode(self) -> str:
        """``output`` (or ``input``)."""
        return self._record.mode

    @property
    def metadata(self) -> dict[str, JSONValue]:
        """User metadata given at upload."""
        return dict(self._record.metadata)

    @property
    def preview(self) -> str:
        """Short text preview."""
        return self._record.preview

    @property
    def timestamp(self) -> datetime:
        """Upload time."""
        return datetime.fromtimestamp(self._record.timestamp, tz=UTC)

    def get(
        self,
        force_download: bool = False,
        deserialization_function: Callable[[bytes], Any] | None = None,
        block_unsafe_artifacts: bool = False,
    ) -> Any:
        """Load the object. Local numpy arrays come back memory-mapped (read-only, no copy).

        Raises ArtifactMissingError when the bytes are gone.
        """
        return self._session.artifacts.load(
            self._record, deserialization_function=deserialization_function, force_download=force_download
        )

    def get_local_copy(
        self, extract_archive: bool = True, raise_on_error: bool = False, force_download: bool = False
    ) -> str | None:
        """A local path to the bytes: the stored file itself when local, else a cached download.

        Returns None on error unless ``raise_on_error`` (ClearML's behaviour).
        """
        from taskmill.errors import ArtifactError

        try:
            return str(
                self._session.artifacts.local_copy(
                    self._record, extract_archive=extract_archive, force_download=force_download
                )
            )
        except ArtifactError:
            if raise_on_error:
                raise
            return None

    def __repr__(self) -> str:
        return f"Artifact(name={self.name!r}, type={self.type!r}, size={self.size}, url={self.url!r})"


class Artifacts(Mapping[str, Artifact]):
    """``name -> Artifact`` of a task, read from the store when created (a snapshot)."""

    def __init__(self, records: list[ArtifactRecord], session: Session, task_id: str) -> None:
        self._items = {r.name: Artifact(r, session) for r in records}
        self._task_id = task_id

    def __getitem__(self, name: str) -> Artifact:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise KeyError(f"task {self._task_id} has no artifact '{name}' (it has: {known})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
