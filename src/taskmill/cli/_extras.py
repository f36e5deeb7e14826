"""Optional parts of the install, checked before a command needs them.

The core install (SDK, embedded store, agent, CLI) does not bring the server stack; `taskmill
server` and `taskmill dev` need the ``server`` extra. Checking up front turns a deep
``ModuleNotFoundError`` into one line that names the command and the install that fixes it.
"""

from __future__ import annotations

import importlib.util
from types import MappingProxyType
from typing import Final

from taskmill.errors import ConfigError

#: The modules each extra brings that the CLI checks for (import names, not distribution names).
EXTRA_MODULES: Final = MappingProxyType({"server": ("fastapi", "uvicorn", "jinja2", "fastapi_swagger")})


def require_extra(extra: str, command: str) -> None:
    """Raise ConfigError naming ``command``, the missing modules and ``pip install
    'taskmill[<extra>]'`` when a module of ``extra`` is not installed. Cheap (no imports)."""
    missing = [m for m in EXTRA_MODULES[extra] if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(
            f"`{command}` needs taskmill's {extra} extra ({', '.join(missing)} not installed): "
            f"pip install 'taskmill[{extra}]'"
        )
