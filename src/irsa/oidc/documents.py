"""The OIDC discovery document and JWKS, exactly as kube-apiserver serves them.

kube-apiserver (``pkg/serviceaccount/openidmetadata.go``, reference issuer-cli-and-doctor.md §1.4 B, §1.5,
§1.7) serves:

- ``/.well-known/openid-configuration`` as ``application/json``: exactly the fields ``issuer``, ``jwks_uri``,
  ``response_types_supported: ["id_token"]``, ``subject_types_supported: ["public"]`` and
  ``id_token_signing_alg_values_supported`` (derived from the keys, sorted, unique);
- ``/openid/v1/jwks`` as ``application/jwk-set+json``: ``{"keys": [...]}`` with every verification key.

``extended=True`` adds the two fields of the self-hosted/EKS shape (§1.4 A/C), ``authorization_endpoint`` and
``claims_supported``; the default is kube-apiserver's exact field set.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from irsa.oidc.keys import PublicKey, SigningKey, algorithm_for, public_jwk

DISCOVERY_PATH = "/.well-known/openid-configuration"
KUBERNETES_JWKS_PATH = "/openid/v1/jwks"
DISCOVERY_CONTENT_TYPE = "application/json"
JWKS_CONTENT_TYPE = "application/jwk-set+json"
CACHE_CONTROL = "public, max-age=3600"
AUTHORIZATION_ENDPOINT = "urn:kubernetes:programmatic_authorization"


def _require_https_url(name: str, url: str) -> None:
    # kube-apiserver refuses a non-https issuer / jwks_uri, and an issuer with a query or fragment (§1.7).
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError(f"{name} must be an https URL, got {url!r}")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise ValueError(f"{name} must not contain a query or fragment: {url!r}")


def discovery_document(
    issuer: str, jwks_uri: str, keys: Sequence[SigningKey | PublicKey], *, extended: bool = False
) -> dict[str, Any]:
    """The discovery document for ``issuer``; ``issuer`` is used byte for byte (no slash normalisation)."""
    _require_https_url("issuer", issuer)
    _require_https_url("jwks_uri", jwks_uri)
    if not keys:
        raise ValueError("at least one key is needed")
    algs = sorted({algorithm_for(k.public_key if isinstance(k, SigningKey) else k) for k in keys})
    doc: dict[str, Any] = {
        "issuer": issuer,
        "jwks_uri": jwks_uri,
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
    }
    if extended:
        doc["authorization_endpoint"] = AUTHORIZATION_ENDPOINT
        doc["claims_supported"] = ["sub", "iss"]
    return doc


def jwks_document(keys: Sequence[SigningKey | PublicKey]) -> dict[str, list[dict[str, str]]]:
    """``{"keys": [...]}``; duplicate keys (same kid) are published once, first occurrence kept."""
    seen: set[str] = set()
    out: list[dict[str, str]] = []
    for key in keys:
        jwk = public_jwk(key)
        if jwk["kid"] in seen:
            continue
        seen.add(jwk["kid"])
        out.append(jwk)
    return {"keys": out}


def default_jwks_uri(issuer: str) -> str:
    """Where kube-apiserver points ``jwks_uri`` without ``--service-account-jwks-uri``: the issuer's host
    with ``/openid/v1/jwks``."""
    parts = urlsplit(issuer)
    return f"https://{parts.netloc}{KUBERNETES_JWKS_PATH}"


def serialize(document: dict[str, Any]) -> bytes:
    """Compact JSON bytes, as served."""
    return json.dumps(document, separators=(",", ":")).encode("utf-8")
