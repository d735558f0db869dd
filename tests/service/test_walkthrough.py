"""The seed walkthrough with the unmodified AWS CLI and botocore's own web-identity credential provider.

Expected values come from AWS's documented formats (sts-and-iam.md §0, §1.2, §3): the provider ARN is
``arn:aws:iam::<acct>:oidc-provider/<url without https://>``, GetOpenIDConnectProvider returns the URL
without the scheme, the session ARN is ``arn:aws:sts::<acct>:assumed-role/<role>/<session>``.
"""

from __future__ import annotations

import json
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.service.helpers import S3_READ_ONLY, aws, eksctl_trust_policy, provider_host_path, setup_role, write_token
from tests.service.server import start_server
from tests.support.databases import BACKEND_PARAMS, database_url


def test_seed_walkthrough_with_the_aws_cli(server, issuer, tmp_path):
    env = server.env()
    host_path = provider_host_path(issuer.issuer)
    out = aws(env, "iam", "create-open-id-connect-provider", "--url", issuer.issuer,
              "--client-id-list", "sts.amazonaws.com", "--thumbprint-list", issuer.thumbprint)
    provider_arn = json.loads(out.stdout)["OpenIDConnectProviderArn"]
    assert provider_arn == f"arn:aws:iam::{server.account_id}:oidc-provider/{host_path}"

    listed = json.loads(aws(env, "iam", "list-open-id-connect-providers").stdout)
    assert listed == {"OpenIDConnectProviderList": [{"Arn": provider_arn}]}
    got = json.loads(aws(env, "iam", "get-open-id-connect-provider", "--open-id-connect-provider-arn", provider_arn).stdout)
    assert got["Url"] == host_path and got["ClientIDList"] == ["sts.amazonaws.com"]
    assert got["ThumbprintList"] == [issuer.thumbprint]

    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps(eksctl_trust_policy(provider_arn, host_path, "default", "iam-test"), indent=2))
    role = json.loads(aws(env, "iam", "create-role", "--role-name", "litmus-role",
                          "--assume-role-policy-document", f"file://{trust}").stdout)["Role"]
    assert role["Arn"] == f"arn:aws:iam::{server.account_id}:role/litmus-role"
    assert role["RoleId"].startswith("AROA")
    # the CLI decodes the percent-encoded document into JSON, as for real IAM
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Federated": provider_arn}

    arn = aws(env, "iam", "list-policies", "--query", "Policies[?PolicyName==`AmazonS3ReadOnlyAccess`].Arn",
              "--output", "text").stdout.strip()
    assert arn == S3_READ_ONLY
    aws(env, "iam", "attach-role-policy", "--role-name", "litmus-role", "--policy-arn", arn)
    attached = json.loads(aws(env, "iam", "list-attached-role-policies", "--role-name", "litmus-role").stdout)
    assert attached["AttachedPolicies"] == [{"PolicyName": "AmazonS3ReadOnlyAccess", "PolicyArn": S3_READ_ONLY}]

    # a pod: only AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, no keys
    token_file = write_token(tmp_path / "token", issuer.mint(sub="system:serviceaccount:default:iam-test",
                                                                  aud=["sts.amazonaws.com"]))
    pod_env = server.env(AWS_ROLE_ARN=role["Arn"], AWS_WEB_IDENTITY_TOKEN_FILE=str(token_file),
                         AWS_ROLE_SESSION_NAME="litmus-session")
    del pod_env["AWS_ACCESS_KEY_ID"], pod_env["AWS_SECRET_ACCESS_KEY"]
    ident = json.loads(aws(pod_env, "sts", "get-caller-identity").stdout)
    assert ident["Arn"] == f"arn:aws:sts::{server.account_id}:assumed-role/litmus-role/litmus-session"
    assert ident["Account"] == server.account_id
    assert ident["UserId"] == f"{role['RoleId']}:litmus-session"

    # a token for another service account: the trust policy does not match
    write_token(token_file, issuer.mint(sub="system:serviceaccount:default:other", aud=["sts.amazonaws.com"]))
    denied = aws(pod_env | {"AWS_ROLE_SESSION_NAME": "other-session"}, "sts", "get-caller-identity", check=False)
    assert denied.returncode != 0
    assert "AccessDenied" in denied.stderr and "Not authorized to perform sts:AssumeRoleWithWebIdentity" in denied.stderr


# The server's clock runs 47 minutes behind, so its default 3600-s credentials have 13 minutes left on
# arrival: inside botocore's 15-minute advisory refresh window (reference §5.4), outside the 10-minute
# mandatory one. Every later use therefore refreshes through the real provider, which re-reads the token file.
CLOCK_SKEW = 47 * 60


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_botocore_web_identity_provider_and_refresh(backend, issuer, tmp_path, monkeypatch):
    with database_url(backend, tmp_path) as url:
        server = start_server(tmp_path / "data", url, clock=lambda: time.time() - CLOCK_SKEW)
        try:
            _provider_and_refresh(server, issuer, tmp_path, monkeypatch)
        finally:
            server.stop()


def _provider_and_refresh(server, issuer, tmp_path, monkeypatch):
    iam = server.client("iam")
    role_arn, _ = setup_role(iam, issuer)
    server_now = time.time() - CLOCK_SKEW
    token_file = write_token(tmp_path / "token", issuer.mint(sub="system:serviceaccount:default:iam-test",
                                                             aud=["sts.amazonaws.com"], now=server_now))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ROLE_ARN", role_arn)
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", server.region)
    session = boto3.Session()
    creds = session.get_credentials()
    assert creds.method == "assume-role-with-web-identity"
    sts = session.client("sts")
    first = sts.get_caller_identity()
    assert first["Arn"].startswith(f"arn:aws:sts::{server.account_id}:assumed-role/s3-reader/botocore-session-")
    first_key = creds.get_frozen_credentials().access_key
    assert first_key.startswith("ASIA") and len(first_key) == 20
    # Expiration is a real UTC timestamp: 3600 s after the server's now (not 900: reference §0.5)
    assert abs(creds._seconds_remaining() - (3600 - CLOCK_SKEW)) < 30

    # the kubelet rotates the token file; botocore re-reads it on refresh (reference §5.5)
    write_token(token_file, issuer.mint(sub="system:serviceaccount:default:iam-test", aud=["sts.amazonaws.com"],
                                        now=server_now + 1))
    second = sts.get_caller_identity()
    assert creds.get_frozen_credentials().access_key != first_key
    assert second["Arn"].split("/")[1] == "s3-reader"
    audit = [json.loads(line) for line in (server.data_dir / "audit.log").read_text().splitlines()]
    assert sum(1 for e in audit if e["operation"] == "sts:AssumeRoleWithWebIdentity" and e["decision"] == "allowed") >= 2

    # the role's policy (AmazonS3ReadOnlyAccess) grants no IAM writes
    with pytest.raises(ClientError) as err:
        session.client("iam").create_role(RoleName="x", AssumeRolePolicyDocument="{}")
    assert err.value.response["Error"]["Code"] == "AccessDenied"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
