"""MkDocs hook: the CLI reference, generated from the ``taskmill`` command itself at build time.

A page that contains the line ``<!-- cli-reference -->`` gets it replaced by one section per
command (usage, description, arguments, options, sub-commands), read by walking the typer app's
click command tree and asking each option for its help record, the same text ``--help`` prints.
Nothing is copied by hand, so the page cannot drift from the commands.
"""

from __future__ import annotations

import re
from typing import Any

MARKER = "<!-- cli-reference -->"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace the marker with the generated reference (pages without it pass unchanged)."""
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, render_cli())


def root_command() -> Any:
    """The click command behind ``taskmill`` (a typer group)."""
    import typer.main

    from taskmill.cli.main import app

    return typer.main.get_command(app)


def walk(command: Any, ctx: Any = None, name: str = "taskmill") -> list[tuple[Any, Any]]:
    """``(command, context)`` for ``command`` and every visible command under it, depth first,
    in declaration order. The contexts chain, so ``ctx.command_path`` is the full command line."""
    ctx = command.context_class(command, info_name=name, parent=ctx)
    found = [(command, ctx)]
    for sub_name, sub in _subcommands(command).items():
        found.extend(walk(sub, ctx, sub_name))
    return found


def render_cli() -> str:
    """Markdown for every command of ``taskmill``."""
    return "\n\n".join(_section(command, ctx) for command, ctx in walk(root_command())) + "\n"


def _subcommands(command: Any) -> dict[str, Any]:
    commands = getattr(command, "commands", None) or {}
    return {name: sub for name, sub in commands.items() if not getattr(sub, "hidden", False)}


def _section(command: Any, ctx: Any) -> str:
    path = ctx.command_path
    level = "#" * min(path.count(" ") + 2, 4)
    params = [p for p in command.params if not getattr(p, "hidden", False)]
    arguments = [p for p in params if p.param_type_name == "argument"]
    options = [p for p in params if p.param_type_name == "option"]
    subs = _subcommands(command)
    lines = [f"{level} `{path}`", "", "```text", _usage(path, arguments, options, subs), "```", ""]
    lines += _description(command.help or "")
    if arguments:
        lines += ["", "| Argument | Description |", "|---|---|"]
        lines += [f"| `{_metavar(p)}` | {_cell(_argument_help(p))} |" for p in arguments]
    if options:
        lines += ["", "| Option | Description |", "|---|---|"]
        for option in options:
            names, text = option.get_help_record(ctx)
            lines.append(f"| `{names}` | {_cell(text)} |")
    if subs:
        lines += ["", "| Command | What it does |", "|---|---|"]
        lines += [
            f"| [`{path} {n}`](#{_anchor(f'{path} {n}')}) | {_cell(_short(c))} |" for n, c in subs.items()
        ]
    return "\n".join(lines)


def _usage(path: str, arguments: list[Any], options: list[Any], subs: dict[str, Any]) -> str:
    pieces = ["Usage:", path]
    if options:
        pieces.append("[OPTIONS]")
    for argument in arguments:
        name = _metavar(argument) + (
            "..." if argument.nargs == -1 and "..." not in _metavar(argument) else ""
        )
        pieces.append(name if argument.required else f"[{name}]")
    if subs:
        pieces.append("COMMAND [ARGS]...")
    return " ".join(pieces)


def _description(text: str) -> list[str]:
    """Help text as markdown: indented paragraphs (the commands' example blocks) become code."""
    out: list[str] = []
    for para in re.split(r"\n\s*\n", text.replace("\b", "").strip("\n")):
        lines = para.split("\n")
        if all(line.startswith("    ") for line in lines if line.strip()):
            block = "\n".join(line[4:] for line in lines)
            if out and out[-1] == "```":  # consecutive example paragraphs make one block
                out[-1:] = [block, "```"]
            else:
                out += ["```bash", block, "```"]
        else:
            out += [_prose(" ".join(line.strip() for line in lines)), ""]
    return out


def _short(command: Any) -> str:
    text = (command.short_help or command.help or "").strip()
    return re.split(r"\n\s*\n", text)[0].replace("\n", " ")


def _metavar(param: Any) -> str:
    return str(param.metavar or param.name.upper())


def _argument_help(param: Any) -> str:
    text = str(getattr(param, "help", None) or "")
    return text + ("" if param.required else " (optional)")


def _anchor(title: str) -> str:
    """The id MkDocs' toc extension gives a heading ``` `title` ```."""
    return re.sub(r"[^\w\- ]", "", title).strip().lower().replace(" ", "-")


def _cell(text: str) -> str:
    """Text that is safe inside a markdown table cell."""
    return _prose(" ".join(text.split())).replace("|", "\\|")


def _prose(text: str) -> str:
    """``text`` with ``<``, ``>`` and ``&`` escaped outside code spans (``<hostname>`` is not HTML)."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):  # even parts are outside backticks
        parts[i] = parts[i].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)
