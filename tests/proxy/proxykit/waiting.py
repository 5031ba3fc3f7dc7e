"""Wait on a condition, not on time: poll until it holds or a bound passes.

nginx writes an access-log line after it has answered, so a test that reads the log straight
after its last response can race the write; it polls for the lines it expects instead."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_until(probe: Callable[[], T], done: Callable[[T], bool], timeout: float = 5.0,
               interval: float = 0.02) -> T:
    """Call ``probe`` until ``done(result)`` holds or ``timeout`` seconds pass; return the last
    result either way, so the caller's assertion shows what was seen."""
    deadline = time.monotonic() + timeout
    result = probe()
    while not done(result) and time.monotonic() < deadline:
        time.sleep(interval)
        result = probe()
    return result
