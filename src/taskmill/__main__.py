"""``python -m taskmill``: the ``taskmill`` command, for environments without the console script
on ``PATH`` (``python -m taskmill agent --queue default``)."""

from __future__ import annotations

from taskmill.cli.main import main

if __name__ == "__main__":
    main()
