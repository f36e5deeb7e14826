"""A module that fails at import time (a bad preload)."""

raise RuntimeError("broken module: import-time failure on purpose")
