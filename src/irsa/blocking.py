"""Marking the places where a request may block (network, database writes).

The endpoint runs the common, cache-hot requests directly on the event loop (a thread hop costs more
than the work) inside ``nonblocking()``. Code about to block calls ``blocking_point()``; inside
``nonblocking()`` that raises ``WouldBlock`` and the endpoint runs the request again in a worker
thread, where ``blocking_point()`` does nothing. Requests that changed nothing before the blocking
point (every one that reaches it: the points come before any write) are safe to run again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_state = threading.local()


class WouldBlock(Exception):
    """Raised at a blocking point inside ``nonblocking()``."""


@contextmanager
def nonblocking() -> Iterator[None]:
    previous = getattr(_state, "nonblocking", False)
    _state.nonblocking = True
    try:
        yield
    finally:
        _state.nonblocking = previous


def blocking_point() -> None:
    if getattr(_state, "nonblocking", False):
        raise WouldBlock()
