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

from tests.service.helpers import S3_READ_ONLY, aws, eksctl_trust_policy, provider_host_path, write_token


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


def test_botocore_web_identity_provider_and_refresh(server, issuer, tmp_path, monkeypatch):
    from tests.service.helpers import setup_role

    iam = server.client("iam")
    role_arn, _ = setup_role(iam, issuer)
    token_file = write_token(tmp_path / "token", issuer.mint(sub="system:serviceaccount:default:iam-test", aud=["sts.amazonaws.com"]))
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
    # the expiry is a real UTC timestamp, 3600 s ahead by default (not 900: reference §0.5)
    remaining = creds._seconds_remaining()
    assert 3500 < remaining <= 3600

    # the kubelet rotates the token file; botocore re-reads it on refresh (reference §5.5)
    write_token(token_file, issuer.mint(sub="system:serviceaccount:default:iam-test", aud=["sts.amazonaws.com"]))
    creds._expiry_time = creds._expiry_time.__class__.fromtimestamp(time.time() + 300, tz=creds._expiry_time.tzinfo)
    second = sts.get_caller_identity()  # inside the mandatory window: refreshes before signing
    assert creds.get_frozen_credentials().access_key != first_key
    assert second["Arn"].split("/")[1] == "s3-reader"

    # the role's policy (AmazonS3ReadOnlyAccess) grants no IAM writes
    with pytest.raises(ClientError) as err:
        session.client("iam").create_role(RoleName="x", AssumeRolePolicyDocument="{}")
    assert err.value.response["Error"]["Code"] == "AccessDenied"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
