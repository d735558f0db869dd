"""Policy engine throughput: decisions/s for our engine vs moto's evaluator (moto.iam.access_control.IAMPolicy),
same run, same machine, one core. Run: .venv/bin/python benchmarks/policy_bench.py [--seconds 0.5]

Cases
  s3-readonly      AmazonS3ReadOnlyAccess; s3:GetObject on arn:aws:s3:::b/k (allowed), s3:PutObject (implicitDeny),
                   s3:ListAllMyBuckets on * (allowed) — cycled
  readonly         ReadOnlyAccess (thousands of action patterns); s3:GetObject (allowed), iam:CreateUser (denied)
  20-statements    a 20-statement policy with conditions; the request matches statement 17 with context keys
  pathological     Resource "arn:aws:s3:::*a*a*a*a*b" against a 2,000-character object name ("a" * 2000)

"eval" times evaluate() on prepared Request objects; "req+eval" also builds the Request and its Context each time.
moto is given the parsed policy once (IAMPolicy(...)) and timed on is_action_permitted(action, resource).
moto's semantics differ (no ?-wildcards, case-sensitive actions, conditions mostly ignored): the comparison is of
speed on the same inputs, and the decisions of both are printed so a reader can see where they agree.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time
from collections.abc import Callable
from typing import Any

from irsa.policy import Context, PolicyKind, Principal, Request, compile_policy, evaluate
from irsa.policy.managed import get_managed_policy

ACCT = "111122223333"
SESSION = Principal(f"arn:aws:sts::{ACCT}:assumed-role/app/pod", ACCT, kind="role-session",
                    role_arn=f"arn:aws:iam::{ACCT}:role/app")
LONG_NAME = "a" * 2000


def _resource(svc: str, i: int) -> str:
    if svc == "s3":
        return f"arn:aws:s3:::thing-{i}/*"
    if svc == "iam":
        return f"arn:aws:iam::{ACCT}:role/thing-{i}/*"
    return f"arn:aws:{svc}:*:{ACCT}:thing-{i}/*"


def twenty_statement_policy() -> str:
    services = ["ec2", "s3", "sqs", "sns", "dynamodb", "lambda", "logs", "kms", "iam", "sts"]
    statements: list[dict[str, Any]] = []
    for i in range(20):
        svc = services[i % len(services)]
        cond: dict[str, Any] = {
            "StringEquals": {"aws:PrincipalTag/team": f"team-{i}", "aws:RequestedRegion": ["us-east-1", "eu-west-1"]},
            "IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]},
        }
        if i % 3 == 0:
            cond["Bool"] = {"aws:SecureTransport": "true"}
        if i % 4 == 0:
            cond["StringLike"] = {"s3:prefix": [f"home/team-{i}/*", "shared/*"]}
        statements.append({
            "Sid": f"S{i}",
            "Effect": "Deny" if i in (5, 11) else "Allow",
            "Action": [f"{svc}:Get*", f"{svc}:List*", f"{svc}:Describe*", f"{svc}:Put{i}Item"],
            "Resource": [_resource(svc, i), f"arn:aws:s3:::bucket-{i}/*"],
            "Condition": cond,
        })
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=2)


def cases() -> dict[str, tuple[str, list[tuple[str, str, dict[str, str]]]]]:
    s3ro = get_managed_policy("AmazonS3ReadOnlyAccess").document  # type: ignore[union-attr]
    ro = get_managed_policy("ReadOnlyAccess").document  # type: ignore[union-attr]
    ctx20 = {"aws:PrincipalTag/team": "team-17", "aws:RequestedRegion": "us-east-1", "aws:SourceIp": "10.1.2.3",
             "aws:SecureTransport": "true"}
    # s3:GetObject on bucket-1 reaches statement S1 and fails its aws:PrincipalTag/team condition (implicitDeny);
    # kms:GetKeyPolicy on thing-17 satisfies every condition of S17 (17 % 10 = 7 -> "kms") (allowed).
    return {
        "s3-readonly": (s3ro, [("s3:GetObject", "arn:aws:s3:::b/k", {}), ("s3:PutObject", "arn:aws:s3:::b/k", {}),
                               ("s3:ListAllMyBuckets", "*", {})]),
        "readonly": (ro, [("s3:GetObject", "arn:aws:s3:::b/k", {}), ("iam:CreateUser", f"arn:aws:iam::{ACCT}:user/x", {})]),
        "20-statements": (twenty_statement_policy(), [("s3:GetObject", "arn:aws:s3:::bucket-1/k", ctx20),
                                                      ("kms:GetKeyPolicy", f"arn:aws:kms:us-east-1:{ACCT}:thing-17/k", ctx20)]),
        "pathological": (json.dumps({"Version": "2012-10-17", "Statement": {
            "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*a*a*a*a*b"}}),
            [("s3:GetObject", "arn:aws:s3:::" + LONG_NAME, {})]),
    }


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of fn, measured for about ``seconds``."""
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed
        n = max(n * 2, int(n * seconds / max(elapsed, 1e-9) * 1.1))


def ours(doc: str, probes: list[tuple[str, str, dict[str, str]]], seconds: float) -> tuple[float, float, list[str]]:
    policy = compile_policy(doc, PolicyKind.IDENTITY, "bench", "IAM Policy")
    requests = [Request(SESSION, a, r, Context.from_strings(c)) for a, r, c in probes]
    decisions = [evaluate(req, identity=[policy]).result for req in requests]
    k = len(requests)
    i = [0]
    ident = [policy]

    def one() -> None:
        j = i[0] = (i[0] + 1) % k
        evaluate(requests[j], identity=ident)

    def built() -> None:
        j = i[0] = (i[0] + 1) % k
        a, r, c = probes[j]
        evaluate(Request(SESSION, a, r, Context.from_strings(c) if c else None), identity=ident)

    return rate(one, seconds), rate(built, seconds), decisions


def moto_rate(doc: str, probes: list[tuple[str, str, dict[str, str]]],
              seconds: float) -> tuple[float, float, list[str]]:
    """(pre-parsed rate, as-its-authorizer-runs-it rate, decisions). moto's IAMRequestBase.check_action_permitted
    builds IAMPolicy(document) (json.loads) for every request; the pre-parsed rate is the generous figure."""
    from moto.iam.access_control import IAMPolicy

    policy = IAMPolicy(doc)
    decisions = [policy.is_action_permitted(a, r, None, c or None).name for a, r, c in probes]
    k = len(probes)
    i = [0]

    def one() -> None:
        j = i[0] = (i[0] + 1) % k
        a, r, c = probes[j]
        policy.is_action_permitted(a, r, None, c or None)

    def as_run() -> None:
        j = i[0] = (i[0] + 1) % k
        a, r, c = probes[j]
        IAMPolicy(doc).is_action_permitted(a, r, None, c or None)

    return rate(one, seconds), rate(as_run, seconds), decisions


def _moto_worker(doc: str, probes: list[tuple[str, str, dict[str, str]]], seconds: float, out: Any) -> None:
    out.put(moto_rate(doc, probes, seconds))


def moto_with_timeout(doc: str, probes: list[tuple[str, str, dict[str, str]]], seconds: float,
                      timeout: float) -> tuple[float | None, float | None, list[str] | None]:
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    proc = ctx.Process(target=_moto_worker, args=(doc, probes, seconds, q))
    proc.start()
    proc.join(timeout)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return None, None, None
    return q.get()  # type: ignore[no-any-return]


def single_call_ms(doc: str, probe: tuple[str, str, dict[str, str]]) -> float:
    policy = compile_policy(doc, PolicyKind.IDENTITY)
    req = Request(SESSION, probe[0], probe[1])
    start = time.perf_counter()
    evaluate(req, identity=[policy])
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=0.5, help="measuring time per case and engine")
    parser.add_argument("--moto-timeout", type=float, default=10.0, help="give up on moto after this many seconds")
    args = parser.parse_args()

    header = (f"{'case':<14} {'ours eval/s':>12} {'ours req+eval':>13} {'moto parsed/s':>14} {'moto as-run/s':>14}"
              f" {'ratio parsed':>13} {'ratio as-run':>13}")
    print(header)
    print("-" * len(header))
    notes = []
    for name, (doc, probes) in cases().items():
        ev, built, dec = ours(doc, probes, args.seconds)
        m, m_run, mdec = moto_with_timeout(doc, probes, args.seconds, args.moto_timeout)
        if m is None or m_run is None:
            m_txt = run_txt = f">{args.moto_timeout:.0f}s"
            r1 = r2 = f">{ev * args.moto_timeout:,.0f}x"
        else:
            m_txt, run_txt = f"{m:,.0f}", f"{m_run:,.0f}"
            r1, r2 = f"{ev / m:,.1f}x", f"{ev / m_run:,.1f}x"
        print(f"{name:<14} {ev:>12,.0f} {built:>13,.0f} {m_txt:>14} {run_txt:>14} {r1:>13} {r2:>13}")
        notes.append(f"  {name}: ours {dec} | moto {mdec or 'timed out (catastrophic regex backtracking)'}")
    print("\ndecisions per probe:")
    print("\n".join(notes))
    doc, probes = cases()["pathological"]
    print(f"\npathological: one decision on a compiled policy took {single_call_ms(doc, probes[0]):.3f} ms")


if __name__ == "__main__":
    main()
