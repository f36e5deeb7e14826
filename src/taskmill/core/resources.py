"""Per-step resource requests (``resources={"cpu": 4, "memory": "16Gi", "gpu": 1}``), pure.

A step's request is normalised once, when the step's task is created, and recorded in the
task's ``runtime["resources"]`` as ``{"cpu": float, "memory": int bytes, "gpu": int}`` (keys
that were not asked for are left out). Every launcher reads that record back with
:func:`resources_of` and maps it onto its own scheduler: Dask and Ray resources, ``sbatch``
options, Kubernetes requests and limits. Parsing is strict: a bad value raises
:class:`ResourceError` naming the key and the accepted forms, at definition time.

The mappings (:func:`sbatch_options`, :func:`dask_resources`, :func:`ray_options`) are pure
functions of a :class:`Resources`, so each scheduler's glue applies the same reading.
A step's container (``docker=``, ``docker_args=``, ``docker_bash_setup_script=``, or
``Task.set_base_docker``) is recorded as ``runtime["docker"]`` in the shape
:func:`container_record` gives.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from taskmill.errors import SpecError
from taskmill.types import JSONValue

_UNITS = {
    "": 1,
    "k": 1000,
    "K": 1000,
    "M": 1000**2,
    "G": 1000**3,
    "T": 1000**4,
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
    "TiB": 1024**4,
}
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")
_KEYS = ("cpu", "memory", "gpu")


class ResourceError(SpecError):
    """A ``resources=`` value that cannot be read; the message names the key and the fix."""


@dataclass(frozen=True)
class Resources:
    """What one step asks for; None means "not asked" (the launcher's default applies)."""

    cpu: float | None = None
    memory: int | None = None
    gpu: int | None = None

    def is_empty(self) -> bool:
        """True when nothing was asked for."""
        return self.cpu is None and self.memory is None and self.gpu is None

    def to_record(self) -> dict[str, float | int]:
        """The form stored in ``runtime["resources"]`` (only the keys asked for)."""
        out: dict[str, float | int] = {}
        if self.cpu is not None:
            out["cpu"] = self.cpu
        if self.memory is not None:
            out["memory"] = self.memory
        if self.gpu is not None:
            out["gpu"] = self.gpu
        return out

    def memory_mib(self) -> int | None:
        """Memory rounded up to whole MiB (what ``sbatch --mem`` takes), None when not asked."""
        return None if self.memory is None else max(1, math.ceil(self.memory / 1024**2))

    def kubernetes_quantities(self) -> dict[str, str]:
        """Kubernetes quantities (``cpu``, ``memory``, ``nvidia.com/gpu``) for requests and limits."""
        out: dict[str, str] = {}
        if self.cpu is not None:
            out["cpu"] = f"{int(self.cpu * 1000)}m" if self.cpu != int(self.cpu) else str(int(self.cpu))
        if self.memory is not None:
            out["memory"] = f"{self.memory_mib()}Mi"
        if self.gpu:
            out["nvidia.com/gpu"] = str(self.gpu)
        return out


def parse_memory(value: object) -> int:
    """Bytes from ``16Gi``, ``512M``, ``2GB``, or a plain number of bytes."""
    if isinstance(value, bool):
        raise ResourceError(f"resources['memory']={value!r}: give bytes or a size like '16Gi' or '512M'")
    if isinstance(value, int | float):
        if not math.isfinite(value) or value <= 0:
            raise ResourceError(f"resources['memory']={value!r}: must be positive")
        return int(value)
    match = _MEMORY.match(str(value))
    if not match or match.group(2) not in _UNITS:
        raise ResourceError(
            f"resources['memory']={value!r}: give bytes or a size like '16Gi', '512Mi', '2G' or '4GB'"
        )
    size = int(float(match.group(1)) * _UNITS[match.group(2)])
    if size <= 0:
        raise ResourceError(f"resources['memory']={value!r}: must be positive")
    return size


def parse_resources(value: Mapping[str, object] | Resources | None) -> Resources:
    """Normalise a user's ``resources=`` mapping; raises :class:`ResourceError` on a bad key or value."""
    if value is None:
        return Resources()
    if isinstance(value, Resources):
        return value
    if not isinstance(value, Mapping):
        raise ResourceError(
            f"resources={value!r}: give a dict such as {{'cpu': 4, 'memory': '16Gi', 'gpu': 1}}"
        )
    unknown = sorted(str(k) for k in value if k not in _KEYS)
    if unknown:
        raise ResourceError(
            f"resources: unknown key(s) {', '.join(unknown)}; known keys are cpu, memory, gpu"
        )
    cpu = value.get("cpu")
    gpu = value.get("gpu")
    memory = value.get("memory")
    cpu_f: float | None = None
    if cpu is not None:
        if isinstance(cpu, bool) or not isinstance(cpu, int | float | str):
            raise ResourceError(f"resources['cpu']={cpu!r}: give a number of cores such as 4 or 0.5")
        try:
            cpu_f = float(cpu[:-1]) / 1000 if isinstance(cpu, str) and cpu.endswith("m") else float(cpu)
        except ValueError:
            raise ResourceError(
                f"resources['cpu']={cpu!r}: give a number of cores such as 4 or 0.5"
            ) from None
        if not math.isfinite(cpu_f) or cpu_f <= 0:
            raise ResourceError(f"resources['cpu']={cpu!r}: must be positive")
    gpu_i: int | None = None
    if gpu is not None:
        if isinstance(gpu, bool) or not isinstance(gpu, int) or gpu < 0:
            raise ResourceError(f"resources['gpu']={gpu!r}: give a whole number of devices such as 1")
        gpu_i = gpu
    return Resources(cpu=cpu_f, memory=None if memory is None else parse_memory(memory), gpu=gpu_i)


def resources_of(runtime: Mapping[str, object]) -> Resources:
    """The request recorded in a task's ``runtime`` (empty when the step asked for none)."""
    raw = runtime.get("resources")
    if not isinstance(raw, Mapping) or not raw:
        return Resources()
    return parse_resources(raw)


def sbatch_options(r: Resources) -> list[str]:
    """``sbatch`` options for a request: ``-c N`` (whole CPUs, rounded up), ``--mem=NM`` (MiB,
    rounded up) and ``--gres=gpu:N``; empty when nothing was asked (the partition's defaults)."""
    out: list[str] = []
    if r.cpu is not None:
        out += ["-c", str(max(1, math.ceil(r.cpu)))]
    mib = r.memory_mib()
    if mib is not None:
        out.append(f"--mem={mib}M")
    if r.gpu:
        out.append(f"--gres=gpu:{r.gpu}")
    return out


#: Dask's conventional resource names (a worker started with ``--resources "GPU=2 MEMORY=16e9"``)
DASK_NAMES = {"cpu": "CPU", "memory": "MEMORY", "gpu": "GPU"}


def dask_resources(r: Resources, declared: Sequence[str] | None = None) -> dict[str, float]:
    """Dask ``submit(resources=...)`` for a request (``CPU``, ``MEMORY`` in bytes, ``GPU``).

    Dask only runs a task that asks for a resource on a worker that declares it, so with
    ``declared`` (the names the cluster's workers declare) the others are left out: a request
    the cluster cannot express is not a task that waits forever. None: keep every key.
    """
    wanted = {"CPU": r.cpu, "MEMORY": r.memory, "GPU": r.gpu or None}
    return {
        name: float(amount)
        for name, amount in wanted.items()
        if amount is not None and (declared is None or name in declared)
    }


def ray_options(r: Resources) -> dict[str, float | int]:
    """Ray ``.options(...)`` for a request: ``num_cpus``, ``num_gpus``, ``memory`` (bytes);
    keys not asked for are left out (the launcher's defaults apply)."""
    out: dict[str, float | int] = {}
    if r.cpu is not None:
        out["num_cpus"] = r.cpu
    if r.gpu is not None:
        out["num_gpus"] = r.gpu
    if r.memory is not None:
        out["memory"] = r.memory
    return out


def container_record(
    image: str | None,
    arguments: str | Sequence[str] | None = None,
    setup_script: str | Sequence[str] | None = None,
) -> dict[str, JSONValue] | None:
    """``runtime["docker"]`` for a container, in ``Task.set_base_docker``'s shape:
    ``{"image": str, "arguments": [str], "setup_script": [line]}``; None when nothing is given
    (arguments without an image are kept with image ``""``, as ``set_base_docker`` keeps them).

    A string of arguments is kept whole as one item (as ClearML stores it); readers split each
    item with ``shlex.split``. A setup script string is split into its lines.
    """
    if not (image or arguments or setup_script):
        return None
    args: list[JSONValue] = [arguments] if isinstance(arguments, str) else list(arguments or ())
    lines: list[JSONValue] = list(
        setup_script.splitlines() if isinstance(setup_script, str) else setup_script or ()
    )
    return {"image": image or "", "arguments": args, "setup_script": lines}


def container_of(runtime: Mapping[str, object]) -> tuple[str, list[str], list[str]] | None:
    """The container recorded in a task's ``runtime`` as ``(image, arguments, setup lines)``,
    arguments split as a shell would; None when none was recorded. The image is ``""`` when only
    arguments were (the runner's default image applies)."""
    raw = runtime.get("docker")
    if not isinstance(raw, Mapping) or not any(raw.get(k) for k in ("image", "arguments", "setup_script")):
        return None
    args: list[str] = []
    for item in raw.get("arguments") or ():
        args += shlex.split(str(item))
    return str(raw.get("image") or ""), args, [str(line) for line in raw.get("setup_script") or ()]
