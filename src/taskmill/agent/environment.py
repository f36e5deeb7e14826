"""What a claimed task needs in order to run: its kind, its code and its Python.

* **Kind**: a pipeline function step (it has a ``__function__`` configuration object), a pipeline
  controller (type ``controller`` with the ``pipeline`` system tag), or any other script.
* **Code**: a task that records ``script.repository`` and ``script.commit`` runs from a checkout of
  that commit with its recorded diff applied (:mod:`.repos`); others run where they were recorded.
* **Python**: a task whose recorded requirements the agent's own environment does not meet runs in
  a cached virtualenv (:mod:`.venvs`); others run in the agent's environment, forked from its warm
  worker.

Requirement lines are compared by name, and by version for exact pins (``name==1.2``); other
specifiers (``>=``, ``~=``) and ``name @ url`` only need the name installed; lines the agent cannot
check (``-e``, bare paths or URLs) always mean a virtualenv. taskmill, pip, setuptools and wheel
are ignored: the venv gets the agent's own taskmill.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib import metadata
from pathlib import Path

from taskmill.agent.repos import RepoCache
from taskmill.agent.tasklog import TaskLog
from taskmill.agent.venvs import VenvCache
from taskmill.core.model import TaskRecord
from taskmill.core.states import TaskTypes
from taskmill.engine.steps import FUNCTION_PAYLOAD

#: Distributions never compared nor installed from a task's requirements.
IGNORED_PACKAGES = frozenset({"taskmill", "pip", "setuptools", "wheel"})

_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")
_OPTIONS_WITHOUT_PACKAGE = (
    "--index-url",
    "-i",
    "--extra-index-url",
    "--find-links",
    "-f",
    "--pre",
    "--trusted-host",
)


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
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_distributions() -> dict[str, str]:
    """``{normalised name: version}`` of this interpreter's distributions (first one found wins)."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(normalize_name(name), dist.version)
    return found


def requirement_lines(text: str) -> list[str]:
    """The meaningful lines of a requirements text: no blanks, comments or ignored packages."""
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        match = _NAME.match(line)
        if match and not line.startswith("-") and normalize_name(match.group(1)) in IGNORED_PACKAGES:
            continue
        lines.append(line)
    return lines


def unmet_requirements(lines: Sequence[str], installed: Mapping[str, str]) -> list[str]:
    """The lines of ``lines`` that ``installed`` (see :func:`installed_distributions`) does not meet."""
    unmet: list[str] = []
    for line in lines:
        if line.startswith("-"):
            if not line.startswith(_OPTIONS_WITHOUT_PACKAGE):
                unmet.append(line)  # -e, -r, ...: cannot be checked here
            continue
        match = _NAME.match(line.split(";", 1)[0].strip())
        if match is None or "/" in match.group(1):
            unmet.append(line)
            continue
        name, rest = normalize_name(match.group(1)), match.group(3).strip()
        have = installed.get(name)
        if have is None:
            unmet.append(line)
        elif rest.startswith("==") and not rest.startswith("==="):
            wanted = rest[2:].strip()
            if "," not in wanted and "*" not in wanted and wanted != have:
                unmet.append(line)
        elif rest and not rest.startswith(("@", "<", ">", "~", "!", "=")):
            unmet.append(line)  # not a requirement we understand (a path, a URL): check by installing
    return unmet


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

    def __init__(self, cache_root: Path, installed: Mapping[str, str], taskmill_spec: Sequence[str]) -> None:
        """``cache_root``: ``$TASKMILL_HOME/agent``; ``installed``: the agent's distributions;
        ``taskmill_spec``: pip arguments installing the agent's taskmill into venvs."""
        self._installed = dict(installed)
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
        unmet = unmet_requirements(lines, self._installed)
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
