"""OIDC throughput: service-account tokens minted/s and web-identity verifications/s, RS256 and ES256.

Run: ``.venv/bin/python benchmarks/oidc_bench.py [--seconds 0.5] [--rounds 3]``

Peers (same process, rounds interleaved, median reported; reference libraries.md §1 method):
- mint: ``joserfc.jwt.encode`` of the same claims with the same key (what our minting wraps);
- verify: our full STS path (``decode_unverified`` + ``verify_web_identity_token`` with a warm ``JwksCache``:
  strict parsing, kid lookup, alg↔kty, signature, audience, time) vs ``joserfc.jwt.decode`` +
  ``JWTClaimsRegistry`` (iss/aud/exp) with a pre-imported key, and the "raw" floor (hand base64url +
  ``cryptography`` verify + json + exp check).
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import time
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from joserfc import jwt
from joserfc.jwk import KeySet

from irsa.oidc.documents import jwks_document
from irsa.oidc.jwks import JwksCache, StaticJwksFetcher
from irsa.oidc.keys import SigningKey, generate_signing_key
from irsa.oidc.tokens import ObjectRef, mint_service_account_token
from irsa.oidc.verify import decode_unverified, verify_web_identity_token

ISSUER = "https://oidc.example.com/id/BENCH"
AUDIENCE = "sts.amazonaws.com"


def _rate(fn: Callable[[], object], seconds: float) -> float:
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(16):
            fn()
        n += 16
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start)


def _b64d(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _raw_verifier(key: SigningKey) -> Callable[[str], dict]:
    pub = key.public_key

    def verify(token: str) -> dict:
        h, p, s = token.split(".")
        sig = _b64d(s)
        data = (h + "." + p).encode()
        if isinstance(pub, rsa.RSAPublicKey):
            pub.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            assert isinstance(pub, ec.EllipticCurvePublicKey)
            r, s_ = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
            pub.verify(encode_dss_signature(r, s_), data, ec.ECDSA(hashes.SHA256()))
        claims = json.loads(_b64d(p))
        if claims["exp"] <= time.time():
            raise ValueError("expired")
        return claims

    return verify


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=0.5, help="duration of one measurement")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    keys = {"RS256": generate_signing_key("RSA"), "ES256": generate_signing_key("EC")}
    pod, node = ObjectRef("app-5d8f7c9b4-x2x7q", "6c1b0e0a-1111-4b7e-9d3c-0a1b2c3d4e5f"), ObjectRef("ip-10-0-1-23", "0f3e")

    cases: dict[str, Callable[[], object]] = {}
    for alg, key in keys.items():
        def mint(key: SigningKey = key) -> str:
            return mint_service_account_token(
                key, issuer=ISSUER, namespace="default", service_account="s3-reader",
                service_account_uid="9a1f2b3c-4d5e-6f70-8192-a3b4c5d6e7f8", audiences=[AUDIENCE],
                expiration_seconds=86400, pod=pod, node=node,
            )

        token = mint()
        claims = json.loads(_b64d(token.split(".")[1]))
        cases[f"{alg} mint (irsa)"] = mint
        cases[f"{alg} mint (joserfc.jwt.encode peer)"] = (
            lambda key=key, claims=claims: jwt.encode({"alg": key.alg, "kid": key.kid}, claims, key.jose_key,
                                                      algorithms=[key.alg], default_type=None)
        )

        cache = JwksCache(StaticJwksFetcher({ISSUER: jwks_document([key])}))
        verify_web_identity_token(decode_unverified(token), client_ids=[AUDIENCE], thumbprints=[], jwks=cache,
                                  now=time.time())  # warm the cache
        cases[f"{alg} verify (irsa STS path)"] = (
            lambda token=token, cache=cache: verify_web_identity_token(
                decode_unverified(token), client_ids=[AUDIENCE], thumbprints=[], jwks=cache, now=time.time())
        )
        keyset = KeySet.import_key_set(jwks_document([key]))
        registry = jwt.JWTClaimsRegistry(iss={"essential": True, "value": ISSUER},
                                         aud={"essential": True, "value": AUDIENCE})

        def joserfc_verify(token: str = token, keyset: KeySet = keyset, alg: str = alg,
                           registry: jwt.JWTClaimsRegistry = registry) -> None:
            registry.validate(jwt.decode(token, keyset, algorithms=[alg]).claims)

        cases[f"{alg} verify (joserfc decode+claims peer)"] = joserfc_verify
        raw = _raw_verifier(key)
        cases[f"{alg} verify (raw cryptography floor)"] = lambda token=token, raw=raw: raw(token)
        print(f"{alg}: token {len(token)} chars")

    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, fn in cases.items():
            results[name].append(_rate(fn, args.seconds))
    med = {name: statistics.median(v) for name, v in results.items()}

    print(f"\n{'case':48} {'ops/s':>10}  ratio vs peer")
    for alg in keys:
        ours, peer = med[f"{alg} mint (irsa)"], med[f"{alg} mint (joserfc.jwt.encode peer)"]
        print(f"{alg + ' mint (irsa)':48} {ours:10,.0f}  {ours / peer:.2f}x joserfc.jwt.encode")
        print(f"{alg + ' mint (joserfc.jwt.encode peer)':48} {peer:10,.0f}")
        ours = med[f"{alg} verify (irsa STS path)"]
        peer = med[f"{alg} verify (joserfc decode+claims peer)"]
        floor = med[f"{alg} verify (raw cryptography floor)"]
        print(f"{alg + ' verify (irsa STS path)':48} {ours:10,.0f}  {ours / peer:.2f}x joserfc, "
              f"{ours / floor:.2f}x raw floor")
        print(f"{alg + ' verify (joserfc decode+claims peer)':48} {peer:10,.0f}")
        print(f"{alg + ' verify (raw cryptography floor)':48} {floor:10,.0f}")
    spread = max(max(v) / min(v) for v in results.values())
    print(f"\nmedian of {args.rounds} rounds x {args.seconds}s; worst round-to-round spread {spread:.2f}x")


if __name__ == "__main__":
    main()
