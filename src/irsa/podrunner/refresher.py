"""Keeps the token file fresh while the command runs, as the kubelet does for a projected volume.

The clock is injected: ``ScaledClock`` runs on the monotonic clock, optionally faster (a test-only
knob), and a test can pass its own clock whose ``wait`` just advances time.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from irsa.podrunner import schedule
from irsa.podrunner.privatedir import write_token

TokenSource = Callable[[], "FetchedToken"]
Log = Callable[[str], None]
Jitter = Callable[[], float]


@dataclass(frozen=True)
class FetchedToken:
    token: str
    lifetime: float  # seconds from the start of the request to the token's expiration


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on this clock."""

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """Wait ``seconds`` of this clock or until ``stop`` is set; True when stopped."""


class ScaledClock:
    """The monotonic clock, running ``scale`` times faster (1 = real time)."""

    def __init__(self, scale: float = 1.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        if not scale > 0:
            raise ValueError("scale must be > 0")
        self.scale = scale
        self._monotonic = monotonic
        self._origin = monotonic()

    def now(self) -> float:
        return (self._monotonic() - self._origin) * self.scale

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(max(0.0, seconds) / self.scale)


@dataclass(frozen=True)
class Refresh:
    """One successful fetch, on the refresher's clock."""

    at: float
    expires_at: float
    previous_age: float | None  # age of the token it replaced; None for the first one


class TokenRefresher:
    def __init__(
        self,
        source: TokenSource,
        path: Path,
        clock: Clock,
        *,
        jitter: Jitter | None = None,
        log: Log = lambda message: None,
        warn: Log = lambda message: None,
    ) -> None:
        self.source = source
        self.path = path
        self.clock = clock
        self.jitter = jitter or (lambda: random.uniform(0.0, schedule.MAX_JITTER))
        self.log = log
        self.warn = warn
        self.refreshes: list[Refresh] = []
        self.next_refresh: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def fetch(self) -> Refresh:
        """One TokenRequest and an atomic write; schedules the next one. Raises what the source raises."""
        started = self.clock.now()
        fetched = self.source()
        write_token(self.path, fetched.token)
        previous = self.refreshes[-1].at if self.refreshes else None
        record = Refresh(started, started + fetched.lifetime, None if previous is None else started - previous)
        self.refreshes.append(record)
        self.next_refresh = schedule.refresh_at(record.at, record.expires_at, self.jitter())
        return record

    def run(self) -> None:
        """Refresh until ``stop()``; failures keep the old token and are retried."""
        while not self._stop.is_set():
            if self.next_refresh is None:
                self.next_refresh = self.clock.now()
            remaining = self.next_refresh - self.clock.now()
            if remaining > 0:
                if self.clock.wait(self._stop, remaining):
                    return
                continue
            try:
                record = self.fetch()
            except Exception as exc:  # noqa: BLE001 -- any failure of one attempt: keep the old token, retry (the kubelet does)
                self.next_refresh = schedule.retry_at(self.clock.now())
                self.warn(f"token refresh failed, keeping the current token and retrying: {exc}")
                continue
            lifetime = record.expires_at - record.at
            self.log(f"refreshed the token at age {record.previous_age or 0.0:.1f}s; new token valid {lifetime:.0f}s, "
                     f"next refresh at age {self.next_refresh - record.at:.1f}s")

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="irsa-token-refresher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
