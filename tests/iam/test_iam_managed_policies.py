"""Customer managed policies with versions, AWS managed policies from the catalogue, ListEntitiesForPolicy.

AWS docs: CreatePolicy returns ``DefaultVersionId`` ``v1``, ``AttachmentCount`` 0, ``IsAttachable`` true,
PolicyId ``ANPA``...; ARN ``arn:aws:iam::123456789012:policy/<path><name>``; 5 versions at most; the default
version cannot be deleted; a policy with other versions or attachments cannot be deleted.
"""

from __future__ import annotations

import json

import pytest

from tests.iam.documents import IDENTITY, identity_of_size, is_aws_id, trust

pytestmark = pytest.mark.usefixtures("engine")

S3_RO = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"


def test_create_get_policy(call, account):
    out = call("CreatePolicy", PolicyName="UsersManageOwnCredentials", Path="/team/", PolicyDocument=IDENTITY,
               Description="own creds", Tags=[{"Key": "k", "Value": "v"}])["Policy"]
    assert out["Arn"] == f"arn:aws:iam::{account}:policy/team/UsersManageOwnCredentials"
    assert out["PolicyName"] == "UsersManageOwnCredentials" and out["Path"] == "/team/"
    assert is_aws_id(out["PolicyId"], "ANPA")
    assert out["DefaultVersionId"] == "v1" and out["AttachmentCount"] == 0 and out["PermissionsBoundaryUsageCount"] == 0
    assert out["IsAttachable"] is True and out["Description"] == "own creds" and out["Tags"] == [{"Key": "k", "Value": "v"}]
    assert out["CreateDate"].tzinfo is not None and out["UpdateDate"] == out["CreateDate"]
    assert call("GetPolicy", PolicyArn=out["Arn"])["Policy"] == out
    version = call("GetPolicyVersion", PolicyArn=out["Arn"], VersionId="v1")["PolicyVersion"]
    assert version["Document"] == IDENTITY and version["VersionId"] == "v1" and version["IsDefaultVersion"] is True


def test_duplicate_and_invalid(call, account, aws_error):
    call("CreatePolicy", PolicyName="Dup", PolicyDocument=IDENTITY)
    with aws_error("EntityAlreadyExists", "A policy called dup already exists. Duplicate names are not allowed.") as info:
        call("CreatePolicy", PolicyName="dup", Path="/other/", PolicyDocument=IDENTITY)
    assert info.value.status == 409
    with aws_error("MalformedPolicyDocument", "Syntax errors in policy."):
        call("CreatePolicy", PolicyName="Bad", PolicyDocument="[]]")
    with aws_error("ValidationError"):
        call("CreatePolicy", PolicyName="BadPath", Path="/a//b/", PolicyDocument=IDENTITY)
    with aws_error("LimitExceeded", "Cannot exceed quota for PolicySize: 6144") as info:
        call("CreatePolicy", PolicyName="Huge", PolicyDocument=identity_of_size(230))
    assert info.value.status == 409
    names = [p["PolicyName"] for p in call("ListPolicies", Scope="Local")["Policies"]]
    assert names == ["Dup"]
    missing = f"arn:aws:iam::{account}:policy/Missing"
    with aws_error("NoSuchEntity", f"Policy {missing} was not found.") as info:
        call("GetPolicy", PolicyArn=missing)
    assert info.value.status == 404


def test_versions_lifecycle(call, aws_error):
    arn = call("CreatePolicy", PolicyName="V", PolicyDocument=IDENTITY)["Policy"]["Arn"]
    docs = {1: IDENTITY}
    for n in range(2, 6):
        docs[n] = IDENTITY.replace("my-bucket", f"bucket-{n}")
        v = call("CreatePolicyVersion", PolicyArn=arn, PolicyDocument=docs[n], SetAsDefault=(n == 3))["PolicyVersion"]
        assert v["VersionId"] == f"v{n}" and v["IsDefaultVersion"] is (n == 3)
    with aws_error("LimitExceeded", "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version."):
        call("CreatePolicyVersion", PolicyArn=arn, PolicyDocument=IDENTITY)
    listed = call("ListPolicyVersions", PolicyArn=arn)
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in listed["Versions"]] == [
        ("v5", False), ("v4", False), ("v3", True), ("v2", False), ("v1", False)]
    assert listed["IsTruncated"] is False
    page = call("ListPolicyVersions", PolicyArn=arn, MaxItems=2)
    assert [v["VersionId"] for v in page["Versions"]] == ["v5", "v4"] and page["IsTruncated"]
    page = call("ListPolicyVersions", PolicyArn=arn, MaxItems=2, Marker=page["Marker"])
    assert [v["VersionId"] for v in page["Versions"]] == ["v3", "v2"]
    assert call("GetPolicy", PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v3"
    with aws_error("DeleteConflict", "Cannot delete the default version of a policy.") as info:
        call("DeletePolicyVersion", PolicyArn=arn, VersionId="v3")
    assert info.value.status == 409
    call("DeletePolicyVersion", PolicyArn=arn, VersionId="v1")
    with aws_error("NoSuchEntity", f"Policy {arn} version v1 does not exist or is not attachable."):
        call("GetPolicyVersion", PolicyArn=arn, VersionId="v1")
    with aws_error("NoSuchEntity"):
        call("SetDefaultPolicyVersion", PolicyArn=arn, VersionId="v9")
    v6 = call("CreatePolicyVersion", PolicyArn=arn, PolicyDocument=IDENTITY)["PolicyVersion"]
    assert v6["VersionId"] == "v6"  # version numbers are never reused
    call("SetDefaultPolicyVersion", PolicyArn=arn, VersionId="v5")
    assert call("GetPolicyVersion", PolicyArn=arn, VersionId="v5")["PolicyVersion"]["Document"] == docs[5]
    with aws_error("ValidationError"):
        call("GetPolicyVersion", PolicyArn=arn, VersionId="5")
    with aws_error("DeleteConflict", "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy."):
        call("DeletePolicy", PolicyArn=arn)
    for v in ("v2", "v3", "v4", "v6"):
        call("DeletePolicyVersion", PolicyArn=arn, VersionId=v)
    call("DeletePolicy", PolicyArn=arn)
    with aws_error("NoSuchEntity"):
        call("GetPolicy", PolicyArn=arn)


def test_malformed_version_changes_nothing(call, aws_error):
    arn = call("CreatePolicy", PolicyName="M", PolicyDocument=IDENTITY)["Policy"]["Arn"]
    with aws_error("MalformedPolicyDocument"):
        call("CreatePolicyVersion", PolicyArn=arn, PolicyDocument='{"Version":"2012-10-17","Statement":[]}', SetAsDefault=True)
    assert [v["VersionId"] for v in call("ListPolicyVersions", PolicyArn=arn)["Versions"]] == ["v1"]
    assert call("GetPolicy", PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v1"


def test_delete_attached_policy_conflicts(call, account, aws_error):
    arn = call("CreatePolicy", PolicyName="Att", PolicyDocument=IDENTITY)["Policy"]["Arn"]
    call("CreateRole", RoleName="r", AssumeRolePolicyDocument=trust(account))
    call("AttachRolePolicy", RoleName="r", PolicyArn=arn)
    with aws_error("DeleteConflict", "Cannot delete a policy attached to entities."):
        call("DeletePolicy", PolicyArn=arn)
    call("DetachRolePolicy", RoleName="r", PolicyArn=arn)
    call("PutRolePermissionsBoundary", RoleName="r", PermissionsBoundary=arn)
    with aws_error("DeleteConflict", "Cannot delete a policy attached to entities."):
        call("DeletePolicy", PolicyArn=arn)
    call("DeleteRolePermissionsBoundary", RoleName="r")
    call("DeletePolicy", PolicyArn=arn)


def test_aws_managed_policies(call, account, aws_error):
    got = call("GetPolicy", PolicyArn=S3_RO)["Policy"]
    assert got["PolicyName"] == "AmazonS3ReadOnlyAccess" and got["Arn"] == S3_RO and got["Path"] == "/"
    assert got["AttachmentCount"] == 0 and got["IsAttachable"] is True
    version = call("GetPolicyVersion", PolicyArn=S3_RO, VersionId=got["DefaultVersionId"])["PolicyVersion"]
    assert version["IsDefaultVersion"] is True
    assert "s3:Get*" in json.loads(version["Document"])["Statement"][0]["Action"]
    assert call("ListPolicyVersions", PolicyArn=S3_RO)["Versions"][0]["VersionId"] == got["DefaultVersionId"]
    with aws_error("NoSuchEntity"):
        call("GetPolicyVersion", PolicyArn=S3_RO, VersionId="v999")
    with aws_error("AccessDenied"):
        call("CreatePolicyVersion", PolicyArn=S3_RO, PolicyDocument=IDENTITY)
    with aws_error("AccessDenied"):
        call("DeletePolicy", PolicyArn=S3_RO)
    with aws_error("NoSuchEntity"):  # right name, wrong path
        call("GetPolicy", PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonS3ReadOnlyAccess")
    call("CreateRole", RoleName="r", AssumeRolePolicyDocument=trust(account))
    call("AttachRolePolicy", RoleName="r", PolicyArn=S3_RO)
    assert call("GetPolicy", PolicyArn=S3_RO)["Policy"]["AttachmentCount"] == 1


def test_list_policies_scopes_filters_pagination(call, account, aws_error):
    from irsa.policy.managed import list_managed_policies

    catalogue_size = len(list_managed_policies())
    aws_all = call("ListPolicies", Scope="AWS", MaxItems=1000)
    assert aws_all["IsTruncated"] is (catalogue_size > 1000)
    aws_names = [p["PolicyName"] for p in aws_all["Policies"]]
    assert "AdministratorAccess" in aws_names and all(p["Arn"].startswith("arn:aws:iam::aws:policy/") for p in aws_all["Policies"])
    assert call("ListPolicies", Scope="Local") == {"Policies": [], "IsTruncated": False}
    for name, path in [("zeta", "/a/"), ("Alpha", "/a/b/"), ("mid", "/")]:
        call("CreatePolicy", PolicyName=name, Path=path, PolicyDocument=IDENTITY)
    local = call("ListPolicies", Scope="Local")["Policies"]
    assert [p["PolicyName"] for p in local] == ["Alpha", "mid", "zeta"]  # by name, case-insensitive
    assert all("Description" not in p and "Tags" not in p for p in local)
    assert [p["PolicyName"] for p in call("ListPolicies", Scope="Local", PathPrefix="/a/")["Policies"]] == ["Alpha", "zeta"]
    call("CreateRole", RoleName="r", AssumeRolePolicyDocument=trust(account))
    call("AttachRolePolicy", RoleName="r", PolicyArn=f"arn:aws:iam::{account}:policy/mid")
    call("AttachRolePolicy", RoleName="r", PolicyArn=S3_RO)
    attached = call("ListPolicies", OnlyAttached=True)["Policies"]
    assert sorted(p["PolicyName"] for p in attached) == ["AmazonS3ReadOnlyAccess", "mid"]
    assert all(p["AttachmentCount"] == 1 for p in attached)
    assert call("ListPolicies", OnlyAttached=True, PolicyUsageFilter="PermissionsBoundary")["Policies"] == []
    # Scope=All walks AWS + local in one name order across pages without repeats
    seen, marker = [], None
    while True:
        page = call("ListPolicies", MaxItems=400, **({"Marker": marker} if marker else {}))
        seen += [p["Arn"] for p in page["Policies"]]
        if not page["IsTruncated"]:
            break
        marker = page["Marker"]
    assert len(seen) == len(set(seen)) == catalogue_size + 3
    with aws_error("ValidationError"):
        call("ListPolicies", Scope="Everything")


def test_list_entities_for_policy(call, account, aws_error):
    arn = call("CreatePolicy", PolicyName="E", PolicyDocument=IDENTITY)["Policy"]["Arn"]
    ids = {}
    for name, path in [("b-role", "/"), ("a-role", "/svc/"), ("c-role", "/")]:
        ids[name] = call("CreateRole", RoleName=name, Path=path, AssumeRolePolicyDocument=trust(account))["Role"]["RoleId"]
    call("AttachRolePolicy", RoleName="b-role", PolicyArn=arn)
    call("AttachRolePolicy", RoleName="a-role", PolicyArn=arn)
    call("PutRolePermissionsBoundary", RoleName="c-role", PermissionsBoundary=arn)
    out = call("ListEntitiesForPolicy", PolicyArn=arn)
    assert out == {
        "PolicyGroups": [], "PolicyUsers": [],
        "PolicyRoles": [{"RoleName": n, "RoleId": ids[n]} for n in ("a-role", "b-role", "c-role")],
        "IsTruncated": False,
    }
    assert [r["RoleName"] for r in call("ListEntitiesForPolicy", PolicyArn=arn, PolicyUsageFilter="PermissionsPolicy")["PolicyRoles"]] == ["a-role", "b-role"]
    assert [r["RoleName"] for r in call("ListEntitiesForPolicy", PolicyArn=arn, PolicyUsageFilter="PermissionsBoundary")["PolicyRoles"]] == ["c-role"]
    assert [r["RoleName"] for r in call("ListEntitiesForPolicy", PolicyArn=arn, PathPrefix="/svc/")["PolicyRoles"]] == ["a-role"]
    assert call("ListEntitiesForPolicy", PolicyArn=arn, EntityFilter="User")["PolicyRoles"] == []
    page = call("ListEntitiesForPolicy", PolicyArn=arn, MaxItems=2)
    assert len(page["PolicyRoles"]) == 2 and page["IsTruncated"]
    assert [r["RoleName"] for r in call("ListEntitiesForPolicy", PolicyArn=arn, MaxItems=2, Marker=page["Marker"])["PolicyRoles"]] == ["c-role"]
    with aws_error("NoSuchEntity"):
        call("ListEntitiesForPolicy", PolicyArn=f"arn:aws:iam::{account}:policy/none")
