"""The decision procedure: explicit deny, identity / resource / boundary / session interplay, principals,
trust policies for OIDC web identity, explanations. Each expected decision is derived by hand from AWS's
documented evaluation logic (reference §1.1-1.3: reference_policies_evaluation-logic and the table
"Resource-based policies and implicit denies in other policy types").
"""

from __future__ import annotations

import json
from typing import Any

from irsa.policy import Context, MatchedStatement, PolicyKind, Principal, Request, compile_policy, evaluate

ACCT = "111122223333"
ROLE_ARN = f"arn:aws:iam::{ACCT}:role/app"
SESSION_ARN = f"arn:aws:sts::{ACCT}:assumed-role/app/pod-1"
SESSION = Principal(SESSION_ARN, ACCT, kind="role-session", role_arn=ROLE_ARN, session_arn=SESSION_ARN)
USER = Principal(f"arn:aws:iam::{ACCT}:user/alice", ACCT, kind="user")
OTHER_USER = Principal(f"arn:aws:iam::{ACCT}:user/bob", ACCT, kind="user")
ROOT = Principal(f"arn:aws:iam::{ACCT}:root", ACCT, kind="root")


def pol(*statements: dict[str, Any], kind: PolicyKind = PolicyKind.IDENTITY, pid: str = "p", ptype: str = "t",
        version: str = "2012-10-17") -> Any:
    return compile_policy(json.dumps({"Version": version, "Statement": list(statements)}), kind, pid, ptype)


def st(effect: str = "Allow", action: Any = "s3:GetObject", resource: Any = "*", **kw: Any) -> dict[str, Any]:
    d = {"Effect": effect, "Action": action}
    if resource is not None:
        d["Resource"] = resource
    d.update(kw)
    return d


GET = Request(SESSION, "s3:GetObject", "arn:aws:s3:::b/k")


# --- identity policies ------------------------------------------------------------------------------


def test_default_is_implicit_deny() -> None:
    d = evaluate(GET)
    assert d.result == "implicitDeny" and not d.allowed and d.matched_statements == []


def test_identity_allow() -> None:
    d = evaluate(GET, identity=[pol(st())])
    assert d.result == "allowed" and d.allowed


def test_explicit_deny_wins_and_is_the_only_entry() -> None:
    allow = pol(st(Sid="A"), pid="allow")
    deny = pol(st("Deny", "s3:*", Sid="D"), pid="deny")
    d = evaluate(GET, identity=[allow, deny])
    assert d.result == "explicitDeny"
    assert [m.policy_id for m in d.matched_statements] == ["deny"]
    assert d.reason == "identity-based"


def test_deny_statement_with_failing_condition_does_not_apply() -> None:
    deny = st("Deny", "s3:*", Condition={"Bool": {"aws:SecureTransport": "false"}})
    p = pol(st(), deny)
    secure = Request(SESSION, "s3:GetObject", "arn:aws:s3:::b/k", Context().add("aws:SecureTransport", True, "boolean"))
    plain = Request(SESSION, "s3:GetObject", "arn:aws:s3:::b/k", Context().add("aws:SecureTransport", False, "boolean"))
    assert evaluate(secure, identity=[p]).result == "allowed"
    assert evaluate(plain, identity=[p]).result == "explicitDeny"


def test_get_caller_identity_is_always_allowed() -> None:
    req = Request(SESSION, "sts:GetCallerIdentity")
    assert evaluate(req, identity=[pol(st("Deny", "*"))]).result == "allowed"
    assert evaluate(req).allowed


def test_root_user_is_allowed_unless_denied() -> None:
    req = Request(ROOT, "s3:GetObject", "arn:aws:s3:::b/k")
    assert evaluate(req).allowed
    assert evaluate(req, identity=[pol(st("Deny", "s3:*"))]).result == "explicitDeny"


# --- permissions boundary -------------------------------------------------------------------------


def test_boundary_limits_but_never_grants() -> None:
    boundary = pol(st(action="s3:*"), kind=PolicyKind.BOUNDARY)
    # identity allows, boundary allows -> allowed
    assert evaluate(GET, identity=[pol(st())], boundary=boundary).allowed
    # boundary alone grants nothing
    d = evaluate(GET, boundary=boundary)
    assert d.result == "implicitDeny" and d.reason == "identity-based"
    # identity allows something the boundary does not cover -> implicit deny
    put = Request(SESSION, "ec2:RunInstances", "*")
    d = evaluate(put, identity=[pol(st(action="*"))], boundary=boundary)
    assert d.result == "implicitDeny" and d.reason == "permissions boundary" and d.allowed_by_boundary is False


def test_boundary_deny_is_explicit() -> None:
    boundary = pol(st(action="*"), st("Deny", "s3:GetObject"), kind=PolicyKind.BOUNDARY)
    d = evaluate(GET, identity=[pol(st())], boundary=boundary)
    assert d.result == "explicitDeny" and d.reason == "permissions boundary"


# --- session policies -----------------------------------------------------------------------------


def test_session_policy_limits_a_role_session() -> None:
    identity = pol(st(action="s3:*"))
    session_ok = pol(st(action="s3:Get*"), kind=PolicyKind.SESSION, pid="session")
    session_other = pol(st(action="sqs:*"), kind=PolicyKind.SESSION)
    assert evaluate(GET, identity=[identity], session=[session_ok]).allowed
    d = evaluate(GET, identity=[identity], session=[session_other])
    assert d.result == "implicitDeny" and d.reason == "session"
    # session policies never grant on their own
    assert evaluate(GET, session=[session_ok]).result == "implicitDeny"
    # no session policy -> the role's permissions apply
    assert evaluate(GET, identity=[identity], session=None).allowed
    # several session policies (inline + PolicyArns) form one set: one Allow is enough
    assert evaluate(GET, identity=[identity], session=[session_other, session_ok]).allowed


def test_session_policy_deny() -> None:
    d = evaluate(GET, identity=[pol(st())], session=[pol(st(action="*"), st("Deny", "s3:GetObject"), kind=PolicyKind.SESSION)])
    assert d.result == "explicitDeny" and d.reason == "session"


# --- resource-based policies ----------------------------------------------------------------------


def rp(principal: Any, effect: str = "Allow") -> Any:
    return pol(st(effect, "s3:GetObject", "arn:aws:s3:::b/*", Principal=principal), kind=PolicyKind.RESOURCE,
               pid="bucket", ptype="resource")


def test_resource_policy_naming_user_grants_without_identity_policy() -> None:
    req = Request(USER, "s3:GetObject", "arn:aws:s3:::b/k")
    d = evaluate(req, resource_policy=rp({"AWS": USER.arn}))
    assert d.allowed and [m.policy_id for m in d.matched_statements] == ["bucket"]
    # not limited by the boundary either ("not limited by an implicit deny in identity policies or the boundary")
    assert evaluate(req, resource_policy=rp({"AWS": USER.arn}), boundary=pol(st(action="sqs:*"))).allowed
    # another user is not named
    assert not evaluate(Request(OTHER_USER, "s3:GetObject", "arn:aws:s3:::b/k"), resource_policy=rp({"AWS": USER.arn})).allowed


def test_resource_policy_naming_session_is_not_limited() -> None:
    boundary = pol(st(action="sqs:*"), kind=PolicyKind.BOUNDARY)
    session = [pol(st(action="sqs:*"), kind=PolicyKind.SESSION)]
    d = evaluate(GET, resource_policy=rp({"AWS": SESSION_ARN}), boundary=boundary, session=session)
    assert d.allowed


def test_resource_policy_naming_role_is_limited_by_boundary_and_session() -> None:
    by_role = rp({"AWS": ROLE_ARN})
    # no identity policy needed
    assert evaluate(GET, resource_policy=by_role).allowed
    # limited by an implicit deny in the boundary
    d = evaluate(GET, resource_policy=by_role, boundary=pol(st(action="sqs:*"), kind=PolicyKind.BOUNDARY))
    assert d.result == "implicitDeny" and d.reason == "permissions boundary"
    # limited by an implicit deny in the session policy
    d = evaluate(GET, resource_policy=by_role, session=[pol(st(action="sqs:*"), kind=PolicyKind.SESSION)])
    assert d.result == "implicitDeny" and d.reason == "session"


def test_resource_policy_naming_account_delegates_to_identity() -> None:
    by_account = rp({"AWS": f"arn:aws:iam::{ACCT}:root"})
    req = Request(USER, "s3:GetObject", "arn:aws:s3:::b/k")
    assert evaluate(req, resource_policy=by_account).result == "implicitDeny"
    assert evaluate(req, resource_policy=by_account, identity=[pol(st())]).allowed
    assert evaluate(req, resource_policy=rp({"AWS": ACCT}), identity=[pol(st())]).allowed


def test_resource_policy_deny_wins_over_identity_allow() -> None:
    d = evaluate(GET, identity=[pol(st())], resource_policy=rp("*", effect="Deny"))
    assert d.result == "explicitDeny" and d.reason == "resource-based"


def test_not_principal_with_deny_denies_everyone_else() -> None:
    # "With Deny it denies everyone except the listed principals"
    p = pol(st(action="s3:*", resource="arn:aws:s3:::b/*", Principal="*"),
            st("Deny", "s3:*", "arn:aws:s3:::b/*", NotPrincipal={"AWS": [USER.arn, f"arn:aws:iam::{ACCT}:root"]}),
            kind=PolicyKind.RESOURCE)
    assert evaluate(Request(USER, "s3:GetObject", "arn:aws:s3:::b/k"), resource_policy=p).allowed
    assert evaluate(Request(OTHER_USER, "s3:GetObject", "arn:aws:s3:::b/k"), resource_policy=p).result == "explicitDeny"
    # Without the account ARN, "the account itself gets denied" and with it every user of the account, Bob too.
    no_account = pol(st(action="s3:*", resource="arn:aws:s3:::b/*", Principal="*"),
                     st("Deny", "s3:*", "arn:aws:s3:::b/*", NotPrincipal={"AWS": [USER.arn]}), kind=PolicyKind.RESOURCE)
    assert evaluate(Request(USER, "s3:GetObject", "arn:aws:s3:::b/k"), resource_policy=no_account).result == "explicitDeny"
    # A role session is excluded only when the session ARN, the role ARN and the account are all listed.
    only_role = pol(st("Deny", "s3:*", "arn:aws:s3:::b/*", NotPrincipal={"AWS": [ROLE_ARN, f"arn:aws:iam::{ACCT}:root"]}),
                    kind=PolicyKind.RESOURCE)
    assert evaluate(GET, resource_policy=only_role).result == "explicitDeny"
    all_three = pol(st("Deny", "s3:*", "arn:aws:s3:::b/*", NotPrincipal={"AWS": [ROLE_ARN, SESSION_ARN, ACCT]}),
                    kind=PolicyKind.RESOURCE)
    assert evaluate(GET, resource_policy=all_three).result == "implicitDeny"


def test_anonymous_matches_only_everyone() -> None:
    anon = Request(Principal.anonymous(), "s3:GetObject", "arn:aws:s3:::b/k")
    assert evaluate(anon, resource_policy=rp("*")).allowed
    assert evaluate(anon, resource_policy=rp({"AWS": "*"})).allowed
    assert not evaluate(anon, resource_policy=rp({"AWS": ACCT})).allowed


def test_service_principal() -> None:
    svc = Request(Principal("", "", kind="service", service="cloudtrail.amazonaws.com"), "s3:GetObject", "arn:aws:s3:::b/k")
    assert evaluate(svc, resource_policy=rp({"Service": "cloudtrail.amazonaws.com"})).allowed
    assert not evaluate(svc, resource_policy=rp({"Service": "config.amazonaws.com"})).allowed


# --- trust policies for IRSA (AssumeRoleWithWebIdentity) -------------------------------------------

ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
PROVIDER = f"arn:aws:iam::{ACCT}:oidc-provider/{ISSUER}"
WEB = Principal(PROVIDER, ACCT, kind="federated", federated=PROVIDER)


def trust(condition: dict[str, Any], federated: str = PROVIDER) -> Any:
    return compile_policy(json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": federated}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": condition}]}), PolicyKind.TRUST, "trust", "resource")


def assume(sub: str, aud: str = "sts.amazonaws.com", principal: Principal = WEB) -> Request:
    ctx = Context.from_strings({f"{ISSUER}:sub": sub, f"{ISSUER}:aud": aud})
    return Request(principal, "sts:AssumeRoleWithWebIdentity", ROLE_ARN, ctx)


def test_trust_string_equals_sub_and_aud() -> None:
    t = trust({"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:default:assumer",
                                f"{ISSUER}:aud": "sts.amazonaws.com"}})
    assert evaluate(assume("system:serviceaccount:default:assumer"), resource_policy=t).allowed
    assert not evaluate(assume("system:serviceaccount:default:other"), resource_policy=t).allowed
    assert not evaluate(assume("system:serviceaccount:default:assumer", aud="other"), resource_policy=t).allowed


def test_trust_wildcard_under_string_equals_never_matches() -> None:
    # The classic mistake: StringEquals compares literally, so "*" is just a character.
    t = trust({"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:default:*"}})
    assert not evaluate(assume("system:serviceaccount:default:assumer"), resource_policy=t).allowed
    like = trust({"StringLike": {f"{ISSUER}:sub": "system:serviceaccount:default:*"}})
    assert evaluate(assume("system:serviceaccount:default:assumer"), resource_policy=like).allowed
    assert not evaluate(assume("system:serviceaccount:kube-system:x"), resource_policy=like).allowed


def test_trust_requires_the_named_provider() -> None:
    t = trust({"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:default:assumer"}})
    other = f"arn:aws:iam::{ACCT}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/OTHER"
    req = assume("system:serviceaccount:default:assumer", principal=Principal(other, ACCT, kind="federated", federated=other))
    d = evaluate(req, resource_policy=t)
    assert d.result == "implicitDeny" and d.reason == "resource-based"


def test_trust_missing_claim_is_reported() -> None:
    t = trust({"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:default:assumer"}})
    req = Request(WEB, "sts:AssumeRoleWithWebIdentity", ROLE_ARN, Context())
    d = evaluate(req, resource_policy=t)
    assert d.result == "implicitDeny" and d.missing_context_values == [f"{ISSUER}:sub"]


def test_trust_action_must_match() -> None:
    t = trust({"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:default:assumer"}})
    req = Request(WEB, "sts:AssumeRole", ROLE_ARN, Context.from_strings({f"{ISSUER}:sub": "system:serviceaccount:default:assumer"}))
    assert not evaluate(req, resource_policy=t).allowed


def test_trust_naming_role_for_assume_role_chaining() -> None:
    t = compile_policy(json.dumps({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Principal": {"AWS": ROLE_ARN}, "Action": "sts:AssumeRole"}}), PolicyKind.TRUST)
    assert evaluate(Request(SESSION, "sts:AssumeRole", f"arn:aws:iam::{ACCT}:role/target"), resource_policy=t).allowed
    assert not evaluate(Request(USER, "sts:AssumeRole", f"arn:aws:iam::{ACCT}:role/target"), resource_policy=t).allowed


# --- explanation ----------------------------------------------------------------------------------


def test_matched_statements_and_positions() -> None:
    text = '{"Version":"2012-10-17","Statement":[\n{"Sid":"One","Effect":"Allow","Action":"s3:Get*","Resource":"*"},\n' \
           '{"Sid":"Two","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}'
    p = compile_policy(text, PolicyKind.IDENTITY, "my-policy", "IAM Policy")
    d = evaluate(GET, identity=[p])
    assert d.matched_statements == [
        # statement One is 64 characters from column index 0: "}" at index 63 -> column 65 (63 + 2)
        MatchedStatement("my-policy", "IAM Policy", 0, "One", (2, 2), (2, 65)),
        MatchedStatement("my-policy", "IAM Policy", 1, "Two", (3, 2), (3, 85)),
    ]


def test_missing_context_values_listed_once_with_policy_spelling() -> None:
    p = pol(st(Condition={"StringEquals": {"aws:PrincipalTag/Team": "a"}, "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
            st(Condition={"StringEquals": {"AWS:principaltag/team": "b"}}))
    d = evaluate(GET, identity=[p])
    assert d.result == "implicitDeny"
    assert d.missing_context_values == ["aws:PrincipalTag/Team", "aws:SourceIp"]


def test_compile_is_cached_and_names_are_per_handle() -> None:
    text = json.dumps({"Version": "2012-10-17", "Statement": st()})
    a = compile_policy(text, PolicyKind.IDENTITY, "a", "x")
    b = compile_policy(text, PolicyKind.IDENTITY, "b", "y")
    assert a.body is b.body
    assert evaluate(GET, identity=[b]).matched_statements[0].policy_id == "b"


def test_concurrent_compile_and_evaluate_agree() -> None:
    # compile-once cache and per-action memo are shared between threads; every thread must see the same answers
    from concurrent.futures import ThreadPoolExecutor

    text = json.dumps({"Version": "2012-10-17", "Statement": [
        st(action=[f"svc{i}:Get*" for i in range(30)]), st("Deny", "svc7:GetSecret")]})
    requests = [Request(SESSION, f"svc{i % 40}:Get{'Secret' if i % 7 == 0 else 'Thing'}", "*") for i in range(200)]

    def run(_: int) -> list[str]:
        p = compile_policy(text, PolicyKind.IDENTITY, "p")
        return [evaluate(r, identity=[p]).result for r in requests]

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(run, range(8)))
    # derived from the document: svc0..svc29 Get* allowed, svc7:GetSecret denied, svc30+ not granted
    expected = []
    for i in range(200):
        svc, name = i % 40, "GetSecret" if i % 7 == 0 else "GetThing"
        expected.append("explicitDeny" if (svc == 7 and name == "GetSecret") else "allowed" if svc < 30 else "implicitDeny")
    assert all(o == expected for o in outcomes)


def test_principal_kind_is_keyword_only_and_checked() -> None:
    import pytest

    with pytest.raises(TypeError):
        Principal("arn", "1", "user")  # type: ignore[misc]
    with pytest.raises(ValueError):
        Principal("arn", "1", kind="robot")
