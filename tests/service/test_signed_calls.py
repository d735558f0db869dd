"""SigV4 at the endpoint: what AWS rejects, and with which code (sts-and-iam.md §1.5)."""

from __future__ import annotations

import datetime as dt
import json
from unittest import mock

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

GCI_BODY = "Action=GetCallerIdentity&Version=2011-06-15"


def signed(server, body: str, *, secret: str | None = None, token: str | None = None, key: str | None = None,
           when: dt.datetime | None = None, service: str = "sts", extra_headers: dict | None = None) -> AWSRequest:
    req = AWSRequest(method="POST", url=server.endpoint + "/", data=body.encode(),
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", **(extra_headers or {})})
    creds = Credentials(key or server.access_key_id, secret or server.secret_access_key, token)
    if when is None:
        SigV4Auth(creds, service, server.region).add_auth(req)
    else:
        with mock.patch("botocore.auth.get_current_datetime", return_value=when):
            SigV4Auth(creds, service, server.region).add_auth(req)
    return req


def send(req: AWSRequest, body: bytes | None = None, headers: dict | None = None) -> httpx.Response:
    hdrs = dict(req.headers.items())
    hdrs.update(headers or {})
    return httpx.post(req.url, content=req.body if body is None else body, headers=hdrs, timeout=10)


def code_of(resp: httpx.Response) -> str:
    import re

    m = re.search(r"<Code>([^<]+)</Code>", resp.text)
    return m.group(1) if m else ""


def test_admin_call_verifies(sqlite_server):
    resp = send(signed(sqlite_server, GCI_BODY))
    assert resp.status_code == 200, resp.text
    assert f"<Arn>arn:aws:iam::{sqlite_server.account_id}:root</Arn>" in resp.text
    assert resp.headers["x-amzn-requestid"]


def test_tampered_body_is_rejected(sqlite_server):
    req = signed(sqlite_server, GCI_BODY)
    resp = send(req, body=b"Action=CreateRole&Version=2010-05-08&RoleName=x&AssumeRolePolicyDocument=%7B%7D")
    assert (resp.status_code, code_of(resp)) == (403, "SignatureDoesNotMatch")


def test_declared_payload_hash_must_match_the_body(sqlite_server):
    """A signed X-Amz-Content-SHA256 must not stand in for hashing the body (libraries.md §3 finding)."""
    import hashlib

    req = signed(sqlite_server, GCI_BODY, extra_headers={"X-Amz-Content-SHA256": hashlib.sha256(GCI_BODY.encode()).hexdigest()})
    resp = send(req, body=b"Action=ListRoles&Version=2010-05-08")
    assert (resp.status_code, code_of(resp)) == (403, "SignatureDoesNotMatch")


def test_tampered_signed_header_is_rejected(sqlite_server):
    req = signed(sqlite_server, GCI_BODY, extra_headers={"X-Amz-Meta-Note": "a"})
    auth = req.headers["Authorization"]
    assert "x-amz-meta-note" in auth
    resp = send(req, headers={"X-Amz-Meta-Note": "b"})
    assert (resp.status_code, code_of(resp)) == (403, "SignatureDoesNotMatch")


def test_wrong_secret_is_rejected(sqlite_server):
    resp = send(signed(sqlite_server, GCI_BODY, secret="x" * 40))
    assert (resp.status_code, code_of(resp)) == (403, "SignatureDoesNotMatch")


def test_unknown_key_is_rejected(sqlite_server):
    resp = send(signed(sqlite_server, GCI_BODY, key="AKIAAAAAAAAAAAAAAAAA"))
    assert (resp.status_code, code_of(resp)) == (403, "InvalidClientTokenId")
    assert "The security token included in the request is invalid" in resp.text


def test_timestamp_16_minutes_old_is_rejected(sqlite_server):
    when = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(minutes=16)
    resp = send(signed(sqlite_server, GCI_BODY, when=when))
    assert (resp.status_code, code_of(resp)) == (400, "RequestExpired")


def test_missing_authentication(sqlite_server):
    resp = httpx.post(sqlite_server.endpoint + "/", content=GCI_BODY,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (resp.status_code, code_of(resp)) == (403, "MissingAuthenticationToken")


def _role_session(server, *, policy_arns=("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",), **assume_kw):
    iam = server.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"AWS": f"arn:aws:iam::{server.account_id}:root"}}]}
    iam.create_role(RoleName="worker", AssumeRolePolicyDocument=json.dumps(trust))
    for arn in policy_arns:
        iam.attach_role_policy(RoleName="worker", PolicyArn=arn)
    return server.client("sts").assume_role(RoleArn=f"arn:aws:iam::{server.account_id}:role/worker",
                                            RoleSessionName="s1", **assume_kw)["Credentials"]


def test_temporary_key_without_its_session_token_is_rejected(sqlite_server):
    creds = _role_session(sqlite_server)
    resp = send(signed(sqlite_server, GCI_BODY, key=creds["AccessKeyId"], secret=creds["SecretAccessKey"]))
    assert (resp.status_code, code_of(resp)) == (403, "InvalidClientTokenId")
    ok = send(signed(sqlite_server, GCI_BODY, key=creds["AccessKeyId"], secret=creds["SecretAccessKey"], token=creds["SessionToken"]))
    assert ok.status_code == 200, ok.text
    assert "assumed-role/worker/s1" in ok.text


def test_session_token_must_be_signed(sqlite_server):
    creds = _role_session(sqlite_server)
    req = signed(sqlite_server, GCI_BODY, key=creds["AccessKeyId"], secret=creds["SecretAccessKey"])
    resp = send(req, headers={"X-Amz-Security-Token": creds["SessionToken"]})  # present but not signed
    assert resp.status_code in (400, 403) and code_of(resp) in ("IncompleteSignature", "SignatureDoesNotMatch", "InvalidClientTokenId")


def test_forged_session_token_is_rejected(sqlite_server):
    creds = _role_session(sqlite_server)
    forged = creds["SessionToken"][:-6] + ("AAAAAA" if not creds["SessionToken"].endswith("AAAAAA") else "BBBBBB")
    resp = send(signed(sqlite_server, GCI_BODY, key=creds["AccessKeyId"], secret=creds["SecretAccessKey"], token=forged))
    assert (resp.status_code, code_of(resp)) == (403, "InvalidClientTokenId")


def test_expired_session_is_rejected(sqlite_server):
    creds = _role_session(sqlite_server, DurationSeconds=900)
    sqlite_server.runtime.dispatcher.clock = lambda: creds["Expiration"].timestamp() + 1
    resp = send(signed(sqlite_server, GCI_BODY, key=creds["AccessKeyId"], secret=creds["SecretAccessKey"], token=creds["SessionToken"]))
    assert (resp.status_code, code_of(resp)) == (403, "ExpiredToken")
    assert "The security token included in the request is expired" in resp.text


def test_role_session_is_authorized_by_its_policies(sqlite_server):
    creds = _role_session(sqlite_server)
    kw = dict(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
              aws_session_token=creds["SessionToken"])
    iam = sqlite_server.client("iam", **kw)
    with pytest.raises(ClientError) as err:
        iam.create_role(RoleName="escalate", AssumeRolePolicyDocument="{}")
    e = err.value.response["Error"]
    assert e["Code"] == "AccessDenied"
    assert e["Message"] == (f"User: arn:aws:sts::{sqlite_server.account_id}:assumed-role/worker/s1 is not authorized to perform: "
                            f"iam:CreateRole on resource: arn:aws:iam::{sqlite_server.account_id}:role/escalate because no "
                            "identity-based policy allows the iam:CreateRole action")
    # nothing was created
    assert "escalate" not in [r["RoleName"] for r in sqlite_server.client("iam").list_roles()["Roles"]]


def test_session_policy_limits_but_never_grants(sqlite_server):
    iam_read = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
    # the role may read IAM; the session policy allows only s3 -> IAM reads are denied in the session
    creds = _role_session(sqlite_server, policy_arns=(iam_read,),
                          Policy=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    kw = dict(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
              aws_session_token=creds["SessionToken"])
    with pytest.raises(ClientError) as err:
        sqlite_server.client("iam", **kw).list_roles()
    assert err.value.response["Error"]["Code"] == "AccessDenied"
    # without a session policy the same role may list roles
    creds2 = sqlite_server.client("sts").assume_role(RoleArn=f"arn:aws:iam::{sqlite_server.account_id}:role/worker",
                                                     RoleSessionName="s2")["Credentials"]
    kw2 = dict(aws_access_key_id=creds2["AccessKeyId"], aws_secret_access_key=creds2["SecretAccessKey"],
               aws_session_token=creds2["SessionToken"])
    assert [r["RoleName"] for r in sqlite_server.client("iam", **kw2).list_roles()["Roles"]] == ["worker"]
