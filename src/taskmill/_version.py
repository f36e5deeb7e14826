"""The taskmill version, in a module of its own that imports nothing.

Kept equal to ``version`` in ``pyproject.toml``. Modules that need the version (``taskmill
--version``, the agent's worker info) import it from here rather than from the ``taskmill``
package, whose ``__init__`` re-exports the authoring API: that keeps them out of the import graph
of the API.
"""

from __future__ import annotations

__version__ = "0.1.0"
