"""A module that starts a thread at import time (unsafe to preload before fork)."""

import threading

_stop = threading.Event()
threading.Thread(target=_stop.wait, name="threaded-resource", daemon=True).start()
