"""IAM lookups on the STS hot path: µs per call, SQLite file (WAL) and PostgreSQL if reachable.

Peer: the same row fetched by primary key with the raw driver (stdlib ``sqlite3`` / ``psycopg``, one
prepared statement) — the floor measured in shared/docs/reference/libraries.md §6. Prints the ratio of each
lookup to that floor. Run: ``.venv/bin/python benchmarks/iam_lookups.py [N_ROLES]``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

from irsa.iam.service import IamService
from irsa.store.db import Database

ACCOUNT = "111122223333"
PROVIDER = "oidc.eks.us-west-2.amazonaws.com/id/BENCH"
TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{PROVIDER}"},
                   "Action": "sts:AssumeRoleWithWebIdentity",
                   "Condition": {"StringEquals": {f"{PROVIDER}:aud": "sts.amazonaws.com"}}}],
})
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})


def per_call_us(fn: Callable[[], object], n: int, rounds: int = 5) -> float:
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(samples)


def populate(iam: IamService, n_roles: int) -> str:
    iam.call(ACCOUNT, "CreateOpenIDConnectProvider", {"Url": "https://" + PROVIDER, "ClientIDList": ["sts.amazonaws.com"]})
    arn = iam.call(ACCOUNT, "CreatePolicy", {"PolicyName": "Bench", "PolicyDocument": POLICY})["Policy"]["Arn"]
    for i in range(n_roles):
        iam.call(ACCOUNT, "CreateRole", {"RoleName": f"role-{i:05}", "AssumeRolePolicyDocument": TRUST,
                                         "Tags": [{"Key": "team", "Value": str(i % 7)}]})
    target = f"role-{n_roles // 2:05}"
    iam.call(ACCOUNT, "PutRolePolicy", {"RoleName": target, "PolicyName": "inline", "PolicyDocument": POLICY})
    iam.call(ACCOUNT, "AttachRolePolicy", {"RoleName": target, "PolicyArn": arn})
    iam.call(ACCOUNT, "AttachRolePolicy", {"RoleName": target, "PolicyArn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"})
    return f"arn:aws:iam::{ACCOUNT}:role/{target}"


def bench(label: str, url: str, n_roles: int, floor: Callable[[str], Callable[[], object]]) -> None:
    db = Database(url)
    iam = IamService(db)
    t0 = time.perf_counter()
    role_arn = populate(iam, n_roles)
    print(f"[{label}] populated {n_roles} roles in {time.perf_counter() - t0:.1f}s")
    role = iam.get_role_by_arn(role_arn)
    assert role is not None and len(iam.role_permission_policies(role)) == 3
    n = 2000
    base = per_call_us(floor(role_arn), n)
    rows = [
        ("raw driver PK select (peer floor)", base),
        ("get_role_by_arn (role + tags)", per_call_us(lambda: iam.get_role_by_arn(role_arn), n)),
        ("find_oidc_provider", per_call_us(lambda: iam.find_oidc_provider(ACCOUNT, "https://" + PROVIDER), n)),
        ("role_permission_policies (3)", per_call_us(lambda: iam.role_permission_policies(role), n)),
        ("managed_policy_document (customer)", per_call_us(lambda: iam.managed_policy_document(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:policy/Bench"), n)),
    ]
    for name, us in rows:
        print(f"[{label}] {name:40s} {us:8.1f} µs/call  x{us / base:5.1f} vs raw driver")
    db.dispose()


def sqlite_floor(path: str) -> Callable[[str], Callable[[], object]]:
    import sqlite3

    def make(role_arn: str) -> Callable[[], object]:
        conn = sqlite3.connect(path)
        sql = "SELECT * FROM roles WHERE arn = ?"
        return lambda: conn.execute(sql, (role_arn,)).fetchone()

    return make


def postgres_floor(url: str) -> Callable[[str], Callable[[], object]]:
    import psycopg

    def make(role_arn: str) -> Callable[[], object]:
        conninfo = url.replace("postgresql+psycopg://", "postgresql://")
        conn = psycopg.connect(conninfo, autocommit=True, prepare_threshold=0)
        return lambda: conn.execute("SELECT * FROM roles WHERE arn = %s", (role_arn,)).fetchone()

    return make


def main() -> None:
    n_roles = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.db")
        bench("sqlite", path, n_roles, sqlite_floor(path))
    pg = os.environ.get("IRSA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    try:
        import sqlalchemy

        schema = f"irsa_bench_{os.getpid()}"
        admin = sqlalchemy.create_engine(pg, connect_args={"connect_timeout": 3})
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except Exception as exc:  # PostgreSQL is optional for the benchmark
        print(f"[postgresql] skipped: {type(exc).__name__}")
        return
    try:
        url = f"{pg}{'&' if '?' in pg else '?'}options=-csearch_path%3D{schema}"
        bench("postgresql", url, n_roles, postgres_floor(f"{pg}{'&' if '?' in pg else '?'}options=-csearch_path%3D{schema}"))
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


if __name__ == "__main__":
    main()
