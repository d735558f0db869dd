"""The kubelet's refresh rule and the refresher loop, on simulated time (no real waiting).

Expected values: issuer-cli-and-doctor.md §1.9 — rotate when older than 80% of the total TTL, or after 24 hours.
"""

from __future__ import annotations

import itertools
import threading

import pytest

from irsa.podrunner.refresher import FetchedToken, ScaledClock, TokenRefresher
from irsa.podrunner.schedule import MAX_JITTER, RETRY_SECONDS, refresh_at


class FakeClock:
    """Time moves only when the refresher waits."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        self.t += max(0.0, seconds)
        return stop.is_set()


def test_refresh_at_rule():
    assert refresh_at(1000.0, 1600.0) == 1480.0  # 80% of 600 s
    assert 1470.0 <= refresh_at(1000.0, 1600.0, jitter=MAX_JITTER) < 1480.0
    assert refresh_at(0.0, 86400.0) == 69120.0  # 80% of a day
    assert refresh_at(0.0, 7 * 86400.0) == 86400.0  # capped at 24 hours of age
    assert refresh_at(100.0, 100.0, jitter=5.0) == 100.0  # never before issuance
    with pytest.raises(ValueError):
        refresh_at(0.0, 600.0, jitter=MAX_JITTER + 1)


def _run(tmp_path, source_results, *, jitter=0.0, stop_after_calls):
    clock = FakeClock()
    path = tmp_path / "token"
    calls: list[float] = []
    seen_in_file: list[str] = []
    warnings: list[str] = []
    refresher: TokenRefresher

    def source() -> FetchedToken:
        calls.append(clock.now())
        seen_in_file.append(path.read_text() if path.exists() else "")
        result = source_results[len(calls) - 1]
        if len(calls) >= stop_after_calls:
            refresher._stop.set()
        if isinstance(result, Exception):
            raise result
        return result

    refresher = TokenRefresher(source, path, clock, jitter=lambda: jitter, warn=warnings.append)
    refresher.run()
    return calls, seen_in_file, warnings, refresher, path


def test_refreshes_before_80_percent_of_a_10_minute_token(tmp_path):
    tokens = [FetchedToken(f"token-{i}", 600.0) for i in range(5)]
    calls, seen, warnings, refresher, path = _run(tmp_path, tokens, jitter=3.0, stop_after_calls=5)
    assert calls[0] == 0.0
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert all(g < 480.0 for g in gaps), gaps  # before 8 minutes of a 10-minute lifetime
    assert seen == ["", "token-0", "token-1", "token-2", "token-3"]  # each refresh replaced the previous token
    assert path.read_text() == "token-4" and warnings == []
    assert [r.previous_age for r in refresher.refreshes][1:] == gaps


def test_failed_refresh_keeps_the_token_and_retries(tmp_path):
    results = [FetchedToken("token-0", 600.0), RuntimeError("apiserver down"), FetchedToken("token-1", 600.0)]
    calls, seen, warnings, _, path = _run(tmp_path, results, stop_after_calls=3)
    assert calls == [0.0, 480.0, 480.0 + RETRY_SECONDS]
    assert seen == ["", "token-0", "token-0"]
    assert path.read_text() == "token-1"
    assert len(warnings) == 1 and "apiserver down" in warnings[0]


def test_long_lived_token_refreshed_within_a_day(tmp_path):
    calls, *_ = _run(tmp_path, [FetchedToken("a", 7 * 86400.0), FetchedToken("b", 7 * 86400.0)], stop_after_calls=2)
    assert calls == [0.0, 86400.0]


def test_stop_ends_the_wait():
    clock = ScaledClock(scale=1000.0)
    refresher = TokenRefresher(lambda: FetchedToken("x", 600.0), path=None, clock=clock)  # type: ignore[arg-type]
    refresher.next_refresh = clock.now() + 10**9  # far in the future: run() only waits
    refresher.start()
    refresher.stop()
    assert refresher._thread is not None and not refresher._thread.is_alive()
    assert refresher.refreshes == []


def test_scaled_clock():
    ticks = iter([100.0, 101.5])
    clock = ScaledClock(scale=60.0, monotonic=lambda: next(ticks))
    assert clock.now() == 90.0  # 1.5 real seconds = 90 simulated seconds
    with pytest.raises(ValueError):
        ScaledClock(scale=0)
