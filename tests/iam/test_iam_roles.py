"""Roles, trust policies, boundaries, tags (AWS docs: CreateRole/GetRole/UpdateRole... and the IAM quotas).

Example values follow the IAM User Guide: ARN ``arn:aws:iam::123456789012:role/application_abc/component_xyz/S3Access``
for role ``S3Access`` on path ``/application_abc/component_xyz/``; RoleId ``AROA`` + 17; MaxSessionDuration
default 3600, range 3600-43200.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from tests.iam.documents import IDENTITY, PROVIDER, identity_of_size, is_aws_id, trust

pytestmark = pytest.mark.usefixtures("engine")


def test_create_and_get_role(call, account):
    doc = trust(account)
    out = call("CreateRole", RoleName="S3Access", Path="/application_abc/component_xyz/", AssumeRolePolicyDocument=doc,
               Description="reads S3", Tags=[{"Key": "team", "Value": "data"}])
    role = out["Role"]
    assert role["Arn"] == f"arn:aws:iam::{account}:role/application_abc/component_xyz/S3Access"
    assert role["RoleName"] == "S3Access" and role["Path"] == "/application_abc/component_xyz/"
    assert is_aws_id(role["RoleId"], "AROA")
    assert role["AssumeRolePolicyDocument"] == doc  # the submitted text, byte for byte
    assert role["MaxSessionDuration"] == 3600
    assert role["Description"] == "reads S3"
    assert role["Tags"] == [{"Key": "team", "Value": "data"}]
    assert isinstance(role["CreateDate"], datetime) and role["CreateDate"].tzinfo is not None
    got = call("GetRole", RoleName="S3Access")["Role"]
    assert {k: got[k] for k in role} == role
    assert got["RoleLastUsed"] == {}
    assert "PermissionsBoundary" not in got
    # names are case-insensitive
    assert call("GetRole", RoleName="s3access")["Role"]["RoleName"] == "S3Access"


def test_role_defaults_and_no_description(call, account):
    role = call("CreateRole", RoleName="plain", AssumeRolePolicyDocument=trust(account))["Role"]
    assert role["Path"] == "/" and role["Arn"] == f"arn:aws:iam::{account}:role/plain"
    assert "Description" not in role and "Tags" not in role


def test_duplicate_role_name_any_case(call, account, aws_error):
    call("CreateRole", RoleName="MyRole", AssumeRolePolicyDocument=trust(account))
    with aws_error("EntityAlreadyExists", "Role with name MyRole already exists.") as info:
        call("CreateRole", RoleName="MyRole", AssumeRolePolicyDocument=trust(account))
    assert info.value.status == 409
    with aws_error("EntityAlreadyExists", "Role with name myrole already exists."):
        call("CreateRole", RoleName="myrole", AssumeRolePolicyDocument=trust(account))


def test_malformed_trust_policy_changes_nothing(call, account, aws_error):
    with aws_error("MalformedPolicyDocument", "Syntax errors in policy.") as info:
        call("CreateRole", RoleName="bad", AssumeRolePolicyDocument="{not json", Tags=[{"Key": "a", "Value": "b"}])
    assert info.value.status == 400
    with aws_error("MalformedPolicyDocument", "Has prohibited field Resource."):
        call("CreateRole", RoleName="bad", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole", "Resource": "*"}],
        }))
    with aws_error("NoSuchEntity", "The role with name bad cannot be found."):
        call("GetRole", RoleName="bad")
    assert call("ListRoles")["Roles"] == []


def test_trust_policy_size_counts_without_whitespace(call, account, aws_error):
    subs = [f"system:serviceaccount:ns:sa-{i:04}" for i in range(60)]
    big = json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/{PROVIDER}"},
                       "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": {f"{PROVIDER}:sub": subs}}}],
    }, separators=(",", ":"))
    assert len(big) > 2048
    with aws_error("LimitExceeded", "Cannot exceed quota for ACLSizePerRole: 2048") as info:
        call("CreateRole", RoleName="big", AssumeRolePolicyDocument=big)
    assert info.value.status == 409
    assert call("ListRoles")["Roles"] == []
    # 1,500 significant characters padded with 1,500 spaces of indentation: IAM does not count them
    small = json.dumps(json.loads(big) | {"Statement": [dict(json.loads(big)["Statement"][0], Condition={"StringEquals": {f"{PROVIDER}:sub": subs[:35]}})]}, separators=(",", ":"))
    padded = small.replace(",", ",\n" + " " * 20)
    assert len(small) < 2048 < len(padded)
    call("CreateRole", RoleName="padded", AssumeRolePolicyDocument=padded)
    with aws_error("LimitExceeded", "Cannot exceed quota for ACLSizePerRole: 2048"):
        call("UpdateAssumeRolePolicy", RoleName="padded", PolicyDocument=big)
    assert call("GetRole", RoleName="padded")["Role"]["AssumeRolePolicyDocument"] == padded


def test_max_session_duration_bounds(call, account, aws_error):
    for bad, word in [(3599, "greater than or equal to 3600"), (43201, "less than or equal to 43200")]:
        with aws_error("ValidationError", f"1 validation error detected: Value '{bad}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value {word}"):
            call("CreateRole", RoleName="r", AssumeRolePolicyDocument=trust(account), MaxSessionDuration=bad)
    call("CreateRole", RoleName="r", AssumeRolePolicyDocument=trust(account), MaxSessionDuration=43200)
    assert call("GetRole", RoleName="r")["Role"]["MaxSessionDuration"] == 43200
    call("UpdateRole", RoleName="r", MaxSessionDuration=3600, Description="d1")
    role = call("GetRole", RoleName="r")["Role"]
    assert role["MaxSessionDuration"] == 3600 and role["Description"] == "d1"
    with aws_error("ValidationError"):
        call("UpdateRole", RoleName="r", MaxSessionDuration=100)
    assert call("UpdateRoleDescription", RoleName="r", Description="d2")["Role"]["Description"] == "d2"


def test_name_and_path_validation(call, account, aws_error):
    with aws_error("ValidationError"):
        call("CreateRole", RoleName="has space", AssumeRolePolicyDocument=trust(account))
    with aws_error("ValidationError"):
        call("CreateRole", RoleName="x" * 65, AssumeRolePolicyDocument=trust(account))
    with aws_error("ValidationError"):
        call("CreateRole", RoleName="ok", Path="no-slashes", AssumeRolePolicyDocument=trust(account))
    call("CreateRole", RoleName="a+=,.@-_b", AssumeRolePolicyDocument=trust(account))


def test_missing_role_errors(call, aws_error):
    message = "The role with name ghost cannot be found."
    for op, extra in [
        ("GetRole", {}), ("DeleteRole", {}), ("UpdateRole", {"Description": "x"}),
        ("UpdateRoleDescription", {"Description": "x"}), ("UpdateAssumeRolePolicy", {"PolicyDocument": "{}"}),
        ("PutRolePermissionsBoundary", {"PermissionsBoundary": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}),
        ("DeleteRolePermissionsBoundary", {}), ("TagRole", {"Tags": [{"Key": "a", "Value": "b"}]}),
        ("UntagRole", {"TagKeys": ["a"]}), ("ListRoleTags", {}), ("ListRolePolicies", {}),
        ("GetRolePolicy", {"PolicyName": "p"}), ("DeleteRolePolicy", {"PolicyName": "p"}),
        ("PutRolePolicy", {"PolicyName": "p", "PolicyDocument": "{}"}),
        ("AttachRolePolicy", {"PolicyArn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}),
        ("DetachRolePolicy", {"PolicyArn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}),
        ("ListAttachedRolePolicies", {}),
    ]:
        with aws_error("NoSuchEntity", message) as info:
            call(op, RoleName="ghost", **extra)
        assert info.value.status == 404, op


def test_list_roles_pagination_and_path_prefix(call, account, aws_error):
    names = [f"role-{i:02}" for i in range(7)]
    for i, name in enumerate(names):
        call("CreateRole", RoleName=name, Path="/team-a/" if i % 2 else "/", AssumeRolePolicyDocument=trust(account),
             Tags=[{"Key": "k", "Value": "v"}])
    first = call("ListRoles", MaxItems=3)
    assert [r["RoleName"] for r in first["Roles"]] == names[:3]
    assert first["IsTruncated"] is True and first["Marker"]
    # list calls omit Tags, PermissionsBoundary and RoleLastUsed
    assert all("Tags" not in r and "RoleLastUsed" not in r for r in first["Roles"])
    second = call("ListRoles", MaxItems=3, Marker=first["Marker"])
    third = call("ListRoles", MaxItems=3, Marker=second["Marker"])
    assert [r["RoleName"] for r in second["Roles"] + third["Roles"]] == names[3:]
    assert third["IsTruncated"] is False and "Marker" not in third
    everything = call("ListRoles")
    assert len(everything["Roles"]) == 7 and everything["IsTruncated"] is False
    team = call("ListRoles", PathPrefix="/team-a/")
    assert [r["RoleName"] for r in team["Roles"]] == names[1::2]
    with aws_error("ValidationError"):
        call("ListRoles", Marker="bm90IGEgbGlzdA")  # base64 of "not a list"


def test_delete_role_conflicts(call, account, aws_error):
    call("CreateRole", RoleName="r", AssumeRolePolicyDocument=trust(account))
    call("PutRolePolicy", RoleName="r", PolicyName="inline", PolicyDocument=IDENTITY)
    call("AttachRolePolicy", RoleName="r", PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    with aws_error("DeleteConflict", "Cannot delete entity, must detach all policies first.") as info:
        call("DeleteRole", RoleName="r")
    assert info.value.status == 409
    call("DetachRolePolicy", RoleName="r", PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    with aws_error("DeleteConflict", "Cannot delete entity, must delete policies first."):
        call("DeleteRole", RoleName="r")
    call("DeleteRolePolicy", RoleName="r", PolicyName="inline")
    call("TagRole", RoleName="r", Tags=[{"Key": "a", "Value": "b"}])
    assert call("DeleteRole", RoleName="r") == {}
    with aws_error("NoSuchEntity"):
        call("GetRole", RoleName="r")
    # a new role with the same name starts clean (tags did not survive)
    assert "Tags" not in call("CreateRole", RoleName="r", AssumeRolePolicyDocument=trust(account))["Role"]
    assert call("ListRoleTags", RoleName="r") == {"Tags": [], "IsTruncated": False}


def test_role_tags(call, account, aws_error):
    call("CreateRole", RoleName="r", AssumeRolePolicyDocument=trust(account), Tags=[{"Key": "Dept", "Value": "1"}])
    call("TagRole", RoleName="r", Tags=[{"Key": "dept", "Value": "2"}, {"Key": "Cost", "Value": ""}])
    assert call("ListRoleTags", RoleName="r")["Tags"] == [{"Key": "dept", "Value": "2"}, {"Key": "Cost", "Value": ""}]
    call("UntagRole", RoleName="r", TagKeys=["DEPT"])
    assert call("GetRole", RoleName="r")["Role"]["Tags"] == [{"Key": "Cost", "Value": ""}]
    call("TagRole", RoleName="r", Tags=[{"Key": f"t{i}", "Value": "v"} for i in range(49)])
    with aws_error("LimitExceeded", "Cannot exceed quota for TagsPerRole: 50"):
        call("TagRole", RoleName="r", Tags=[{"Key": "one-more", "Value": "v"}])
    call("TagRole", RoleName="r", Tags=[{"Key": "COST", "Value": "replaced"}])  # replacing at the cap is fine
    page = call("ListRoleTags", RoleName="r", MaxItems=45)
    assert len(page["Tags"]) == 45 and page["IsTruncated"]
    rest = call("ListRoleTags", RoleName="r", MaxItems=45, Marker=page["Marker"])
    assert len(rest["Tags"]) == 5 and not rest["IsTruncated"]
    with aws_error("ValidationError"):
        call("CreateRole", RoleName="r2", AssumeRolePolicyDocument=trust(account), Tags=[{"Key": "k", "Value": "v"}] * 51)
    with aws_error("ValidationError"):
        call("TagRole", RoleName="r", Tags=[{"Key": "bad*key", "Value": "v"}])


def test_permissions_boundary(call, account, aws_error):
    boundary = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    role = call("CreateRole", RoleName="b", AssumeRolePolicyDocument=trust(account), PermissionsBoundary=boundary)["Role"]
    assert role["PermissionsBoundary"] == {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": boundary}
    local = call("CreatePolicy", PolicyName="Boundary", PolicyDocument=IDENTITY)["Policy"]["Arn"]
    call("PutRolePermissionsBoundary", RoleName="b", PermissionsBoundary=local)
    assert call("GetRole", RoleName="b")["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == local
    assert call("GetPolicy", PolicyArn=local)["Policy"]["PermissionsBoundaryUsageCount"] == 1
    missing = f"arn:aws:iam::{account}:policy/Nope"
    with aws_error("NoSuchEntity", f"Policy {missing} does not exist or is not attachable."):
        call("PutRolePermissionsBoundary", RoleName="b", PermissionsBoundary=missing)
    with aws_error("NoSuchEntity"):
        call("CreateRole", RoleName="b2", AssumeRolePolicyDocument=trust(account), PermissionsBoundary=missing)
    with aws_error("NoSuchEntity"):
        call("GetRole", RoleName="b2")
    with aws_error("InvalidInput", "ARN not:an:arn:at:all:x is not valid."):
        call("PutRolePermissionsBoundary", RoleName="b", PermissionsBoundary="not:an:arn:at:all:x")
    call("DeleteRolePermissionsBoundary", RoleName="b")
    assert "PermissionsBoundary" not in call("GetRole", RoleName="b")["Role"]


def test_inline_policies(call, account, aws_error):
    call("CreateRole", RoleName="r", AssumeRolePolicyDocument=trust(account))
    call("PutRolePolicy", RoleName="r", PolicyName="b-policy", PolicyDocument=IDENTITY)
    call("PutRolePolicy", RoleName="r", PolicyName="a-policy", PolicyDocument=IDENTITY)
    assert call("GetRolePolicy", RoleName="R", PolicyName="a-policy") == {"RoleName": "r", "PolicyName": "a-policy", "PolicyDocument": IDENTITY}
    assert call("ListRolePolicies", RoleName="r") == {"PolicyNames": ["a-policy", "b-policy"], "IsTruncated": False}
    page = call("ListRolePolicies", RoleName="r", MaxItems=1)
    assert page["PolicyNames"] == ["a-policy"] and page["IsTruncated"]
    assert call("ListRolePolicies", RoleName="r", MaxItems=1, Marker=page["Marker"]) == {"PolicyNames": ["b-policy"], "IsTruncated": False}
    replaced = IDENTITY.replace("GetObject", "PutObject")
    call("PutRolePolicy", RoleName="r", PolicyName="a-policy", PolicyDocument=replaced)  # overwrite
    assert call("GetRolePolicy", RoleName="r", PolicyName="a-policy")["PolicyDocument"] == replaced
    with aws_error("MalformedPolicyDocument", "Policy document should not specify a principal."):
        call("PutRolePolicy", RoleName="r", PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}))
    with aws_error("NoSuchEntity", "The role policy with name p cannot be found."):
        call("GetRolePolicy", RoleName="r", PolicyName="p")
    call("DeleteRolePolicy", RoleName="r", PolicyName="a-policy")
    with aws_error("NoSuchEntity", "The role policy with name a-policy cannot be found."):
        call("DeleteRolePolicy", RoleName="r", PolicyName="a-policy")


def test_inline_aggregate_limit(call, account, aws_error):
    call("CreateRole", RoleName="agg", AssumeRolePolicyDocument=trust(account))
    doc = identity_of_size(110)  # about 3,100 characters
    for i in range(3):
        call("PutRolePolicy", RoleName="agg", PolicyName=f"p{i}", PolicyDocument=doc)
    with aws_error("LimitExceeded", "Maximum policy size of 10240 bytes exceeded for role agg") as info:
        call("PutRolePolicy", RoleName="agg", PolicyName="p3", PolicyDocument=doc)
    assert info.value.status == 409
    assert call("ListRolePolicies", RoleName="agg")["PolicyNames"] == ["p0", "p1", "p2"]
    call("PutRolePolicy", RoleName="agg", PolicyName="p2", PolicyDocument=doc)  # replacing does not double count


def test_attach_detach_and_limit(call, account, aws_error):
    call("CreateRole", RoleName="att", AssumeRolePolicyDocument=trust(account))
    arns = [call("CreatePolicy", PolicyName=f"P{i}", Path="/x/", PolicyDocument=IDENTITY)["Policy"]["Arn"] for i in range(11)]
    for arn in arns[:10]:
        call("AttachRolePolicy", RoleName="att", PolicyArn=arn)
    call("AttachRolePolicy", RoleName="att", PolicyArn=arns[0])  # re-attach: no change, no error
    with aws_error("LimitExceeded", "Cannot exceed quota for PoliciesPerRole: 10") as info:
        call("AttachRolePolicy", RoleName="att", PolicyArn=arns[10])
    assert info.value.status == 409
    listed = call("ListAttachedRolePolicies", RoleName="att")
    assert listed["AttachedPolicies"] == [{"PolicyName": f"P{i}", "PolicyArn": arns[i]} for i in range(10)]
    assert listed["IsTruncated"] is False
    assert call("GetPolicy", PolicyArn=arns[10])["Policy"]["AttachmentCount"] == 0
    assert call("GetPolicy", PolicyArn=arns[0])["Policy"]["AttachmentCount"] == 1
    page = call("ListAttachedRolePolicies", RoleName="att", MaxItems=4)
    page2 = call("ListAttachedRolePolicies", RoleName="att", MaxItems=4, Marker=page["Marker"])
    assert [p["PolicyName"] for p in page["AttachedPolicies"] + page2["AttachedPolicies"]] == [f"P{i}" for i in range(8)]
    assert call("ListAttachedRolePolicies", RoleName="att", PathPrefix="/y/")["AttachedPolicies"] == []
    call("DetachRolePolicy", RoleName="att", PolicyArn=arns[3])
    with aws_error("NoSuchEntity", f"Policy {arns[3]} was not found."):
        call("DetachRolePolicy", RoleName="att", PolicyArn=arns[3])
    call("AttachRolePolicy", RoleName="att", PolicyArn=arns[10])  # room again
    missing = "arn:aws:iam::aws:policy/NoSuchManagedPolicyXyz"
    with aws_error("NoSuchEntity", f"Policy {missing} does not exist or is not attachable."):
        call("AttachRolePolicy", RoleName="att", PolicyArn=missing)
    with aws_error("InvalidInput", "ARN arn:aws:s3:::bucket-name-long is not valid."):
        call("AttachRolePolicy", RoleName="att", PolicyArn="arn:aws:s3:::bucket-name-long")
    other = "arn:aws:iam::000000000001:policy/Theirs" if account != "000000000001" else "arn:aws:iam::000000000002:policy/Theirs"
    with aws_error("NoSuchEntity"):
        call("AttachRolePolicy", RoleName="att", PolicyArn=other)
