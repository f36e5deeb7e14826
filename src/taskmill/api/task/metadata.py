"""Describing a task: name, project, tags, type, script and requirements, runtime properties, archive.

Every setter is one store write and returns once it is stored. The requirement controls
(``add_requirements``, ``ignore_requirements``, ``force_requirements_env_freeze``) are process-wide,
as in ClearML: called before ``Task.init`` they shape what the main task records; called after, they
rewrite the main task's recorded requirements at once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from taskmill.api.session import PROCESS
from taskmill.api.task.handle import TaskHandle
from taskmill.core.model import ScriptInfo
from taskmill.core.states import TaskTypes as TaskTypesEnum
from taskmill.types import JSONValue


class TaskMetadata(TaskHandle):
    """A task's descriptive fields and recorded script (a part of ``Task``)."""

    def set_name(self, name: str) -> None:
        """Rename the task."""
        self._record = self._store().update_task(self.id, name=name)

    def set_comment(self, comment: str) -> None:
        """Set the description."""
        self._record = self._store().update_task(self.id, comment=comment)

    def set_parent(self, parent: TaskHandle | str | None) -> None:
        """Set (or clear) the parent task."""
        pid = parent.id if isinstance(parent, TaskHandle) else parent
        self._record = self._store().update_task(self.id, parent=pid)

    def move_to_project(
        self,
        new_project_name: str | None = None,
        new_project_id: str | None = None,
        system_tags: Sequence[str] | None = None,
    ) -> bool:
        """Move the task to another project (created if missing). ``new_project_id`` is a project
        name too (projects have no other id); ``system_tags`` are given to a project created here."""
        target = new_project_name or new_project_id
        if not target:
            raise ValueError("move_to_project needs new_project_name= (or new_project_id=)")
        if system_tags:
            self._store().ensure_project(target, system_tags=tuple(system_tags))
        self._record = self._store().update_task(self.id, project=target)
        return True

    def get_tags(self) -> list[str]:
        """User tags."""
        return list(self._fresh().tags)

    def add_tags(self, tags: str | Sequence[str]) -> None:
        """Add user tags (duplicates ignored)."""
        new = [tags] if isinstance(tags, str) else list(tags)
        cur = self.get_tags()
        self._record = self._store().update_task(self.id, tags=cur + [t for t in new if t not in cur])

    def set_tags(self, tags: Sequence[str]) -> None:
        """Replace user tags."""
        self._record = self._store().update_task(self.id, tags=list(tags))

    def get_system_tags(self) -> list[str]:
        """System tags (``pipeline``, ``archived`` ...)."""
        return list(self._fresh().system_tags)

    def set_system_tags(self, tags: Sequence[str]) -> None:
        """Replace system tags."""
        self._record = self._store().update_task(self.id, system_tags=list(tags))

    def set_task_type(self, task_type: TaskTypesEnum | str) -> None:
        """Change the task type."""
        self._record = self._store().update_task(self.id, task_type=TaskTypesEnum(task_type))

    # == script and requirements ================================================================

    def get_script_info(self) -> ScriptInfo:
        """Entry point, working dir, repository, branch, commit, diff and requirements."""
        self._join_capture()
        return self._fresh().script

    def get_script(self) -> dict[str, str]:
        """Script info as a dict (ClearML's ``get_script``)."""
        return self.get_script_info().to_dict()

    def set_script(
        self,
        repository: str | None = None,
        branch: str | None = None,
        commit: str | None = None,
        diff: str | None = None,
        working_dir: str | None = None,
        entry_point: str | None = None,
        binary: str | None = None,
        **fields: str,
    ) -> None:
        """Change script fields; None leaves a field as it is (``requirements`` and the other
        ScriptInfo fields can be given by keyword too)."""
        given = {
            "repository": repository,
            "branch": branch,
            "commit": commit,
            "diff": diff,
            "working_dir": working_dir,
            "entry_point": entry_point,
            "binary": binary,
        }
        changes = {**{k: v for k, v in given.items() if v is not None}, **fields}
        info = {**self._fresh().script.to_dict(), **changes}
        self._record = self._store().update_task(self.id, script=ScriptInfo.from_dict(info))

    def set_repo(self, repo: str | None = None, branch: str | None = None, commit: str | None = None) -> None:
        """Set the repository fields."""
        changes = {
            k: v for k, v in (("repository", repo), ("branch", branch), ("commit", commit)) if v is not None
        }
        self.set_script(**changes)

    def set_packages(self, packages: str | Sequence[str] | Path) -> None:
        """Set the requirements: a list of specifiers, or a requirements file path."""
        if isinstance(packages, Path) or (isinstance(packages, str) and Path(packages).is_file()):
            text = Path(packages).read_text()
        elif isinstance(packages, str):
            text = packages
        else:
            text = "\n".join(packages)
        self.set_script(requirements=text)

    def get_requirements(self) -> list[str]:
        """Recorded requirements, one specifier per item."""
        return [ln for ln in self.get_script_info().requirements.splitlines() if ln.strip()]

    @classmethod
    def add_requirements(cls, package_name: str, package_version: str | None = None) -> None:
        """Add a package to the requirements the task records (ClearML: call before ``Task.init``).

        ``package_version`` None records the installed version (the bare name when it is not
        installed); a requirements file path as ``package_name`` adds every line of it. Called
        after ``Task.init``, it updates the main task's recorded requirements at once.
        """
        # lazy: requirement parsing loads importlib.metadata and packaging (~25 ms of import)
        from taskmill.api.requirements import read_requirements_file, requirement_lines, specifier

        path = Path(package_name)
        if package_version is None and path.suffix == ".txt" and path.is_file():
            PROCESS.requirements_added.update(requirement_lines(read_requirements_file(path)))
        else:
            PROCESS.requirements_added[package_name] = specifier(package_name, package_version)
        cls._apply_requirement_controls()

    @classmethod
    def ignore_requirements(
        cls, package_names: str | Sequence[str] | None = None, package_name: str | None = None
    ) -> None:
        """Leave packages out of the recorded requirements (ClearML: call before ``Task.init``).

        ``package_name`` is ClearML's keyword (one name); ``package_names`` also takes a list."""
        given = package_names if package_names is not None else package_name
        if given is None:
            raise ValueError("ignore_requirements needs package_name= (or package_names=)")
        names = [given] if isinstance(given, str) else list(given)
        PROCESS.requirements_ignored.update(names)
        cls._apply_requirement_controls()

    @classmethod
    def force_requirements_env_freeze(
        cls, force: bool = True, requirements_file: str | os.PathLike[str] | None = None
    ) -> None:
        """Record the environment's installed packages (what taskmill always records), or, with
        ``requirements_file``, that file's requirements instead."""
        if requirements_file is not None:
            from taskmill.api.requirements import read_requirements_file  # lazy, as above

            PROCESS.requirements_file = read_requirements_file(requirements_file)
        elif not force:
            PROCESS.requirements_file = None
        cls._apply_requirement_controls()

    @classmethod
    def _apply_requirement_controls(cls) -> None:
        task = PROCESS.main_task
        if isinstance(task, TaskMetadata) and not task._attached:  # the main task is always a Task
            task._join_capture()
            info = task.get_script_info()
            task.set_script(requirements=PROCESS.controlled_requirements(info.requirements))

    # == runtime properties and archive =========================================================

    def set_runtime_properties(self, properties: Mapping[str, JSONValue]) -> None:
        """Merge runtime properties (free-form values the system records)."""
        self._record = self._store().update_task(self.id, runtime=dict(properties))

    def get_runtime_properties(self) -> dict[str, JSONValue]:
        """Runtime properties."""
        return dict(self._fresh().runtime)

    def set_base_docker(
        self,
        docker_image: str | None = None,
        docker_arguments: str | Sequence[str] | None = None,
        docker_setup_bash_script: str | Sequence[str] | None = None,
        docker_cmd: str | None = None,
    ) -> None:
        """Record the container a ClearML agent in docker mode would use (``runtime.docker``);
        ``docker_cmd`` is ClearML's older form ``"image args..."``.

        taskmill agents run tasks in virtualenvs, as ClearML's agent does without ``--docker``:
        the image is recorded and shown, not used.
        """
        if docker_cmd and not docker_image:
            docker_image, _, rest = docker_cmd.strip().partition(" ")
            docker_arguments = docker_arguments or (rest.split() if rest else None)
        args: list[JSONValue] = (
            [docker_arguments] if isinstance(docker_arguments, str) else list(docker_arguments or ())
        )
        setup = docker_setup_bash_script
        script: list[JSONValue] = list(setup.splitlines() if isinstance(setup, str) else setup or ())
        self.set_runtime_properties(
            {"docker": {"image": docker_image or "", "arguments": args, "setup_script": script}}
        )

    def set_archived(self, archive: bool) -> None:
        """Archive or restore the task (system tag ``archived``; ``get_tasks(allow_archived=False)``
        leaves archived tasks out)."""
        tags = [t for t in self.get_system_tags() if t != "archived"]
        self.set_system_tags([*tags, "archived"] if archive else tags)

    def get_archived(self) -> bool:
        """True when the task is archived."""
        return "archived" in self.get_system_tags()

    def get_output_log_web_page(self) -> str:
        """The web UI page of this task when the store is a ``taskmill server``, else ``""``."""
        url = self._session.settings.store_url
        if url.startswith(("http://", "https://")):
            return f"{url.rstrip('/')}/tasks/{self.id}"
        return ""
