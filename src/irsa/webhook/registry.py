"""The identity state the webhook reads per request, and the SA resolver with live lookup.

``IdentityState`` holds every source (Kubernetes watch, local files, ConfigMap, container
credentials); source loops replace entries, requests read them. All of it runs on one event loop.

Beyond upstream: on a cache miss ``ServiceAccountResolver`` does a live lookup (a direct GET of the
ServiceAccount) bounded by a deadline and a token-bucket rate limit, with concurrent misses for the
same key sharing one fetch. Unlike upstream (§4.2) a failed fetch is not remembered: the next miss
fetches again, so an SA created just before its pod is found as soon as the API has it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from irsa.webhook.identity import IdentityConfig, ServiceAccount

log = logging.getLogger(__name__)

LIVE_SOURCE = "live"  # SAs found by live lookups, until a watched source has them


@dataclass
class IdentityState:
    annotation_prefix: str
    # one dict per SA source ("kubernetes", "files"); looked up in insertion order
    service_accounts: dict[str, dict[str, ServiceAccount]] = field(default_factory=dict)
    config_map: dict[str, IdentityConfig] = field(default_factory=dict)
    container_credentials: frozenset[tuple[str, str]] = frozenset()

    def get(self, namespace: str, name: str) -> ServiceAccount | None:
        key = f"{namespace}/{name}"
        for source, entries in self.service_accounts.items():
            if source != LIVE_SOURCE and key in entries:
                return entries[key]
        return self.service_accounts.get(LIVE_SOURCE, {}).get(key)

    def put(self, source: str, sa: ServiceAccount) -> None:
        self.service_accounts.setdefault(source, {})[sa.key] = sa.stripped(self.annotation_prefix)
        if source != LIVE_SOURCE:  # a watched source supersedes what a live lookup found
            self.service_accounts.get(LIVE_SOURCE, {}).pop(sa.key, None)

    def remove(self, source: str, namespace: str, name: str) -> None:
        key = f"{namespace}/{name}"
        self.service_accounts.get(source, {}).pop(key, None)
        self.service_accounts.get(LIVE_SOURCE, {}).pop(key, None)

    def replace(self, source: str, accounts: Iterable[ServiceAccount]) -> None:
        self.service_accounts[source] = {sa.key: sa.stripped(self.annotation_prefix) for sa in accounts}
        self.service_accounts.pop(LIVE_SOURCE, None)

    def size(self) -> int:
        return sum(len(entries) for entries in self.service_accounts.values())


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` banked (upstream's fetch limiter is 10/s, burst 20)."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self._tokens = float(burst)
        self._stamp = clock()

    def reserve(self) -> float:
        """Take a token; returns how long the caller must wait before using it (0 = now)."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def cancel(self) -> None:
        self._tokens = min(self.burst, self._tokens + 1)


Fetch = Callable[[str, str], Awaitable["ServiceAccount | None"]]
"""``fetch(namespace, name)`` -> the SA, ``None`` when it does not exist; raises on other errors."""


@dataclass(frozen=True)
class Lookup:
    service_account: ServiceAccount | None
    outcome: str  # cache | live-found | live-not-found | live-timeout | live-rate-limited | live-error | no-lookup


class ServiceAccountResolver:
    """Cache first; on a miss, a live lookup bounded by ``timeout`` seconds."""

    def __init__(
        self,
        state: IdentityState,
        fetch: Fetch | None,
        *,
        timeout: float = 1.0,
        rate: float = 10.0,
        burst: int = 20,
    ) -> None:
        self.state = state
        self._fetch = fetch
        self.timeout = timeout
        self._bucket = TokenBucket(rate, burst)
        self._inflight: dict[str, asyncio.Task[ServiceAccount | None]] = {}

    async def resolve(self, namespace: str, name: str) -> Lookup:
        sa = self.state.get(namespace, name)
        if sa is not None:
            return Lookup(sa, "cache")
        if self._fetch is None or not name or self.timeout <= 0:
            return Lookup(None, "no-lookup")
        key = f"{namespace}/{name}"
        task = self._inflight.get(key)
        if task is None:
            wait = self._bucket.reserve()
            if wait >= self.timeout:
                self._bucket.cancel()
                return Lookup(None, "live-rate-limited")
            task = asyncio.get_running_loop().create_task(self._fetch_after(wait, namespace, name))
            self._inflight[key] = task
            task.add_done_callback(lambda t, k=key: self._finished(k, t))
        try:
            found = await asyncio.wait_for(asyncio.shield(task), self.timeout)
        except TimeoutError:
            return Lookup(None, "live-timeout")
        except Exception as exc:  # the fetch failed: admit per policy, keep serving
            log.warning("live lookup of service account %s failed: %s", key, exc)
            return Lookup(None, "live-error")
        if found is None:
            return Lookup(None, "live-not-found")
        return Lookup(self.state.get(namespace, name) or found, "live-found")

    def _finished(self, key: str, task: asyncio.Task[ServiceAccount | None]) -> None:
        self._inflight.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved even when every waiter timed out (no "never retrieved" noise)

    async def _fetch_after(self, wait: float, namespace: str, name: str) -> ServiceAccount | None:
        if wait > 0:
            await asyncio.sleep(wait)
        assert self._fetch is not None
        sa = await self._fetch(namespace, name)
        if sa is not None and self.state.get(namespace, name) is None:
            self.state.put(LIVE_SOURCE, sa)
        return sa
