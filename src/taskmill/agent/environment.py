"""What a claimed task needs in order to run: its kind, its code and its Python.

* **Kind**: a pipeline function step (it has a ``__function__`` configuration object), a pipeline
  controller (type ``controller`` with the ``pipeline`` system tag), or any other script.
* **Code**: a task that records ``script.repository`` and ``script.commit`` runs from a checkout of
  that commit with its recorded diff applied (:mod:`.repos`); others run where they were recorded.
* **Python**: a task whose recorded requirements the agent's own environment does not meet runs in
  a cached virtualenv (:mod:`.venvs`); others run in the agent's environment, forked from its warm
  worker.

Requirement lines are judged by :mod:`taskmill.core.requirements` against the agent's installed
distributions and its interpreter's markers: specifiers must accept the installed version, a
requirement whose marker is false here does not count, extras need their dependencies, and
``name @ url`` only needs the name installed; installer options (``--index-url`` ...) go to the
venv's installer as they are; lines the agent cannot check (``-e``, ``-r``, bare paths or URLs)
always mean a virtualenv. taskmill, pip, setuptools and wheel are ignored: the venv gets the
agent's own taskmill.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib import metadata
from pathlib import Path

from taskmill.agent.repos import RepoCache
from taskmill.agent.tasklog import TaskLog
from taskmill.agent.venvs import VenvCache
from taskmill.core.model import TaskRecord
from taskmill.core.requirements import (
    RequirementLine,
    Requires,
    canonical_name,
    parse_line,
    parse_requirements,
)
from taskmill.core.requirements import unmet_requirements as core_unmet
from taskmill.core.states import TaskTypes
from taskmill.core.stored import FUNCTION_PAYLOAD

#: Distributions never compared nor installed from a task's requirements.
IGNORED_PACKAGES = frozenset({"taskmill", "pip", "setuptools", "wheel"})


class TaskKind(StrEnum):
    """How the agent starts a task."""

    function = "function"  #: pipeline function step: ``step_main.run_function``
    controller = "controller"  #: pipeline controller: its script, with ``TASKMILL_PIPELINE_MODE=queue``
    script = "script"  #: anything else: its recorded script


def task_kind(record: TaskRecord, config_names: Collection[str]) -> TaskKind:
    """The kind of ``record`` given the names of its configuration objects."""
    if FUNCTION_PAYLOAD in config_names:
        return TaskKind.function
    if record.task_type == TaskTypes.controller and "pipeline" in record.system_tags:
        return TaskKind.controller
    return TaskKind.script


# -- requirements --------------------------------------------------------------------------------


def normalize_name(name: str) -> str:
    """PEP 503 normalised distribution name (``Foo_Bar`` -> ``foo-bar``)."""
    return canonical_name(name)


def installed_distributions() -> dict[str, str]:
    """``{normalised name: version}`` of this interpreter's distributions (first one found wins)."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(normalize_name(name), dist.version)
    return found


def declared_dependencies(name: str) -> list[str]:
    """The ``Requires-Dist`` lines of this interpreter's distribution ``name`` ([] if absent)."""
    try:
        return metadata.requires(name) or []
    except metadata.PackageNotFoundError:
        return []


def requirement_lines(text: str) -> list[str]:
    """The meaningful lines of a requirements text: no blanks, comments or ignored packages."""
    return [line.text for line in parse_requirements(text) if line.name not in IGNORED_PACKAGES]


def unmet_requirements(
    lines: Sequence[str], installed: Mapping[str, str], *, requires: Requires | None = None
) -> list[str]:
    """The lines of ``lines`` that ``installed`` (see :func:`installed_distributions`) does not meet,
    judged by :func:`taskmill.core.requirements.is_met` in this interpreter's environment;
    ``requires`` (e.g. :func:`declared_dependencies`) lets extras be checked."""
    parsed = [parse_line(line) or RequirementLine(line) for line in lines]
    return [line.text for line in core_unmet(parsed, installed, requires=requires)]


# -- preparing a task ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Prepared:
    """Where and how a task runs, once its environment is ready."""

    kind: TaskKind
    python: Path | None = None  #: interpreter of the task's venv; None: the agent's own (warm worker)
    root: Path | None = None  #: the task's checkout; None: run where the task was recorded
    repository: str = ""  #: the checked-out repository (to release the checkout)


class EnvironmentBuilder:
    """Prepares tasks' code and Python under the agent's cache folder. Thread-safe."""

    def __init__(
        self,
        cache_root: Path,
        installed: Mapping[str, str],
        taskmill_spec: Sequence[str],
        *,
        requires: Requires | None = declared_dependencies,
    ) -> None:
        """``cache_root``: ``$TASKMILL_HOME/agent``; ``installed``: the agent's distributions;
        ``taskmill_spec``: pip arguments installing the agent's taskmill into venvs; ``requires``:
        the installed distributions' dependencies, to check extras (None: extras not checked)."""
        self._installed = dict(installed)
        self._requires = requires
        self._repos = RepoCache(cache_root)
        self._venvs = VenvCache(cache_root, taskmill_spec)

    @property
    def venvs(self) -> VenvCache:
        """The venv cache (for inspection)."""
        return self._venvs

    def prepare(self, record: TaskRecord, kind: TaskKind, log: TaskLog) -> Prepared:
        """Check out and build what ``record`` needs. Blocking (clone, pip: seconds to minutes).

        Raises EnvironmentBuildError (what failed, with the tool's output in ``output`` or already
        in ``log``).
        """
        script = record.script
        root: Path | None = None
        if script.repository and script.commit and kind != TaskKind.function:
            root = self._repos.checkout(script.repository, script.commit, script.diff, record.id, log)
        python: Path | None = None
        lines = requirement_lines(script.requirements)
        unmet = unmet_requirements(lines, self._installed, requires=self._requires)
        if unmet:
            shown = ", ".join(unmet[:5]) + (f" and {len(unmet) - 5} more" if len(unmet) > 5 else "")
            log.write(f"this agent's environment lacks {shown}: the task runs in its own virtualenv")
            try:
                python = self._venvs.ensure(lines, log)
            except BaseException:
                self.release(record, Prepared(kind, None, root, script.repository if root else ""))
                raise
        log.flush()
        return Prepared(kind, python, root, script.repository if root else "")

    def release(self, record: TaskRecord, prepared: Prepared) -> None:
        """Remove the task's checkout, if it had one (venvs stay cached). Never raises."""
        if prepared.root is not None:
            self._repos.release(prepared.repository, record.id)
