"""Every operation's output conforms to botocore's output shape for it (member names, types, required)."""

from __future__ import annotations

import json
from datetime import datetime

import botocore.session
import pytest

from irsa.iam.service import IamService
from tests.iam.documents import IDENTITY, trust

pytestmark = pytest.mark.usefixtures("engine")

MODEL = botocore.session.get_session().get_service_model("iam")
# Real AWS returns SourcePolicyType "IAM Policy" for simulated input documents although the model's enum lacks
# it (policy-evaluation.md §4.2, LocalStack's recording); the policy engine copies AWS. botocore does not
# enforce output enums.
ENUM_EXCEPTIONS = {("PolicySourceType", "IAM Policy")}


def conforms(value, shape, where="") -> list[str]:
    problems: list[str] = []
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{where}: expected structure, got {type(value).__name__}"]
        for key, item in value.items():
            if key not in shape.members:
                problems.append(f"{where}.{key}: not a member of {shape.name}")
            else:
                problems += conforms(item, shape.members[key], f"{where}.{key}")
        for req in shape.required_members:
            if req not in value:
                problems.append(f"{where}.{req}: required member missing")
    elif kind == "list":
        if not isinstance(value, list):
            return [f"{where}: expected list"]
        for i, item in enumerate(value):
            problems += conforms(item, shape.member, f"{where}[{i}]")
    elif kind == "map":
        if not isinstance(value, dict):
            return [f"{where}: expected map"]
    elif kind == "string":
        if not isinstance(value, str):
            problems.append(f"{where}: expected string")
        elif shape.enum and value not in shape.enum and (shape.name, value) not in ENUM_EXCEPTIONS:
            problems.append(f"{where}: {value!r} not in enum")
    elif kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{where}: expected integer")
    elif kind == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{where}: expected boolean")
    elif kind == "timestamp":
        if not isinstance(value, datetime) or value.tzinfo is None:
            problems.append(f"{where}: expected aware datetime")
    return problems


def test_outputs_match_botocore_shapes(iam: IamService, account):
    covered: set[str] = set()

    def call(op, **params):
        out = iam.call(account, op, params)
        model = MODEL.operation_model(op)
        if model.output_shape is None:
            assert out == {}, op
        else:
            problems = conforms(out, model.output_shape, op)
            assert not problems, problems
        covered.add(op)
        return out

    p = call("CreateOpenIDConnectProvider", Url="https://shape.example.com", ClientIDList=["a"], ThumbprintList=["0" * 40],
             Tags=[{"Key": "k", "Value": "v"}])["OpenIDConnectProviderArn"]
    call("GetOpenIDConnectProvider", OpenIDConnectProviderArn=p)
    call("ListOpenIDConnectProviders")
    call("AddClientIDToOpenIDConnectProvider", OpenIDConnectProviderArn=p, ClientID="b")
    call("RemoveClientIDFromOpenIDConnectProvider", OpenIDConnectProviderArn=p, ClientID="b")
    call("UpdateOpenIDConnectProviderThumbprint", OpenIDConnectProviderArn=p, ThumbprintList=["1" * 40])
    call("TagOpenIDConnectProvider", OpenIDConnectProviderArn=p, Tags=[{"Key": "x", "Value": "y"}])
    call("ListOpenIDConnectProviderTags", OpenIDConnectProviderArn=p, MaxItems=1)
    call("UntagOpenIDConnectProvider", OpenIDConnectProviderArn=p, TagKeys=["x"])
    mp = call("CreatePolicy", PolicyName="Shape", PolicyDocument=IDENTITY, Description="d", Tags=[{"Key": "k", "Value": "v"}])["Policy"]["Arn"]
    call("CreateRole", RoleName="shape", AssumeRolePolicyDocument=trust(account), Description="d", PermissionsBoundary=mp,
         Tags=[{"Key": "k", "Value": "v"}])
    call("GetRole", RoleName="shape")
    call("ListRoles", MaxItems=1)
    call("UpdateRole", RoleName="shape", MaxSessionDuration=7200)
    call("UpdateRoleDescription", RoleName="shape", Description="e")
    call("UpdateAssumeRolePolicy", RoleName="shape", PolicyDocument=trust(account))
    call("PutRolePermissionsBoundary", RoleName="shape", PermissionsBoundary=mp)
    call("TagRole", RoleName="shape", Tags=[{"Key": "a", "Value": "b"}])
    call("ListRoleTags", RoleName="shape", MaxItems=1)
    call("UntagRole", RoleName="shape", TagKeys=["a"])
    call("PutRolePolicy", RoleName="shape", PolicyName="in", PolicyDocument=IDENTITY)
    call("GetRolePolicy", RoleName="shape", PolicyName="in")
    call("ListRolePolicies", RoleName="shape")
    call("GetPolicy", PolicyArn=mp)
    call("GetPolicy", PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    call("ListPolicies", Scope="All", MaxItems=3)
    call("CreatePolicyVersion", PolicyArn=mp, PolicyDocument=IDENTITY, SetAsDefault=True)
    call("GetPolicyVersion", PolicyArn=mp, VersionId="v2")
    call("ListPolicyVersions", PolicyArn=mp)
    call("SetDefaultPolicyVersion", PolicyArn=mp, VersionId="v1")
    call("DeletePolicyVersion", PolicyArn=mp, VersionId="v2")
    call("AttachRolePolicy", RoleName="shape", PolicyArn=mp)
    call("ListAttachedRolePolicies", RoleName="shape")
    call("ListEntitiesForPolicy", PolicyArn=mp)
    call("SimulateCustomPolicy", PolicyInputList=[IDENTITY], ActionNames=["s3:GetObject"], ResourceArns=["arn:aws:s3:::my-bucket/k"])
    call("SimulatePrincipalPolicy", PolicySourceArn=f"arn:aws:iam::{account}:role/shape", ActionNames=["s3:GetObject"])
    call("DetachRolePolicy", RoleName="shape", PolicyArn=mp)
    call("DeleteRolePolicy", RoleName="shape", PolicyName="in")
    call("DeleteRolePermissionsBoundary", RoleName="shape")
    call("DeleteRole", RoleName="shape")
    call("DeletePolicy", PolicyArn=mp)
    call("DeleteOpenIDConnectProvider", OpenIDConnectProviderArn=p)
    assert covered == set(iam.operations()), set(iam.operations()) - covered


def test_policy_documents_are_returned_verbatim(iam, account):
    odd = '{ "Version" : "2012-10-17",\n\t"Statement" : [ { "Effect":"Allow", "Action":"s3:GetObject", "Resource":"*" } ] }'
    assert json.loads(odd)
    iam.call(account, "CreateRole", {"RoleName": "verbatim", "AssumeRolePolicyDocument": trust(account)})
    iam.call(account, "PutRolePolicy", {"RoleName": "verbatim", "PolicyName": "p", "PolicyDocument": odd})
    assert iam.call(account, "GetRolePolicy", {"RoleName": "verbatim", "PolicyName": "p"})["PolicyDocument"] == odd
