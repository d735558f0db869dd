"""ServiceAccountResolver: cache first, live lookup on a miss (dedup, deadline, rate limit, errors)."""

from __future__ import annotations

import asyncio

from webhook_support import ROLE

from irsa.webhook.identity import ServiceAccount
from irsa.webhook.registry import IdentityState, ServiceAccountResolver, TokenBucket


def state() -> IdentityState:
    return IdentityState("eks.amazonaws.com")


def test_cache_hit_does_not_fetch():
    s = state()
    s.put("files", ServiceAccount("ns", "a", {"eks.amazonaws.com/role-arn": ROLE, "other.io/x": "y"}))

    async def fetch(ns, name):
        raise AssertionError("no fetch on a hit")

    result = asyncio.run(ServiceAccountResolver(s, fetch).resolve("ns", "a"))
    assert result.outcome == "cache"
    assert dict(result.service_account.annotations) == {"eks.amazonaws.com/role-arn": ROLE}  # stripped to the prefix


def test_concurrent_misses_share_one_fetch_and_fill_the_cache():
    s = state()
    calls = []

    async def fetch(ns, name):
        calls.append((ns, name))
        await asyncio.sleep(0.01)
        return ServiceAccount(ns, name, {"eks.amazonaws.com/role-arn": ROLE})

    async def scenario():
        resolver = ServiceAccountResolver(s, fetch, timeout=5)
        results = await asyncio.gather(*(resolver.resolve("ns", "a") for _ in range(5)))
        assert {r.outcome for r in results} == {"live-found"}
        assert calls == [("ns", "a")]
        assert (await resolver.resolve("ns", "a")).outcome == "cache"

    asyncio.run(scenario())


def test_not_found_timeout_and_error_outcomes():
    async def fetch(ns, name):
        if name == "slow":
            await asyncio.sleep(30)
        if name == "boom":
            raise RuntimeError("apiserver unavailable")
        return None

    async def scenario():
        resolver = ServiceAccountResolver(state(), fetch, timeout=0.05)
        assert (await resolver.resolve("ns", "missing")).outcome == "live-not-found"
        assert (await resolver.resolve("ns", "slow")).outcome == "live-timeout"
        assert (await resolver.resolve("ns", "boom")).outcome == "live-error"
        # a failed fetch is not remembered: the next miss fetches again
        assert (await resolver.resolve("ns", "boom")).outcome == "live-error"

    asyncio.run(scenario())


def test_rate_limit_refuses_waits_longer_than_the_deadline():
    async def fetch(ns, name):
        return None

    async def scenario():
        resolver = ServiceAccountResolver(state(), fetch, timeout=0.5, rate=0.1, burst=1)
        assert (await resolver.resolve("ns", "a")).outcome == "live-not-found"
        assert (await resolver.resolve("ns", "b")).outcome == "live-rate-limited"

    asyncio.run(scenario())


def test_no_lookup_without_fetch_or_name():
    async def fetch(ns, name):
        raise AssertionError

    async def scenario():
        assert (await ServiceAccountResolver(state(), None).resolve("ns", "a")).outcome == "no-lookup"
        assert (await ServiceAccountResolver(state(), fetch).resolve("ns", "")).outcome == "no-lookup"
        assert (await ServiceAccountResolver(state(), fetch, timeout=0).resolve("ns", "a")).outcome == "no-lookup"

    asyncio.run(scenario())


def test_token_bucket():
    now = [0.0]
    bucket = TokenBucket(rate=10, burst=2, clock=lambda: now[0])
    assert bucket.reserve() == 0 and bucket.reserve() == 0
    assert abs(bucket.reserve() - 0.1) < 1e-9  # third token is 100 ms away
    now[0] = 10.0
    assert bucket.reserve() == 0


def test_watched_source_supersedes_live_entry():
    s = state()
    s.put("live", ServiceAccount("ns", "a", {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/old"}))
    s.put("kubernetes", ServiceAccount("ns", "a", {}))
    assert s.get("ns", "a").annotations == {}
    s.remove("kubernetes", "ns", "a")
    assert s.get("ns", "a") is None
