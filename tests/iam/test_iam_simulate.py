"""SimulateCustomPolicy / SimulatePrincipalPolicy through the IAM service (policy-evaluation.md §4)."""

from __future__ import annotations

import json

import pytest

from tests.iam.documents import trust

pytestmark = pytest.mark.usefixtures("engine")

ALLOW_GET = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
DENY_DELETE = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}]})
ALLOW_S3 = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})


def _decisions(out):
    return {(r["EvalActionName"], r["EvalResourceName"]): r["EvalDecision"] for r in out["EvaluationResults"]}


def test_simulate_custom_policy(call):
    out = call("SimulateCustomPolicy", PolicyInputList=[ALLOW_GET], ActionNames=["s3:GetObject", "s3:PutObject"])
    assert _decisions(out) == {("s3:GetObject", "*"): "allowed", ("s3:PutObject", "*"): "implicitDeny"}
    assert out["IsTruncated"] is False
    allowed = out["EvaluationResults"][0]
    assert [m["SourcePolicyId"] for m in allowed["MatchedStatements"]] == ["PolicyInputList.1"]
    assert out["EvaluationResults"][1]["MatchedStatements"] == []


def test_simulate_custom_policy_pagination(call, aws_error):
    actions = [f"s3:Action{i}" for i in range(5)]
    first = call("SimulateCustomPolicy", PolicyInputList=[ALLOW_S3], ActionNames=actions, MaxItems=2)
    assert [r["EvalActionName"] for r in first["EvaluationResults"]] == actions[:2] and first["IsTruncated"]
    second = call("SimulateCustomPolicy", PolicyInputList=[ALLOW_S3], ActionNames=actions, MaxItems=2, Marker=first["Marker"])
    third = call("SimulateCustomPolicy", PolicyInputList=[ALLOW_S3], ActionNames=actions, MaxItems=2, Marker=second["Marker"])
    assert [r["EvalActionName"] for r in second["EvaluationResults"] + third["EvaluationResults"]] == actions[2:]
    assert third["IsTruncated"] is False
    with aws_error("InvalidInput"):
        call("SimulateCustomPolicy", PolicyInputList=["{nope"], ActionNames=["s3:GetObject"])
    with aws_error("ValidationError"):
        call("SimulateCustomPolicy", PolicyInputList=[ALLOW_S3])


def test_simulate_principal_policy_for_role(call, account, aws_error):
    role_arn = call("CreateRole", RoleName="sim", AssumeRolePolicyDocument=trust(account))["Role"]["Arn"]
    call("PutRolePolicy", RoleName="sim", PolicyName="get", PolicyDocument=ALLOW_S3)
    deny = call("CreatePolicy", PolicyName="NoDelete", PolicyDocument=DENY_DELETE)["Policy"]["Arn"]
    call("AttachRolePolicy", RoleName="sim", PolicyArn=deny)
    out = call("SimulatePrincipalPolicy", PolicySourceArn=role_arn, ActionNames=["s3:GetObject", "s3:DeleteObject", "ec2:RunInstances"])
    assert _decisions(out) == {("s3:GetObject", "*"): "allowed", ("s3:DeleteObject", "*"): "explicitDeny", ("ec2:RunInstances", "*"): "implicitDeny"}
    by_action = {r["EvalActionName"]: r for r in out["EvaluationResults"]}
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in by_action["s3:GetObject"]["MatchedStatements"]] == [("get", "role")]
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in by_action["s3:DeleteObject"]["MatchedStatements"]] == [("NoDelete", "user-managed")]
    # the role's boundary limits the result; a boundary input replaces it
    boundary = call("CreatePolicy", PolicyName="OnlyGet", PolicyDocument=ALLOW_GET)["Policy"]["Arn"]
    call("PutRolePermissionsBoundary", RoleName="sim", PermissionsBoundary=boundary)
    out = call("SimulatePrincipalPolicy", PolicySourceArn=role_arn, ActionNames=["s3:GetObject", "s3:PutObject"])
    assert _decisions(out) == {("s3:GetObject", "*"): "allowed", ("s3:PutObject", "*"): "implicitDeny"}
    out = call("SimulatePrincipalPolicy", PolicySourceArn=role_arn, ActionNames=["s3:PutObject"], PermissionsBoundaryPolicyInputList=[ALLOW_S3])
    assert _decisions(out) == {("s3:PutObject", "*"): "allowed"}
    # exclusions: drop the attached deny
    out = call("SimulatePrincipalPolicy", PolicySourceArn=role_arn, ActionNames=["s3:DeleteObject"],
               PolicyExclusionList=[{"PolicyType": "user-managed", "PolicyArn": deny}, {"PolicyType": "permission-boundary"}])
    assert _decisions(out) == {("s3:DeleteObject", "*"): "allowed"}
    # extra input policies are added to the role's
    out = call("SimulatePrincipalPolicy", PolicySourceArn=role_arn, ActionNames=["s3:GetObject"], PolicyInputList=[DENY_DELETE.replace("DeleteObject", "GetObject")])
    assert _decisions(out) == {("s3:GetObject", "*"): "explicitDeny"}
    with aws_error("NoSuchEntity", "The role with name ghost cannot be found."):
        call("SimulatePrincipalPolicy", PolicySourceArn=f"arn:aws:iam::{account}:role/ghost", ActionNames=["s3:GetObject"])
    with aws_error("NoSuchEntity"):
        call("SimulatePrincipalPolicy", PolicySourceArn=f"arn:aws:iam::{account}:user/alice", ActionNames=["s3:GetObject"])
    with aws_error("InvalidInput"):
        call("SimulatePrincipalPolicy", PolicySourceArn="arn:aws:s3:::bucket-not-principal", ActionNames=["s3:GetObject"])
