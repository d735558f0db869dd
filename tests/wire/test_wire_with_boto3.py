"""Unmodified boto3 clients talking to the wire layer (no HTTP server: botocore's ``before-send``
hook hands the signed request to our codec and verifier and returns our bytes as the response)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

import boto3
import pytest
from botocore import UNSIGNED
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError

from irsa import errors
from irsa.errors import AwsError
from irsa.wire.query import QueryProtocol, parse_form
from irsa.wire.restjson import RestJsonProtocol
from irsa.wire.sigv4 import verify_request

AK, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
EXPIRATION = datetime(2026, 11, 22, 6, 22, 11, tzinfo=timezone.utc)


@dataclass
class Ident:
    secret_access_key: str


def resolve(ak: str, token: str | None) -> Ident:
    if ak != AK:
        raise AwsError(errors.INVALID_CLIENT_TOKEN_ID, "The security token included in the request is invalid.")
    return Ident(SECRET)


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: object):
        yield self._data


class FakeEndpoint:
    """Dispatches a prepared botocore request through our wire layer to a handler function."""

    def __init__(self, handler) -> None:
        self.handler = handler
        self.calls: list[tuple[str, dict, bool]] = []

    def _request_parts(self, request):
        parts = urlsplit(request.url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        headers = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()]
        if not any(k.lower() == "host" for k, _ in headers):
            headers.append(("Host", parts.netloc))
        return parts, body, headers

    def query(self, qp: QueryProtocol):
        def before_send(request, **_):
            parts, body, headers = self._request_parts(request)
            try:
                op, args = qp.parse(parse_form(body, parts.query))
                signed = qp.operation_has_auth(op)
                if signed:
                    verify_request(request.method, parts.path or "/", parts.query, headers, body, resolve, service=qp.service)
                self.calls.append((op, args, signed))
                status, xml = 200, qp.serialize(op, self.handler(op, args), "req-1")
            except AwsError as err:
                status, xml = err.status, qp.serialize_error(err, "req-1")
            return AWSResponse(request.url, status, {"x-amzn-RequestId": "req-1", "Content-Type": "text/xml"}, _Raw(xml))

        return before_send

    def restjson(self, rp: RestJsonProtocol):
        def before_send(request, **_):
            parts, body, headers = self._request_parts(request)
            try:
                verify_request(request.method, parts.path, parts.query, headers, body, resolve, service="eks")
                op, args = rp.parse(request.method, parts.path, parts.query, body)
                self.calls.append((op, args, True))
                status, out_headers, payload = rp.serialize(op, self.handler(op, args), "req-1")
            except AwsError as err:
                status, out_headers, payload = rp.serialize_error(err, "req-1")
            return AWSResponse(request.url, status, dict(out_headers), _Raw(payload))

        return before_send


def client(service: str, endpoint: FakeEndpoint, *, unsigned: bool = False):
    session = boto3.session.Session(aws_access_key_id=AK, aws_secret_access_key=SECRET, region_name="eu-west-1")
    config = Config(signature_version=UNSIGNED, retries={"max_attempts": 1}) if unsigned else Config(retries={"max_attempts": 1})
    c = session.client(service, endpoint_url=f"https://{service}.example.test", config=config)
    hook = endpoint.restjson(RestJsonProtocol(service)) if service == "eks" else endpoint.query(QueryProtocol(service))
    c.meta.events.register("before-send", hook)
    return c


def sts_handler(op: str, args: dict) -> dict:
    if op == "GetCallerIdentity":
        return {"UserId": "AIDAEXAMPLE", "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/alice"}
    if op == "AssumeRoleWithWebIdentity":
        if args["WebIdentityToken"] == "expired":
            raise AwsError(errors.EXPIRED_TOKEN_EXCEPTION, "Token expired: current date/time 2 must be before the expiration date/time1")
        return {
            "Credentials": {"AccessKeyId": "ASIAEXAMPLEEXAMPLE12", "SecretAccessKey": "s" * 40, "SessionToken": "tok", "Expiration": EXPIRATION},
            "SubjectFromWebIdentityToken": "system:serviceaccount:default:app",
            "AssumedRoleUser": {"AssumedRoleId": f"AROAEXAMPLE:{args['RoleSessionName']}", "Arn": f"arn:aws:sts::123456789012:assumed-role/app/{args['RoleSessionName']}"},
            "Provider": "arn:aws:iam::123456789012:oidc-provider/oidc.example/id/AB",
            "Audience": "sts.amazonaws.com",
        }
    raise AssertionError(op)


def test_sts_signed_and_unsigned_calls():
    ep = FakeEndpoint(sts_handler)
    who = client("sts", ep).get_caller_identity()
    assert who["Arn"] == "arn:aws:iam::123456789012:user/alice" and who["ResponseMetadata"]["RequestId"] == "req-1"
    out = client("sts", ep, unsigned=True).assume_role_with_web_identity(
        RoleArn="arn:aws:iam::123456789012:role/app", RoleSessionName="s1", WebIdentityToken="tok.en.x")
    assert out["Credentials"]["Expiration"] == EXPIRATION
    assert out["AssumedRoleUser"]["AssumedRoleId"] == "AROAEXAMPLE:s1"
    assert [(op, signed) for op, _, signed in ep.calls] == [("GetCallerIdentity", True), ("AssumeRoleWithWebIdentity", False)]


def test_unsigned_call_to_signed_operation_is_rejected():
    ep = FakeEndpoint(sts_handler)
    with pytest.raises(ClientError) as ei:
        client("sts", ep, unsigned=True).get_caller_identity()
    assert ei.value.response["Error"]["Code"] == "MissingAuthenticationToken"
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_wrong_secret_is_signature_does_not_match():
    ep = FakeEndpoint(sts_handler)
    session = boto3.session.Session(aws_access_key_id=AK, aws_secret_access_key="x" * 40, region_name="us-east-1")
    c = session.client("sts", endpoint_url="https://sts.example.test", config=Config(retries={"max_attempts": 1}))
    c.meta.events.register("before-send", ep.query(QueryProtocol("sts")))
    with pytest.raises(ClientError) as ei:
        c.get_caller_identity()
    assert ei.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_modelled_errors_and_validation_reach_boto3():
    ep = FakeEndpoint(sts_handler)
    sts = client("sts", ep, unsigned=True)
    with pytest.raises(sts.exceptions.ExpiredTokenException) as ei:
        sts.assume_role_with_web_identity(RoleArn="arn:aws:iam::123456789012:role/app", RoleSessionName="s1", WebIdentityToken="expired")
    assert ei.value.response["Error"]["Type"] == "Sender"
    with pytest.raises(ClientError) as ei:
        sts.assume_role_with_web_identity(RoleArn="arn:aws:iam::123456789012:role/app", RoleSessionName="a:b", WebIdentityToken="tok.en.x")
    assert ei.value.response["Error"] == {
        "Type": "Sender",
        "Code": "ValidationError",
        "Message": r"1 validation error detected: Value 'a:b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*",
    }


def test_iam_lists_tags_and_policy_documents():
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/oidc.example/id/AB"}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": {"oidc.example/id/AB:aud": "sts.amazonaws.com"}}}]}

    def iam_handler(op: str, args: dict) -> dict | None:
        role = {"Path": "/", "RoleName": "app", "RoleId": "AROAEXAMPLEEXAMPLE123", "Arn": "arn:aws:iam::123456789012:role/app",
                "CreateDate": EXPIRATION, "AssumeRolePolicyDocument": json.dumps(trust), "Tags": [{"Key": "k", "Value": "v w+é=@"}]}
        if op == "CreateRole":
            assert json.loads(args["AssumeRolePolicyDocument"]) == trust
            assert args["Tags"] == [{"Key": "k", "Value": "v w+é=@"}]
            return {"Role": role}
        if op == "GetRole":
            return {"Role": role}
        if op == "CreateOpenIDConnectProvider":
            assert args["ClientIDList"] == ["sts.amazonaws.com"] and args["ThumbprintList"] == []
            return {"OpenIDConnectProviderArn": "arn:aws:iam::123456789012:oidc-provider/oidc.example/id/AB", "Tags": []}
        if op == "DeleteOpenIDConnectProvider":
            return None
        raise AssertionError(op)

    ep = FakeEndpoint(iam_handler)
    iam = client("iam", ep)
    created = iam.create_role(RoleName="app", AssumeRolePolicyDocument=json.dumps(trust), Tags=[{"Key": "k", "Value": "v w+é=@"}])
    assert created["Role"]["AssumeRolePolicyDocument"] == trust  # percent-encoded on the wire, decoded by botocore
    assert created["Role"]["Tags"] == [{"Key": "k", "Value": "v w+é=@"}]
    assert iam.get_role(RoleName="app")["Role"]["CreateDate"] == EXPIRATION
    out = iam.create_open_id_connect_provider(Url="https://oidc.example/id/AB", ClientIDList=["sts.amazonaws.com"], ThumbprintList=[])
    assert out["Tags"] == []
    assert iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=out["OpenIDConnectProviderArn"])["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_eks_describe_cluster_through_boto3():
    def eks_handler(op: str, args: dict) -> dict:
        if args.get("name") == "missing":
            raise AwsError(errors.RESOURCE_NOT_FOUND, "No cluster found for name: missing.")
        return {"cluster": {"name": args["name"], "createdAt": EXPIRATION, "identity": {"oidc": {"issuer": "https://oidc.example/id/AB"}}}}

    ep = FakeEndpoint(eks_handler)
    eks = client("eks", ep)
    cluster = eks.describe_cluster(name="prod")["cluster"]
    assert cluster["identity"]["oidc"]["issuer"] == "https://oidc.example/id/AB" and cluster["createdAt"] == EXPIRATION
    with pytest.raises(eks.exceptions.ResourceNotFoundException):
        eks.describe_cluster(name="missing")
