"""Projected service-account tokens, with the claims kube-apiserver 1.30+ puts in them.

Reference issuer-cli-and-doctor.md §1.8/§1.9 and Kubernetes ``pkg/serviceaccount/claims.go`` +
``pkg/registry/core/serviceaccount/storage/token.go``:

- header ``{"alg": "RS256"|"ES256"|…, "kid": <kid>}`` (no ``typ``, as go-jose without options);
- ``iss``, ``sub = system:serviceaccount:<ns>:<sa>``, ``aud`` (always a JSON array), ``exp``, ``iat``, ``nbf``,
  ``jti`` (random UUID), and ``kubernetes.io``: ``namespace``, ``serviceaccount{name,uid}``, and the bound
  object: ``pod{name,uid}`` (with ``node{name,uid}`` when the pod's node is known), or ``secret{name,uid}``,
  or ``node{name,uid}`` alone for a node-bound token; ``warnafter`` only when the token is extended.
- Expiration: < 600 s is refused ("may not specify a duration less than 10 minutes"), > 2^32 s is refused,
  and above ``max_expiration_seconds`` it is **capped** (kube-apiserver silently clamps to
  ``--service-account-max-token-expiration``; it does not refuse). With ``extend_expiration`` (kube default
  on), a pod-bound token requested for exactly 3607 s whose audiences are all API audiences is issued
  for ``max_extended_expiration_seconds`` (1 year) with ``warnafter = iat + 3607``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from joserfc import jws

from irsa.oidc.keys import SigningKey

MIN_EXPIRATION_SECONDS = 600  # kube: "may not specify a duration less than 10 minutes"
MAX_EXPIRATION_SECONDS_LIMIT = 1 << 32  # kube: "may not specify a duration larger than 2^32 seconds"
DEFAULT_EXPIRATION_SECONDS = 3600  # TokenRequest / projected volume default
WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS = 3607  # kube's WarnOnlyBoundTokenExpirationSeconds
EXPIRATION_EXTENSION_SECONDS = 365 * 24 * 60 * 60  # kube's ExpirationExtensionSeconds (1 year)


@dataclass(frozen=True)
class ObjectRef:
    """A Kubernetes object a token names in its ``kubernetes.io`` claim: ``{"name", "uid"}``."""

    name: str
    uid: str

    def claim(self) -> dict[str, str]:
        return {"name": self.name, "uid": self.uid}


def service_account_subject(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


def mint_service_account_token(
    key: SigningKey,
    *,
    issuer: str,
    namespace: str,
    service_account: str,
    service_account_uid: str,
    audiences: Sequence[str] = (),
    expiration_seconds: int = DEFAULT_EXPIRATION_SECONDS,
    max_expiration_seconds: int | None = None,
    pod: ObjectRef | None = None,
    node: ObjectRef | None = None,
    secret: ObjectRef | None = None,
    api_audiences: Sequence[str] = (),
    extend_expiration: bool = True,
    max_extended_expiration_seconds: int = EXPIRATION_EXTENSION_SECONDS,
    now: float | None = None,
    jti: str | None = None,
) -> str:
    """Sign a service-account token as kube-apiserver's TokenRequest does; returns the compact JWS.

    ``audiences`` empty means the API audiences (``api_audiences``), as kube does. Raises ``ValueError`` with
    a clear message for: expiration below 600 s or above 2^32 s, no audience at all, an empty
    namespace/name, a token bound to both a pod and a secret.
    """
    if not namespace or not service_account:
        raise ValueError("namespace and service account name must be non-empty")
    if isinstance(expiration_seconds, bool) or not isinstance(expiration_seconds, int):
        raise ValueError("expirationSeconds must be an integer")
    if expiration_seconds < MIN_EXPIRATION_SECONDS:
        raise ValueError(
            f"expirationSeconds {expiration_seconds}: may not specify a duration less than 10 minutes"
            f" ({MIN_EXPIRATION_SECONDS} seconds)"
        )
    if expiration_seconds > MAX_EXPIRATION_SECONDS_LIMIT:
        raise ValueError(f"expirationSeconds {expiration_seconds}: may not specify a duration larger than 2^32 seconds")
    if max_expiration_seconds is not None and max_expiration_seconds < MIN_EXPIRATION_SECONDS:
        raise ValueError(f"max_expiration_seconds must be at least {MIN_EXPIRATION_SECONDS}")
    if pod is not None and secret is not None:
        raise ValueError("a token is bound to at most one of a pod or a secret")
    auds = list(audiences) if audiences else list(api_audiences)
    if not auds or any(not isinstance(a, str) or not a for a in auds):
        raise ValueError("at least one non-empty audience is required")

    if max_expiration_seconds is not None and expiration_seconds > max_expiration_seconds:
        expiration_seconds = max_expiration_seconds  # kube clamps to --service-account-max-token-expiration
    lifetime = expiration_seconds
    warn_after: int | None = None
    if (
        extend_expiration
        and pod is not None
        and expiration_seconds == WARN_ONLY_BOUND_TOKEN_EXPIRATION_SECONDS
        and api_audiences
        and set(auds) <= set(api_audiences)
    ):
        warn_after = expiration_seconds
        lifetime = max(max_extended_expiration_seconds, expiration_seconds)

    issued = int(time.time() if now is None else now)
    kube: dict[str, Any] = {
        "namespace": namespace,
        "serviceaccount": {"name": service_account, "uid": service_account_uid},
    }
    if pod is not None:
        kube["pod"] = pod.claim()
    if secret is not None:
        kube["secret"] = secret.claim()
    if node is not None:
        kube["node"] = node.claim()
    if warn_after is not None:
        kube["warnafter"] = issued + warn_after
    claims: dict[str, Any] = {
        "aud": auds,
        "exp": issued + lifetime,
        "iat": issued,
        "iss": issuer,
        "jti": jti if jti is not None else str(uuid.uuid4()),
        "kubernetes.io": kube,
        "nbf": issued,
        "sub": service_account_subject(namespace, service_account),
    }
    return sign_claims(key, claims)


def sign_claims(key: SigningKey, claims: Mapping[str, Any], *, header: Mapping[str, Any] | None = None) -> str:
    """Sign arbitrary claims with ``key``. The protected header is ``{"alg": key.alg, "kid": key.kid}``, or
    exactly ``header`` when one is given."""
    protected: dict[str, Any] = dict(header) if header is not None else {"alg": key.alg, "kid": key.kid}
    payload = json.dumps(claims, separators=(",", ":")).encode("utf-8")
    return jws.serialize_compact(protected, payload, key.jose_key, algorithms=[protected["alg"]])
