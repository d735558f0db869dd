"""The IAM service behind the Query codec, exactly as boto3 sees it: botocore's serializer builds the request,
``irsa.wire.query`` parses it, the service answers, the codec serializes, and botocore's parser and its
``json_decode_policies`` handler read the answer. Policy documents come back as dicts, as from AWS."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import botocore.session
import pytest
from botocore.handlers import json_decode_policies
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from irsa.errors import AwsError
from tests.iam.documents import IDENTITY, PROVIDER, trust

wire = pytest.importorskip("irsa.wire.query")
pytestmark = pytest.mark.usefixtures("engine")

MODEL = botocore.session.get_session().get_service_model("iam")


@pytest.fixture
def boto(iam, account):
    codec = wire.QueryProtocol("iam")
    serializer = create_serializer("query")
    parser = create_parser("query")

    def call(operation: str, **kwargs: Any) -> dict[str, Any]:
        op_model = MODEL.operation_model(operation)
        request = serializer.serialize_to_request(kwargs, op_model)
        body = request["body"] if isinstance(request["body"], bytes) else urlencode(request["body"]).encode()
        name, params = codec.parse(wire.parse_form(body, ""))
        try:
            output = iam.call(account, name, params)
            status, raw = 200, codec.serialize(name, output, "req-1")
        except AwsError as err:
            status, raw = err.status, codec.serialize_error(err, "req-1")
        response = {"body": raw, "headers": {}, "status_code": status}
        if status >= 300:
            return {"Error": parser.parse(response, None)["Error"], "status": status}
        parsed = parser.parse(response, op_model.output_shape)
        json_decode_policies(parsed, op_model)
        parsed.pop("ResponseMetadata", None)
        return parsed

    return call


def test_role_lifecycle_as_boto3_sees_it(boto, account):
    created = boto("CreateRole", RoleName="WebIdentity", Path="/irsa/", AssumeRolePolicyDocument=trust(account),
                   Tags=[{"Key": "team", "Value": "a"}])["Role"]
    assert created["Arn"] == f"arn:aws:iam::{account}:role/irsa/WebIdentity"
    assert created["AssumeRolePolicyDocument"] == json.loads(trust(account))  # decoded to a dict, like AWS
    got = boto("GetRole", RoleName="WebIdentity")["Role"]
    assert got["RoleId"] == created["RoleId"] and got["CreateDate"].tzinfo is not None
    assert got["Tags"] == [{"Key": "team", "Value": "a"}] and got["MaxSessionDuration"] == 3600
    boto("PutRolePolicy", RoleName="WebIdentity", PolicyName="read", PolicyDocument=IDENTITY)
    assert boto("GetRolePolicy", RoleName="WebIdentity", PolicyName="read")["PolicyDocument"] == json.loads(IDENTITY)
    listed = boto("ListRoles", MaxItems=1)
    assert listed["IsTruncated"] is False and [r["RoleName"] for r in listed["Roles"]] == ["WebIdentity"]


def test_provider_and_errors_as_boto3_sees_them(boto, account):
    out = boto("CreateOpenIDConnectProvider", Url=f"https://{PROVIDER}", ClientIDList=["sts.amazonaws.com"],
               ThumbprintList=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"])
    arn = out["OpenIDConnectProviderArn"]
    assert arn == f"arn:aws:iam::{account}:oidc-provider/{PROVIDER}"
    got = boto("GetOpenIDConnectProvider", OpenIDConnectProviderArn=arn)
    assert got["Url"] == PROVIDER and got["ClientIDList"] == ["sts.amazonaws.com"]
    dup = boto("CreateOpenIDConnectProvider", Url=f"https://{PROVIDER}", ClientIDList=["x"])
    assert dup["status"] == 409 and dup["Error"]["Code"] == "EntityAlreadyExists"
    assert dup["Error"]["Message"] == f"Provider with url https://{PROVIDER} already exists."
    missing = boto("GetRole", RoleName="nope")
    assert missing["status"] == 404 and missing["Error"]["Message"] == "The role with name nope cannot be found."


def test_policy_versions_as_boto3_sees_them(boto):
    arn = boto("CreatePolicy", PolicyName="Wire", PolicyDocument=IDENTITY)["Policy"]["Arn"]
    boto("CreatePolicyVersion", PolicyArn=arn, PolicyDocument=IDENTITY.replace("GetObject", "PutObject"), SetAsDefault=True)
    version = boto("GetPolicyVersion", PolicyArn=arn, VersionId="v2")["PolicyVersion"]
    assert version["IsDefaultVersion"] is True
    assert version["Document"]["Statement"][0]["Action"] == "s3:PutObject"
    assert [v["VersionId"] for v in boto("ListPolicyVersions", PolicyArn=arn)["Versions"]] == ["v2", "v1"]
