"""µs per SigV4 verification: irsa.wire.sigv4 (stdlib) vs a botocore-reuse verifier.

The peer is the "botocore reuse" verifier of shared/docs/reference/libraries.md §3: parse the
Authorization header, check scope/clock, rebuild an ``AWSRequest`` (query re-encoded through
``params=parse_qsl(...)``), copy only the signed headers, and recompute with
``SigV4Auth.canonical_request`` -> ``string_to_sign`` -> ``signature``. Both verify the same
botocore-signed request in the same process; rounds are interleaved; the median is printed.

Run: ``python benchmarks/wire_sigv4_bench.py [N] [ROUNDS]``
"""

from __future__ import annotations

import hmac
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

from irsa.wire.sigv4 import verify_request

AK, SECRET, TOKEN = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "FwoGZXIvYXdzEXAMPLE" * 20


@dataclass
class Ident:
    secret_access_key: str


def resolve(access_key_id: str, token: str | None) -> Ident:
    return Ident(SECRET)


def signed_request():
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    req = AWSRequest(method="POST", url="https://sts.example.test/?X=a%20b", data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(AK, SECRET, TOKEN), "sts", "eu-west-1").add_auth(req)
    p = req.prepare()
    parts = urlsplit(p.url)
    headers = [(k, v if isinstance(v, str) else v.decode()) for k, v in p.headers.items()] + [("Host", parts.netloc)]
    return "POST", parts.path, parts.query, headers, body


def botocore_reuse_verify(method, path, query, headers, body, now):
    """The peer: botocore's signer recomputes the signature on the server side."""
    hmap: dict[str, list[str]] = {}
    for k, v in headers:
        hmap.setdefault(k.lower(), []).append(v)
    auth = hmap["authorization"][0]
    algorithm, _, rest = auth.partition(" ")
    fields = dict(item.strip().split("=", 1) for item in rest.split(","))
    ak, date, region, service, term = fields["Credential"].split("/")
    signed = fields["SignedHeaders"].split(";")
    amz_date = hmap["x-amz-date"][0]
    if algorithm != "AWS4-HMAC-SHA256" or term != "aws4_request" or date != amz_date[:8] or "host" not in signed:
        raise ValueError("bad scope")
    ts = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    if abs((now - ts).total_seconds()) > 900:
        raise ValueError("expired")
    secret = resolve(ak, hmap.get("x-amz-security-token", [None])[0]).secret_access_key
    host = hmap["host"][0]
    req = AWSRequest(method=method, url=f"https://{host}{path}", data=body, params=parse_qsl(query, keep_blank_values=True))
    req.headers = HTTPHeaders()
    for name in signed:
        for value in hmap.get(name, ()):
            req.headers.add_header(name, value)
    req.context["timestamp"] = amz_date
    auth_ = SigV4Auth(Credentials(ak, secret), service, region)
    creq = auth_.canonical_request(req)
    sts = auth_.string_to_sign(req, creq)
    expected = auth_.signature(sts, req)
    if not hmac.compare_digest(expected, fields["Signature"]):
        raise ValueError("mismatch")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    args = signed_request()
    amz = next(v for k, v in args[3] if k.lower() == "x-amz-date")
    now = datetime.strptime(amz, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    verify_request(*args, resolve, now=now)  # both accept the same request
    botocore_reuse_verify(*args, now)

    def ours():
        for _ in range(n):
            verify_request(*args, resolve, now=now)

    def peer():
        for _ in range(n):
            botocore_reuse_verify(*args, now)

    results: dict[str, list[float]] = {"irsa.wire.sigv4 (stdlib)": [], "botocore reuse": []}
    for _ in range(rounds):
        for name, fn in (("irsa.wire.sigv4 (stdlib)", ours), ("botocore reuse", peer)):
            t0 = time.perf_counter()
            fn()
            results[name].append((time.perf_counter() - t0) / n * 1e6)
    print(f"SigV4 verify, POST GetCallerIdentity with session token, {n} x {rounds} rounds (interleaved)")
    print(f"{'verifier':28s} {'median µs':>10s}  rounds")
    for name, vals in results.items():
        print(f"{name:28s} {statistics.median(vals):10.2f}  " + " / ".join(f"{v:.2f}" for v in vals))
    ours_m = statistics.median(results["irsa.wire.sigv4 (stdlib)"])
    peer_m = statistics.median(results["botocore reuse"])
    print(f"ratio botocore-reuse / irsa = {peer_m / ours_m:.2f}x (higher is better for irsa)")


if __name__ == "__main__":
    main()
