"""Every ``taskmill ...`` command line shown in the docs names real commands and real options.

Shown commands are not all runnable (they need a server, a GPU or a run id), but a renamed
command or option must not survive on the site. Each ``bash`` block line is split at shell
separators; where ``taskmill`` (or ``.../taskmill``) is in command position, its words are walked
through the typer app's command tree.
"""

from __future__ import annotations

import re
import shlex
from functools import cache
from typing import Any

import pytest

from tests.docs.blocks import Block, all_blocks

_SEPARATORS = re.compile(r"&&|\|\||;|\$\(|`|\(|\)|\|")
_PREFIX_WORDS = {"sudo", "exec", "env", "time", "nohup", "then", "do", "!"}
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_REDIRECTION = re.compile(r"^(\d*|&)(>>?|<)")


@cache
def root() -> Any:
    import typer.main

    from taskmill.cli.main import app

    return typer.main.get_command(app)


def commands(command: Any = None, path: str = "taskmill") -> list[str]:
    """Every command path (``taskmill tasks list``, ...), groups included."""
    command = command or root()
    found = [path]
    for name, sub in (getattr(command, "commands", None) or {}).items():
        found += commands(sub, f"{path} {name}")
    return found


def invocations(line: str) -> list[list[str]]:
    """The argument lists of the ``taskmill`` calls in one shell line."""
    calls = []
    for segment in _SEPARATORS.split(line):
        try:
            words = shlex.split(segment, comments=True)
        except ValueError:  # an unbalanced quote inside a larger construct
            words = segment.split()
        while words and (_ASSIGNMENT.match(words[0]) or words[0] in _PREFIX_WORDS):
            words.pop(0)
        if words and (words[0] == "taskmill" or words[0].endswith("/taskmill")):
            calls.append([w.strip("[]") for w in _without_redirections(words[1:]) if w.strip("[]")])
    return calls


def _without_redirections(words: list[str]) -> list[str]:
    """``words`` without ``> file``, ``2>&1``, ``2>file`` and a trailing ``&``."""
    kept: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word == "&":
            continue
        elif _REDIRECTION.match(word):
            skip = _REDIRECTION.fullmatch(word) is not None  # a bare operator: its target follows
        else:
            kept.append(word)
    return kept


def problems(argv: list[str]) -> list[str]:
    """What in ``argv`` (after ``taskmill``) is not a command or option of the command tree."""
    command, path, found = root(), "taskmill", []
    words = iter(argv)
    for word in words:
        if word.startswith("-") and word != "-":
            name = word.split("=", 1)[0]
            options = {n: p for p in command.params for n in (*p.opts, *p.secondary_opts)}
            if name == "--help":
                continue
            if name not in options:
                found.append(f"`{path}` has no option {name}")
            elif not options[name].is_flag and "=" not in word and options[name].metavar != "[N]":
                next(words, None)  # the option's value
            continue
        subs = getattr(command, "commands", None) or {}
        if word in subs:
            command, path = subs[word], f"{path} {word}"
        elif subs and not _placeholder(word):
            found.append(f"`{path}` has no command {word!r}")
    return found


def _placeholder(word: str) -> bool:
    return word.startswith("<") or word.isupper() or word == "..." or word.startswith("$")


SHOWN = [b for b in all_blocks() if b.lang in ("bash", "sh", "console", "shell")]


def _lines(block: Block) -> list[str]:
    return block.code.replace("\\\n", " ").splitlines()


@pytest.mark.parametrize("block", SHOWN, ids=[b.id for b in SHOWN])
def test_shown_commands_exist(block: Block) -> None:
    bad = [p for line in _lines(block) for argv in invocations(line) for p in problems(argv)]
    assert not bad, f"{block.id}: " + "; ".join(bad)


def test_the_checker_catches_renamed_commands_and_options() -> None:
    assert problems(["pipelines", "show", "abc123", "--tree"]) == []
    assert problems(["--store", "sqlite:////x.db", "tasks", "list", "-p", "P", "--json"]) == []
    assert problems(["agent", "--queue", "services", "--services-mode", "--burst"]) == []
    assert problems(["pipelines", "display", "RUN"]) == ["`taskmill pipelines` has no command 'display'"]
    assert problems(["tasks", "list", "--colour"]) == ["`taskmill tasks list` has no option --colour"]
    line = (
        'run=$(taskmill pipelines runs x --json | python -c "..."); FIXED=1 taskmill pipelines resume "$run"'
    )
    assert invocations(line) == [["pipelines", "runs", "x", "--json"], ["pipelines", "resume", "$run"]]
    assert invocations("sudo -u taskmill env A=1 ls") == []
    assert invocations("taskmill server --port 1 > log 2>&1 &") == [["server", "--port", "1"]]
    assert invocations("taskmill agent -q a 2>a.log &") == [["agent", "-q", "a"]]
    assert invocations("taskmill tasks list 2>&1 --json") == [["tasks", "list", "--json"]]
