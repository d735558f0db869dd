"""AssumeRoleWithWebIdentity over HTTP at 32 connections: irsa (full validation) vs moto_server.

Run: .venv/bin/python benchmarks/sts_bench.py [--seconds 10] [--roles 10,10000]

Both servers run as separate processes on loopback, driven by `wrk` (Debian package `wrk`) with one
thread and 32 keep-alive connections, in the same run. irsa verifies the token (RS256, JWKS cached after
the first fetch from a real HTTPS issuer), looks the role and provider up in SQLite, evaluates the trust
policy, seals a session; moto does none of that (it does not read the token). The report gives
requests/s, p50 and p99 for each, the ratio, and irsa with 10 versus 10,000 roles in the account.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import boto3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.issuer import IssuerServer  # noqa: E402

ACCOUNT = "111122223333"
ACCESS, SECRET = "AKIABENCHBENCHBENCH0", "benchmarksecretbenchmarksecretbenchmark0"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30) -> None:
    import httpx

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def wrk(url: str, body: str, seconds: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write('wrk.method = "POST"\n')
        fh.write(f"wrk.body = {json.dumps(body)}\n")
        fh.write('wrk.headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"\n')
        fh.write("done = function(summary, latency, requests)\n"
                 "  io.write(string.format('RESULT %d %d %d %f %f %f\\n', summary.requests, summary.errors.status,"
                 " summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,"
                 " latency:percentile(50), latency:percentile(99), summary.duration))\nend\n")
        script = fh.name
    out = subprocess.run(["wrk", "-t1", "-c32", f"-d{seconds}s", "-s", script, url], capture_output=True, text=True, check=True).stdout
    os.unlink(script)
    m = re.search(r"RESULT (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+)", out)
    assert m, out
    requests, bad_status, sock_errors, p50, p99, duration_us = m.groups()
    return {"rps": int(requests) / (float(duration_us) / 1e6), "p50_ms": float(p50) / 1000, "p99_ms": float(p99) / 1000,
            "non_2xx": int(bad_status), "socket_errors": int(sock_errors)}


def check_once(url: str, body: str) -> str:
    import httpx

    resp = httpx.post(url, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 200, resp.text
    return resp.text


def bench_irsa(issuer: IssuerServer, token: str, roles: int, seconds: int, workdir: Path, workers: int = 1) -> dict[str, float]:
    from irsa.iam.accounts import AccountStore
    from irsa.iam.service import IamService
    from irsa.store.db import Database

    data = workdir / f"irsa-{roles}-{workers}"
    data.mkdir()
    db = Database(f"sqlite:///{data / 'irsa.db'}")
    AccountStore(db).ensure_account(ACCOUNT, access_key_id=ACCESS, secret=SECRET)
    iam = IamService(db)
    host_path = issuer.issuer.removeprefix("https://")
    provider = iam.call(ACCOUNT, "CreateOpenIDConnectProvider", {"Url": issuer.issuer, "ClientIDList": ["sts.amazonaws.com"],
                                                                 "ThumbprintList": [issuer.thumbprint]})["OpenIDConnectProviderArn"]
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": provider},
                        "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": {
                            f"{host_path}:sub": "system:serviceaccount:default:bench", f"{host_path}:aud": "sts.amazonaws.com"}}}]})
    for i in range(roles):
        iam.call(ACCOUNT, "CreateRole", {"RoleName": f"role-{i:05d}", "AssumeRolePolicyDocument": trust})
    db.dispose()
    port = free_port()
    env = dict(os.environ, IRSA_ADMIN_ACCESS_KEY_ID=ACCESS, IRSA_ADMIN_SECRET_ACCESS_KEY=SECRET)
    proc = subprocess.Popen([sys.executable, "-m", "irsa.cli.main", "up", "--port", str(port), "--issuer-port", str(free_port()),
                             "--data-dir", str(data), "--account-id", ACCOUNT, "--log-level", "warning",
                             "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_http(url + "healthz")
        body = urlencode({"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15",
                          "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/role-{roles // 2:05d}", "RoleSessionName": "bench",
                          "WebIdentityToken": token})
        assert "<SubjectFromWebIdentityToken>system:serviceaccount:default:bench<" in check_once(url, body)
        return wrk(url, body, seconds)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)


def bench_moto(token: str, seconds: int) -> dict[str, float]:
    port = free_port()
    moto = shutil.which("moto_server") or str(Path(sys.executable).with_name("moto_server"))
    proc = subprocess.Popen([moto, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_http(url + "moto-api/")
        iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
        iam.create_role(RoleName="role", AssumeRolePolicyDocument="{}")
        body = urlencode({"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15",
                          "RoleArn": "arn:aws:iam::123456789012:role/role", "RoleSessionName": "bench", "WebIdentityToken": token})
        check_once(url, body)
        return wrk(url, body, seconds)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--roles", default="10,10000")
    parser.add_argument("--workers", type=int, default=2, help="also run irsa with this many worker processes (1 to skip)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    role_counts = [int(x) for x in args.roles.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        issuer = IssuerServer(workdir / "issuer").start()
        try:
            token = issuer.mint(sub="system:serviceaccount:default:bench", aud=["sts.amazonaws.com"], exp_offset=86400)
            results = {f"irsa ({n} roles)": bench_irsa(issuer, token, n, args.seconds, workdir) for n in role_counts}
            if args.workers > 1:
                results[f"irsa ({role_counts[0]} roles, {args.workers} workers)"] = bench_irsa(
                    issuer, token, role_counts[0], args.seconds, workdir, workers=args.workers)
            results["moto_server"] = bench_moto(token, args.seconds)
        finally:
            issuer.stop()
    print(f"\nAssumeRoleWithWebIdentity, wrk -t1 -c32 -d{args.seconds}s, loopback, {os.cpu_count()} cores\n")
    print(f"{'server':<34} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for name, r in results.items():
        print(f"{name:<34} {r['rps']:>10.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['non_2xx']:>8}")
    base = results[f"irsa ({role_counts[0]} roles)"]
    print(f"\nratio irsa/moto (req/s): {base['rps'] / results['moto_server']['rps']:.2f}x (one process each)")
    if args.workers > 1:
        multi = results[f"irsa ({role_counts[0]} roles, {args.workers} workers)"]
        print(f"ratio irsa with {args.workers} workers/moto (req/s): {multi['rps'] / results['moto_server']['rps']:.2f}x")
    if len(role_counts) > 1:
        last = results[f"irsa ({role_counts[-1]} roles)"]
        print(f"irsa {role_counts[-1]} vs {role_counts[0]} roles: {last['rps'] / base['rps']:.2f}x throughput, "
              f"p99 {base['p99_ms']:.2f} -> {last['p99_ms']:.2f} ms")


if __name__ == "__main__":
    main()
