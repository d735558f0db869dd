"""Reading a published issuer back over HTTPS, the way STS will: before the rotation switches signing keys,
the live JWKS must already hold the new key (reference issuer-cli-and-doctor.md §7: "refuse to activate a
key until the published JWKS (fetched back over HTTPS) contains it").

Retrieval reuses ``irsa.oidc.jwks.HttpsJwksFetcher`` (https only, bounded, redirects, CA bundle / thumbprints).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from irsa.errors import AwsError
from irsa.oidc.jwks import HttpsJwksFetcher
from irsa.oidc.keys import PublicKey, public_jwk
from irsa.oidc.tls import normalize_thumbprint
from irsa.selfhosted.issuer_url import discovery_url_for


class PublishedCheckError(Exception):
    """The live issuer does not (yet) serve what is expected; the message says what differs."""


@dataclass(frozen=True)
class LiveIssuer:
    issuer: str
    jwks_uri: str
    jwks: dict


def fetch_live_issuer(
    issuer: str, *, ca_bundle: str | os.PathLike[str] | None = None, thumbprints: Sequence[str] = ()
) -> LiveIssuer:
    """GET the discovery document and the JWKS it names; the document's ``issuer`` must equal ``issuer``."""
    fetcher = HttpsJwksFetcher(ca_bundle=ca_bundle)
    pins = frozenset(normalize_thumbprint(t) for t in thumbprints)
    url = discovery_url_for(issuer)
    try:
        discovery = fetcher.get_json(url, pins)
    except AwsError as exc:
        raise PublishedCheckError(f"GET {url} failed: {exc.message}") from None
    if not isinstance(discovery, dict):
        raise PublishedCheckError(f"{url} is not a JSON object")
    if discovery.get("issuer") != issuer:
        raise PublishedCheckError(f"{url} says issuer {discovery.get('issuer')!r}, expected {issuer!r} (byte for byte)")
    jwks_uri = discovery.get("jwks_uri")
    if not isinstance(jwks_uri, str) or not jwks_uri.startswith("https://"):
        raise PublishedCheckError(f"{url} has no https jwks_uri")
    try:
        jwks = fetcher.get_json(jwks_uri, pins)
    except AwsError as exc:
        raise PublishedCheckError(f"GET {jwks_uri} failed: {exc.message}") from None
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise PublishedCheckError(f"{jwks_uri} is not a JWK Set")
    return LiveIssuer(issuer, jwks_uri, jwks)


def require_published(live: LiveIssuer, keys: Sequence[PublicKey]) -> None:
    """Every key must be in the live JWKS with exactly our JWK (same kid *and* key material)."""
    served = {k.get("kid"): k for k in live.jwks["keys"] if isinstance(k, dict)}
    for key in keys:
        jwk = public_jwk(key)
        got = served.get(jwk["kid"])
        if got is None:
            raise PublishedCheckError(f"{live.jwks_uri} does not contain key {jwk['kid']} yet (upload keys.json first)")
        if any(got.get(name) != value for name, value in jwk.items() if name not in ("use", "alg")):
            raise PublishedCheckError(f"{live.jwks_uri} has kid {jwk['kid']} with different key material")
