"""Clocks for the automation services: the real one, and a manual one for tests and dry runs.

Schedulers, triggers and optimizers never call ``time.time()`` or ``time.sleep()`` themselves:
they ask their clock, so a test can drive a week of schedules in milliseconds
(:class:`ManualClock`) and a restart can be simulated by handing the same clock to a new object.

``sleep`` takes an optional :class:`threading.Event`: when it is set the sleep ends early
(that is how ``stop()`` interrupts a service that is waiting for its next tick).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class Clock:
    """The system clock (wall time, seconds since the epoch)."""

    def now(self) -> float:
        """Current time, seconds since the epoch (UTC)."""
        return time.time()

    def sleep(self, seconds: float, interrupt: threading.Event | None = None) -> None:
        """Block for ``seconds`` (less if ``interrupt`` gets set meanwhile)."""
        if seconds <= 0:
            return
        if interrupt is None:
            time.sleep(seconds)
        else:
            interrupt.wait(seconds)

    @property
    def is_real(self) -> bool:
        """True when this clock follows wall time (services may then wait on store events)."""
        return True

    def utcnow(self) -> datetime:
        """``now()`` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.now(), tz=UTC)


class ManualClock(Clock):
    """A clock that only moves when told to, or when something sleeps on it (thread-safe).

    ``sleep(s)`` returns at once after moving the time forward by ``s``: a service loop that
    sleeps until its next tick jumps straight to it.
    """

    def __init__(self, start: float | datetime = 0.0) -> None:
        """Start at ``start`` (epoch seconds or an aware datetime)."""
        self._now = start.timestamp() if isinstance(start, datetime) else float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        """The current manual time."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move the time forward by ``seconds``; returns the new time."""
        with self._lock:
            self._now += max(0.0, seconds)
            return self._now

    def set(self, when: float | datetime) -> None:
        """Jump to ``when`` (never backwards: a clock that goes back would replay ticks)."""
        value = when.timestamp() if isinstance(when, datetime) else float(when)
        with self._lock:
            self._now = max(self._now, value)

    def sleep(self, seconds: float, interrupt: threading.Event | None = None) -> None:
        """Advance by ``seconds`` without blocking (an ``interrupt`` already set skips it)."""
        if interrupt is not None and interrupt.is_set():
            return
        self.advance(seconds)

    @property
    def is_real(self) -> bool:
        """Always False."""
        return False
