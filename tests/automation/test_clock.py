"""Clocks: the manual one moves only when told to, or when something sleeps on it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from taskmill.automation.clock import Clock, ManualClock


def test_manual_clock_moves_on_sleep_and_never_backwards() -> None:
    clock = ManualClock(datetime(2030, 1, 1, tzinfo=UTC))
    start = clock.now()
    clock.sleep(90)
    assert clock.now() == start + 90 and not clock.is_real
    clock.set(start)  # back in time is refused: it would replay ticks
    assert clock.now() == start + 90
    stop = threading.Event()
    stop.set()
    clock.sleep(60, stop)
    assert clock.advance(10) == start + 100
    assert clock.utcnow() == datetime(2030, 1, 1, 0, 1, 40, tzinfo=UTC)


def test_the_system_clock_sleep_is_interrupted_by_its_event() -> None:
    clock = Clock()
    stop = threading.Event()
    threading.Timer(0.05, stop.set).start()
    began = time.monotonic()
    clock.sleep(10, stop)
    assert time.monotonic() - began < 5 and clock.is_real
    assert abs(clock.now() - time.time()) < 1
