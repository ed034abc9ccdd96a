"""Waiting for a stand-in to reach a state: checked each time it answers a request, not by polling."""

from __future__ import annotations

import threading
import time


def wait_under(cond: threading.Condition, predicate, timeout: float, who: str):
    """Until predicate() is truthy, checked under `cond` each time a stand-in notifies it (after each request)."""
    deadline = time.monotonic() + timeout
    with cond:
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{who} did not see what the test waited for")
            cond.wait(remaining)
