"""The lookups STS and the authorizer use, and transaction atomicity of writes."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from irsa.errors import AwsError
from irsa import errors
from tests.iam.documents import IDENTITY, trust

pytestmark = pytest.mark.usefixtures("engine")

S3_RO = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"


def test_get_role_by_arn(iam, call, account):
    created = call("CreateRole", RoleName="Svc", Path="/irsa/", AssumeRolePolicyDocument=trust(account), MaxSessionDuration=7200,
                   Tags=[{"Key": "team", "Value": "a"}, {"Key": "env", "Value": "dev"}])["Role"]
    role = iam.get_role_by_arn(f"arn:aws:iam::{account}:role/irsa/Svc")
    assert role is not None
    assert (role.name, role.path, role.role_id, role.arn, role.account_id) == ("Svc", "/irsa/", created["RoleId"], created["Arn"], account)
    assert role.assume_role_policy_document == trust(account)
    assert role.max_session_duration == 7200 and role.permissions_boundary_arn is None
    assert dict(role.tags) == {"team": "a", "env": "dev"} and list(role.tags) == ["team", "env"]
    assert iam.get_role_by_arn(f"arn:aws:iam::{account}:role/Svc") is None  # path is part of the ARN
    assert iam.get_role_by_arn(f"arn:aws:iam::{account}:role/irsa/svc") is None  # ARNs match exactly
    assert iam.get_role(account, "svc").arn == created["Arn"]
    assert iam.get_role(account, "nobody") is None
    call("UpdateAssumeRolePolicy", RoleName="Svc", PolicyDocument=trust(account, "system:serviceaccount:x:y"))
    assert iam.get_role_by_arn(created["Arn"]).assume_role_policy_document == trust(account, "system:serviceaccount:x:y")


def test_role_permission_policies_and_boundary(iam, call, account):
    call("CreateRole", RoleName="r", AssumeRolePolicyDocument=trust(account))
    call("PutRolePolicy", RoleName="r", PolicyName="inline-b", PolicyDocument=IDENTITY)
    call("PutRolePolicy", RoleName="r", PolicyName="inline-a", PolicyDocument=IDENTITY.replace("GetObject", "ListBucket"))
    mine = call("CreatePolicy", PolicyName="Mine", PolicyDocument=IDENTITY)["Policy"]["Arn"]
    call("AttachRolePolicy", RoleName="r", PolicyArn=S3_RO)
    call("AttachRolePolicy", RoleName="r", PolicyArn=mine)
    role = iam.get_role_by_arn(f"arn:aws:iam::{account}:role/r")
    docs = iam.role_permission_policies(role)
    assert [(d.policy_type, d.policy_id, d.arn) for d in docs] == [
        ("role", "inline-a", None), ("role", "inline-b", None), ("aws-managed", "AmazonS3ReadOnlyAccess", S3_RO), ("user-managed", "Mine", mine)]
    assert docs[3].document == IDENTITY and docs[3].version_id == "v1"
    v2 = IDENTITY.replace("my-bucket", "other-bucket")
    call("CreatePolicyVersion", PolicyArn=mine, PolicyDocument=v2, SetAsDefault=True)
    assert iam.role_permission_policies(role)[3].document == v2  # the default version, immediately
    assert iam.role_boundary_policy(role) is None
    call("PutRolePermissionsBoundary", RoleName="r", PermissionsBoundary=mine)
    role = iam.get_role_by_arn(role.arn)
    boundary = iam.role_boundary_policy(role)
    assert boundary is not None and boundary.arn == mine and boundary.document == v2 and boundary.policy_type == "user-managed"


def test_managed_policy_document(iam, call, account):
    mine = call("CreatePolicy", PolicyName="Doc", PolicyDocument=IDENTITY)["Policy"]["Arn"]
    doc = iam.managed_policy_document(account, mine)
    assert doc is not None and doc.document == IDENTITY and doc.policy_id == "Doc"
    aws = iam.managed_policy_document(account, S3_RO)
    assert aws is not None and aws.policy_type == "aws-managed" and '"s3:Get*"' in aws.document
    assert iam.managed_policy_document("000000000000", mine) is None  # not visible to another account
    assert iam.managed_policy_document(account, f"arn:aws:iam::{account}:policy/None") is None
    assert iam.managed_policy_document(account, "arn:aws:iam::aws:policy/NoSuchPolicyAnywhere") is None


def test_record_role_used(iam, call, account):
    arn = call("CreateRole", RoleName="used", AssumeRolePolicyDocument=trust(account))["Role"]["Arn"]
    when = datetime(2026, 11, 22, 6, 22, 11, tzinfo=timezone.utc)
    iam.record_role_used(arn, "eu-west-1", when)
    assert call("GetRole", RoleName="used")["Role"]["RoleLastUsed"] == {"LastUsedDate": when, "Region": "eu-west-1"}


def test_write_is_all_or_nothing(call, account, monkeypatch, aws_error):
    """A failure after the role row is inserted rolls the whole request back."""
    import irsa.iam.roles as roles

    def failing_merge(*args, **kwargs):
        raise AwsError(errors.SERVICE_FAILURE, "injected")

    monkeypatch.setattr(roles, "merge_tags", failing_merge)
    with aws_error("ServiceFailure", "injected"):
        call("CreateRole", RoleName="atomic", AssumeRolePolicyDocument=trust(account), Tags=[{"Key": "a", "Value": "b"}])
    monkeypatch.undo()
    with aws_error("NoSuchEntity"):
        call("GetRole", RoleName="atomic")
    call("CreateRole", RoleName="atomic", AssumeRolePolicyDocument=trust(account))  # the name is free


def test_unknown_operation_and_bad_account(iam, aws_error):
    with aws_error("InvalidAction"):
        iam.call("123456789012", "CreateUser", {"UserName": "x"})
    with aws_error("ValidationError"):
        iam.call("12345", "ListRoles", {})


def test_concurrent_writes_respect_quota(call, iam, account):
    """Four writers race for the 10th attachment slot: exactly one wins (account row lock / BEGIN IMMEDIATE)."""
    import threading

    call("CreateRole", RoleName="race", AssumeRolePolicyDocument=trust(account))
    arns = [call("CreatePolicy", PolicyName=f"R{i}", PolicyDocument=IDENTITY)["Policy"]["Arn"] for i in range(13)]
    for arn in arns[:9]:
        call("AttachRolePolicy", RoleName="race", PolicyArn=arn)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def attach(arn: str) -> None:
        barrier.wait()
        try:
            iam.call(account, "AttachRolePolicy", {"RoleName": "race", "PolicyArn": arn})
            outcomes.append("ok")
        except AwsError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=attach, args=(arn,)) for arn in arns[9:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["LimitExceeded"] * 3 + ["ok"]
    assert len(call("ListAttachedRolePolicies", RoleName="race")["AttachedPolicies"]) == 10
