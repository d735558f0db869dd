"""The simulator's EvaluationResult shape, the AWS managed policy catalogue, and the CLI sub-app."""

from __future__ import annotations

import json
import re
from pathlib import Path

import botocore.session
import pytest
from typer.testing import CliRunner

from irsa import errors
from irsa.cli.policy import app, parse_context_option
from irsa.errors import AwsError
from irsa.policy import PolicyKind, compile_policy, validate_policy
from irsa.policy.managed import get_managed_policy, list_managed_policies, managed_policy_id
from irsa.policy.simulate import context_keys, simulate

S3_RO = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"


def _shape_members(name: str) -> set[str]:
    model = botocore.session.get_session().get_service_model("iam")
    return set(model.shape_for(name).members)


# --- managed policies --------------------------------------------------------------------------


def test_s3_read_only_is_as_published() -> None:
    # reference §3.1: v3, one statement allowing Get*/List*/Describe* for s3 and s3-object-lambda on "*"
    p = get_managed_policy("AmazonS3ReadOnlyAccess")
    assert p is not None and p is get_managed_policy(S3_RO)
    assert p.arn == S3_RO and p.path == "/" and p.default_version_id == "v3"
    doc = json.loads(p.document)
    assert doc["Version"] == "2012-10-17"
    assert doc["Statement"] == [{"Effect": "Allow", "Resource": "*", "Action": [
        "s3:Get*", "s3:List*", "s3:Describe*", "s3-object-lambda:Get*", "s3-object-lambda:List*"]}] or \
        sorted(doc["Statement"][0]["Action"]) == sorted(
            ["s3:Get*", "s3:List*", "s3:Describe*", "s3-object-lambda:Get*", "s3-object-lambda:List*"])
    assert p.update_date.year == 2023 and p.update_date.tzinfo is not None


def test_catalogue_and_ids() -> None:
    policies = list_managed_policies()
    assert len(policies) > 1000
    ids = {p.policy_id for p in policies}
    assert len(ids) == len(policies)  # unique
    assert all(re.fullmatch(r"ANPA[A-Z0-9]{17}", i) for i in ids)
    assert get_managed_policy("AmazonS3ReadOnlyAccess").policy_id == managed_policy_id("AmazonS3ReadOnlyAccess")  # type: ignore[union-attr]
    assert get_managed_policy("NoSuchPolicy") is None
    assert get_managed_policy("arn:aws:iam::aws:policy/service-role/AmazonS3ReadOnlyAccess") is None
    nested = next(p for p in policies if p.path != "/")
    assert get_managed_policy(nested.arn) is nested


def test_every_managed_policy_compiles() -> None:
    for p in list_managed_policies():
        assert validate_policy(p.document, PolicyKind.IDENTITY) == [], p.name


# --- simulate ----------------------------------------------------------------------------------


def test_simulate_s3_read_only() -> None:
    doc = get_managed_policy(S3_RO).document  # type: ignore[union-attr]
    results = simulate([doc], ["s3:ListAllMyBuckets", "s3:GetObject", "s3:PutObject"],
                       resource_arns=None)
    assert [(r["EvalActionName"], r["EvalDecision"]) for r in results] == [
        ("s3:ListAllMyBuckets", "allowed"), ("s3:GetObject", "allowed"), ("s3:PutObject", "implicitDeny")]
    assert results[0]["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.1"
    on_object = simulate([doc], ["s3:GetObject", "s3:PutObject"], resource_arns=["arn:aws:s3:::b/k"])
    assert [r["EvalDecision"] for r in on_object] == ["allowed", "implicitDeny"]
    assert on_object[0]["EvalResourceName"] == "arn:aws:s3:::b/k"


def test_simulate_result_shape_matches_botocore() -> None:
    text = ('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*",'
            '"Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}')
    ok = simulate([text], ["dynamodb:CreateBackup"], context_entries=[
        {"ContextKeyName": "aws:CurrentTime", "ContextKeyValues": ["2019-04-25T11:00:00Z"], "ContextKeyType": "date"}])
    # aws-cli simulate-custom-policy example output
    (r,) = ok
    assert r["EvalDecision"] == "allowed" and r["EvalResourceName"] == "*"
    m = r["MatchedStatements"][0]
    assert m["SourcePolicyId"] == "PolicyInputList.1"
    assert m["StartPosition"] == {"Line": 1, "Column": 38} and m["EndPosition"] == {"Line": 1, "Column": 167}
    assert r["MissingContextValues"] == []
    assert set(r) <= _shape_members("EvaluationResult")
    assert set(m) <= _shape_members("Statement")
    denied = simulate([text], ["dynamodb:CreateBackup"], context_entries=[
        {"ContextKeyName": "aws:CurrentTime", "ContextKeyValues": ["2014-04-25T11:00:00Z"], "ContextKeyType": "date"}])
    assert denied[0]["EvalDecision"] == "implicitDeny" and denied[0]["MatchedStatements"] == []
    missing = simulate([text], ["dynamodb:CreateBackup"])
    assert missing[0]["MissingContextValues"] == ["aws:CurrentTime"]


def test_simulate_with_resources_lists_resource_specific_results() -> None:
    text = json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:PutObject",
                       "Resource": "*", "Condition": {"StringEquals": {"s3:x-amz-acl": "private"}}}})
    (r,) = simulate([text], ["s3:PutObject"], resource_arns=["arn:aws:s3:::b/k"])
    assert r["EvalDecision"] == "implicitDeny" and r["MissingContextValues"] == []
    (spec,) = r["ResourceSpecificResults"]
    assert spec["EvalResourceName"] == "arn:aws:s3:::b/k" and spec["MissingContextValues"] == ["s3:x-amz-acl"]
    assert set(spec) <= _shape_members("ResourceSpecificResult")
    assert r["EvalDecisionDetails"] == {}


def test_simulate_boundary_and_resource_policy() -> None:
    allow_all = json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}})
    only_s3 = json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}})
    results = simulate([allow_all], ["s3:GetObject", "ec2:RunInstances"],
                       permissions_boundary_policy_input_list=[only_s3])
    assert [r["EvalDecision"] for r in results] == ["allowed", "implicitDeny"]
    assert [r["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"] for r in results] == [True, False]
    bucket = json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Principal": "*",
                         "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::b/*"}})
    (r,) = simulate([allow_all], ["s3:DeleteObject"], resource_arns=["arn:aws:s3:::b/k"], resource_policy=bucket,
                    caller_arn="arn:aws:iam::111122223333:user/alice")
    assert r["EvalDecision"] == "explicitDeny"
    assert r["MatchedStatements"][0]["SourcePolicyId"] == "ResourcePolicy"


def test_simulate_rejects_malformed_input_as_invalid_input() -> None:
    with pytest.raises(AwsError) as info:
        simulate(['{"Statement": []}'], ["s3:GetObject"])
    assert info.value.error is errors.INVALID_INPUT and info.value.message == "Syntax errors in policy."


def test_context_keys() -> None:
    text = json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*",
                       "Resource": "arn:aws:s3:::b/${aws:username}/*",
                       "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}})
    assert context_keys([text]) == ["aws:SourceIp", "aws:username"]


# --- CLI ---------------------------------------------------------------------------------------

runner = CliRunner()


def test_cli_validate(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*"}}))
    ok = runner.invoke(app, ["validate", str(good)])
    assert ok.exit_code == 0 and "OK" in ok.output
    res = runner.invoke(app, ["validate", str(good), str(bad)])
    assert res.exit_code == 1
    assert "MalformedPolicyDocument: Policy statement must contain resources." in res.output


def test_cli_simulate_json_and_table(tmp_path: Path) -> None:
    res = runner.invoke(app, ["simulate", "--policy", S3_RO, "--action", "s3:GetObject", "--action", "s3:PutObject",
                              "--resource", "arn:aws:s3:::b/k"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert [r["EvalDecision"] for r in out["EvaluationResults"]] == ["allowed", "implicitDeny"]
    assert out["EvaluationResults"][0]["MatchedStatements"][0]["SourcePolicyId"] == S3_RO
    table = runner.invoke(app, ["simulate", "--policy", S3_RO, "--action", "s3:ListAllMyBuckets", "--output", "table"])
    assert table.exit_code == 0 and "allowed" in table.output and "s3:ListAllMyBuckets" in table.output


def test_cli_simulate_context_and_errors(tmp_path: Path) -> None:
    pol = tmp_path / "p.json"
    pol.write_text(json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                                "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}}}}))
    res = runner.invoke(app, ["simulate", "--policy", str(pol), "--action", "s3:GetObject",
                              "--context", "key=aws:SourceIp,values=10.1.2.3,type=ip"])
    assert json.loads(res.output)["EvaluationResults"][0]["EvalDecision"] == "allowed"
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    res = runner.invoke(app, ["simulate", "--policy", str(bad), "--action", "s3:GetObject"])
    assert res.exit_code != 0 and "InvalidInput" in res.output and "Traceback" not in res.output


def test_parse_context_option() -> None:
    assert parse_context_option("key=aws:TagKeys,values=a,b,type=stringList") == {
        "ContextKeyName": "aws:TagKeys", "ContextKeyValues": ["a", "b"], "ContextKeyType": "stringList"}
    assert parse_context_option("ContextKeyName='aws:CurrentTime',ContextKeyValues=2019-04-25T11:00:00Z,ContextKeyType=date")[
        "ContextKeyName"] == "aws:CurrentTime"


def test_compile_never_raises_anything_but_aws_errors() -> None:
    base = json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": "A", "Effect": "Allow", "Action": ["s3:Get*"],
                       "Resource": "arn:aws:s3:::b/*", "Condition": {"ForAnyValue:StringLike": {"aws:TagKeys": ["a*"]},
                       "DateLessThan": {"aws:CurrentTime": "2030-01-01"}, "NumericLessThan": {"s3:max-keys": 5}}}]})
    for i in range(len(base)):
        for mutated in (base[:i] + base[i + 1 :], base[:i] + "\"" + base[i:], base[:i] + "[" + base[i + 1 :]):
            for kind in PolicyKind:
                try:
                    compile_policy(mutated, kind)
                except AwsError as exc:
                    assert exc.error is errors.MALFORMED_POLICY_DOCUMENT


def test_managed_catalogue_loads_lazily() -> None:
    import subprocess
    import sys

    code = ("import irsa.policy, irsa.policy.managed as m, irsa.cli.policy; "
            "assert m._catalog._by_name is None; m.get_managed_policy('AmazonS3ReadOnlyAccess'); "
            "assert m._catalog._by_name is not None")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_principal_from_arn() -> None:
    from irsa.policy.simulate import principal_from_arn

    assert principal_from_arn("arn:aws:iam::111122223333:user/a").kind == "user"
    assert principal_from_arn("arn:aws:iam::111122223333:root").kind == "root"
    s = principal_from_arn("arn:aws:sts::111122223333:assumed-role/app/pod")
    assert (s.kind, s.role_arn) == ("role-session", "arn:aws:iam::111122223333:role/app")
    r = principal_from_arn("arn:aws:iam::111122223333:role/app")
    assert (r.kind, r.role_arn) == ("role-session", "arn:aws:iam::111122223333:role/app")
    with pytest.raises(AwsError) as info:
        principal_from_arn("nonsense")
    assert info.value.error is errors.INVALID_INPUT
