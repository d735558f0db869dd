"""JWKS retrieval over real HTTPS (CA bundle, thumbprint pinning, failures) and the key cache."""

from __future__ import annotations

import socket
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from irsa import errors
from irsa.errors import AwsError
from irsa.oidc.documents import jwks_document
from irsa.oidc.jwks import (
    FetchedJwks,
    HttpsJwksFetcher,
    JwksCache,
    StaticJwksFetcher,
    parse_jwk,
    parse_jwks,
)
from irsa.oidc.keys import generate_signing_key, public_jwk
from tests.support.issuer import IssuerServer

KEY_RETRIEVAL = (
    "Couldn't retrieve verification key from your identity provider,  please reference "
    "AssumeRoleWithWebIdentity documentation for requirements"
)
THUMBPRINT = "OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint"


def _err(fn, *args, **kw) -> AwsError:  # type: ignore[no-untyped-def]
    with pytest.raises(AwsError) as info:
        fn(*args, **kw)
    return info.value


# --- fetcher ----------------------------------------------------------------------------------


def test_fetch_with_ca_bundle_walks_discovery(issuer_server: IssuerServer) -> None:
    fetched = HttpsJwksFetcher(ca_bundle=issuer_server.ca_bundle).fetch(issuer_server.issuer, [])
    assert fetched.pinned == frozenset()
    assert [k["kid"] for k in fetched.document["keys"]] == [issuer_server.signing_key.kid]
    assert issuer_server.requests == [
        issuer_server.path + "/.well-known/openid-configuration",
        issuer_server.path + "/openid/v1/jwks",
    ]


def test_fetch_pinned_by_thumbprint_of_top_intermediate(issuer_server: IssuerServer) -> None:
    fetcher = HttpsJwksFetcher(use_system_cas=False)  # nothing trusted: only the pin can vouch
    fetched = fetcher.fetch(issuer_server.issuer, ["1" * 40, issuer_server.thumbprint.upper()])
    assert fetched.pinned == {issuer_server.thumbprint}
    # the pin is the intermediate (last presented cert), not the leaf or the root
    assert issuer_server.thumbprint == issuer_server.ca.thumbprint
    e = _err(fetcher.fetch, issuer_server.issuer, ["0" * 40])
    assert (e.code, e.message) == ("InvalidIdentityToken", THUMBPRINT)
    e = _err(fetcher.fetch, issuer_server.issuer, [])
    assert (e.code, e.message) == ("InvalidIdentityToken", THUMBPRINT)


def test_ca_verified_host_needs_no_thumbprint_even_if_wrong(issuer_server: IssuerServer) -> None:
    # AWS: thumbprints only matter when the certificate does not chain to a trusted CA
    fetched = HttpsJwksFetcher(ca_bundle=issuer_server.ca_bundle).fetch(issuer_server.issuer, ["0" * 40])
    assert fetched.pinned == frozenset()


def test_pinned_chain_must_name_the_host(tmp_path: Path) -> None:
    # certificate for another name only: the right thumbprint does not make it valid for 127.0.0.1
    with IssuerServer(tmp_path, dns_names=("other.example",), ip_addresses=()) as server:
        fetcher = HttpsJwksFetcher(use_system_cas=False)
        e = _err(fetcher.fetch, server.issuer, [server.thumbprint])
        assert (e.code, e.message) == ("InvalidIdentityToken", THUMBPRINT)
        # and the CA path checks the host name too
        e = _err(HttpsJwksFetcher(ca_bundle=server.ca_bundle).fetch, server.issuer, [])
        assert e.message == THUMBPRINT


@pytest.mark.parametrize("status,code", [(500, "IDPCommunicationError"), (503, "IDPCommunicationError"),
                                         (404, "InvalidIdentityToken"), (403, "InvalidIdentityToken")])
def test_http_errors(issuer_server: IssuerServer, status: int, code: str) -> None:
    issuer_server.status_override = status
    e = _err(HttpsJwksFetcher(ca_bundle=issuer_server.ca_bundle).fetch, issuer_server.issuer, [])
    assert e.code == code
    if code == "InvalidIdentityToken":
        assert e.message == KEY_RETRIEVAL


@pytest.mark.parametrize(
    "discovery",
    [
        {"issuer": "x"},  # no jwks_uri
        {"jwks_uri": 5},
        {"jwks_uri": "http://127.0.0.1/keys"},  # https only
        [1, 2],
        b"not json",
    ],
)
def test_unusable_discovery(issuer_server: IssuerServer, discovery: object) -> None:
    issuer_server.discovery_override = discovery
    e = _err(HttpsJwksFetcher(ca_bundle=issuer_server.ca_bundle).fetch, issuer_server.issuer, [])
    assert (e.code, e.message) == ("InvalidIdentityToken", KEY_RETRIEVAL)


def test_response_size_bounded(issuer_server: IssuerServer) -> None:
    fetcher = HttpsJwksFetcher(ca_bundle=issuer_server.ca_bundle, max_bytes=4096)
    issuer_server.jwks_override = {"keys": [], "pad": "x" * 5000}
    e = _err(fetcher.fetch, issuer_server.issuer, [])
    assert e.message == KEY_RETRIEVAL
    issuer_server.jwks_override = None
    assert fetcher.fetch(issuer_server.issuer, []).document["keys"]


def test_redirects_https_only(issuer_server: IssuerServer) -> None:
    fetcher = HttpsJwksFetcher(ca_bundle=issuer_server.ca_bundle)
    jwks_path = issuer_server.path + "/openid/v1/jwks"
    issuer_server.redirects["/moved-keys"] = jwks_path
    issuer_server.discovery_override = {"jwks_uri": issuer_server.base_url + "/moved-keys"}
    assert fetcher.fetch(issuer_server.issuer, []).document["keys"]
    issuer_server.redirects["/moved-keys"] = f"http://127.0.0.1:{issuer_server.port}{jwks_path}"
    assert _err(fetcher.fetch, issuer_server.issuer, []).message == KEY_RETRIEVAL
    issuer_server.redirects["/moved-keys"] = "/moved-keys"  # loop
    assert _err(fetcher.fetch, issuer_server.issuer, []).message == KEY_RETRIEVAL


def test_unreachable_and_timeout_are_communication_errors(tmp_path: Path) -> None:
    # nothing listening
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    e = _err(HttpsJwksFetcher().fetch, f"https://127.0.0.1:{port}/issuer", [])
    assert (e.code, e.status) == ("IDPCommunicationError", 400)
    # listening but never speaking TLS
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"https://127.0.0.1:{silent.getsockname()[1]}/issuer"
        e = _err(HttpsJwksFetcher(timeout_seconds=0.3).fetch, url, [])
        assert e.code == "IDPCommunicationError"


def test_non_https_issuer_refused() -> None:
    e = _err(HttpsJwksFetcher().fetch, "http://127.0.0.1:1/issuer", [])
    assert e.message == KEY_RETRIEVAL


# --- parsing ----------------------------------------------------------------------------------


def test_parse_jwks_limits_and_skips() -> None:
    rsa_key, ec_key = generate_signing_key("RSA"), generate_signing_key("EC")
    doc = jwks_document([rsa_key, ec_key])
    doc["keys"] += [
        {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},  # symmetric: never usable
        dict(public_jwk(rsa_key), kid="enc", use="enc"),
        dict(public_jwk(rsa_key), kid="ps", alg="PS256"),
        dict(public_jwk(ec_key), kid="bad-point", y=public_jwk(ec_key)["x"]),  # off the curve
        dict(public_jwk(ec_key), kid="p384", crv="P-384"),  # coordinates of the wrong size
        dict(public_jwk(rsa_key), kid="rsa-as-es", alg="ES256"),
        {"kty": "RSA", "kid": "nonsense", "n": "!!", "e": "AQAB"},
        "not an object",
        dict(public_jwk(ec_key)),  # duplicate kid: first wins
    ]
    keys = parse_jwks(doc)
    assert set(keys) == {rsa_key.kid, ec_key.kid}
    assert keys[rsa_key.kid].accepts("RS256") and not keys[rsa_key.kid].accepts("ES256")
    assert keys[ec_key.kid].accepts("ES256") and not keys[ec_key.kid].accepts("ES384")
    assert not keys[rsa_key.kid].accepts("HS256") and not keys[rsa_key.kid].accepts("none")
    assert not keys[rsa_key.kid].accepts("RS384")  # the JWK declared RS256


def test_small_rsa_jwk_unusable() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    assert parse_jwk(public_jwk(small)) is None


def test_more_than_100_keys_is_unusable() -> None:
    key = generate_signing_key("EC")
    base = public_jwk(key)
    hundred = {"keys": [dict(base, kid=str(i)) for i in range(100)]}
    assert len(parse_jwks(hundred)) == 100
    hundred["keys"].append(dict(base, kid="101"))
    e = _err(parse_jwks, hundred)
    assert (e.code, e.message) == ("InvalidIdentityToken", KEY_RETRIEVAL)
    for bad in ({}, {"keys": {}}, [], "x"):
        assert _err(parse_jwks, bad).message == KEY_RETRIEVAL


# --- cache ------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingFetcher:
    """Serves a mutable JWKS and counts retrievals."""

    def __init__(self, keys: list) -> None:  # type: ignore[type-arg]
        self.keys = keys
        self.calls = 0
        self.fail: AwsError | None = None
        self.pinned: frozenset[str] = frozenset()
        self.gate: threading.Event | None = None

    def fetch(self, issuer: str, thumbprints: Sequence[str]) -> FetchedJwks:
        self.calls += 1
        if self.gate is not None:
            self.gate.wait(5)
        if self.fail is not None:
            raise self.fail
        return FetchedJwks(jwks_document(self.keys), self.pinned)


ISS = "https://issuer.example/cluster"


def test_cache_ttl_and_unknown_kid_refetch_rate_limited() -> None:
    a = generate_signing_key("EC")
    fetcher = CountingFetcher([a])
    clock = FakeClock()
    cache = JwksCache(fetcher, ttl_seconds=300, refetch_interval_seconds=10, clock=clock)
    assert cache.get_key(ISS, a.kid).kid == a.kid
    assert cache.get_key(ISS, a.kid) is cache.get_key(ISS, a.kid)  # parsed once, cached
    assert fetcher.calls == 1
    # unknown kid right after a fetch: no refetch (rate limit)
    assert _err(cache.get_key, ISS, "nope").message == KEY_RETRIEVAL
    assert fetcher.calls == 1
    # after the interval: exactly one refetch per unknown kid lookup burst
    clock.now += 11
    assert _err(cache.get_key, ISS, "nope").message == KEY_RETRIEVAL
    assert _err(cache.get_key, ISS, "nope2").message == KEY_RETRIEVAL
    assert fetcher.calls == 2
    # TTL expiry refetches even for known kids
    clock.now += 301
    cache.get_key(ISS, a.kid)
    assert fetcher.calls == 3


def test_cache_picks_up_rotation_and_drops_retired_keys() -> None:
    a, b = generate_signing_key("RSA"), generate_signing_key("EC")
    fetcher = CountingFetcher([a])
    clock = FakeClock()
    cache = JwksCache(fetcher, clock=clock)
    cache.get_key(ISS, a.kid)
    fetcher.keys = [a, b]  # rotation: new key published
    clock.now += 11
    assert cache.get_key(ISS, b.kid).kid == b.kid  # unknown kid → one refetch → found
    assert fetcher.calls == 2
    fetcher.keys = [b]  # old key retired
    clock.now += 301
    assert _err(cache.get_key, ISS, a.kid).message == KEY_RETRIEVAL
    assert cache.get_key(ISS, b.kid).kid == b.kid


def test_cache_remembers_failures_for_the_interval() -> None:
    a = generate_signing_key("EC")
    fetcher = CountingFetcher([a])
    fetcher.fail = AwsError(errors.IDP_COMMUNICATION_ERROR, "down")
    clock = FakeClock()
    cache = JwksCache(fetcher, clock=clock)
    for _ in range(3):
        assert _err(cache.get_key, ISS, a.kid).code == "IDPCommunicationError"
    assert fetcher.calls == 1
    fetcher.fail = None
    clock.now += 11
    assert cache.get_key(ISS, a.kid).kid == a.kid
    assert fetcher.calls == 2


def test_pinned_entry_not_served_to_callers_without_that_pin() -> None:
    a = generate_signing_key("EC")
    fetcher = CountingFetcher([a])
    fetcher.pinned = frozenset({"ab" * 20})
    cache = JwksCache(fetcher, clock=FakeClock())
    cache.get_key(ISS, a.kid, thumbprints=["AB" * 20])
    cache.get_key(ISS, a.kid, thumbprints=["ab" * 20, "cd" * 20])
    assert fetcher.calls == 1
    cache.get_key(ISS, a.kid, thumbprints=["cd" * 20])  # must re-establish trust with its own pins
    assert fetcher.calls == 2


def test_cache_single_fetch_under_concurrency() -> None:
    a = generate_signing_key("EC")
    fetcher = CountingFetcher([a])
    fetcher.gate = threading.Event()
    cache = JwksCache(fetcher)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_key(ISS, a.kid).kid)) for _ in range(8)]
    for t in threads:
        t.start()
    fetcher.gate.set()
    for t in threads:
        t.join(5)
    assert results == [a.kid] * 8
    assert fetcher.calls == 1


def test_static_fetcher() -> None:
    a = generate_signing_key("RSA")
    static = StaticJwksFetcher()
    cache = JwksCache(static)
    assert _err(cache.get_key, ISS, a.kid).message == KEY_RETRIEVAL
    static.set(ISS, jwks_document([a]))
    cache.invalidate(ISS)
    assert cache.get_key(ISS, a.kid).kid == a.kid


def test_cache_over_https_rotation_end_to_end(issuer_server: IssuerServer) -> None:
    clock = FakeClock()
    cache = JwksCache(HttpsJwksFetcher(ca_bundle=issuer_server.ca_bundle), clock=clock)
    old = issuer_server.signing_key
    cache.get_key(issuer_server.issuer, old.kid)
    new = issuer_server.rotate()
    clock.now += 11
    assert cache.get_key(issuer_server.issuer, new.kid).kid == new.kid
    assert cache.get_key(issuer_server.issuer, old.kid).kid == old.kid  # still published
    issuer_server.retire(old.kid)
    clock.now += 301
    assert _err(cache.get_key, issuer_server.issuer, old.kid).message == KEY_RETRIEVAL
    assert issuer_server.jwks_requests() == 3
