"""Several accounts on one server, cross-account trust, the aws-cn partition, and the audit log."""

from __future__ import annotations

import json
import stat

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from irsa.iam.accounts import AccountStore
from tests.service.helpers import S3_READ_ONLY, setup_role
from tests.service.server import start_server

ACCOUNT_B = "444455556666"


def unsigned_sts(server):
    return boto3.client("sts", endpoint_url=server.endpoint, region_name=server.region, config=Config(signature_version=UNSIGNED))


def test_cross_account_web_identity(server, issuer):
    """The cluster's issuer is registered in account B; a pod of account A's cluster assumes B's role."""
    b = AccountStore(server.runtime.db).create_account(ACCOUNT_B)
    iam_b = server.client("iam", aws_access_key_id=b.access_key_id, aws_secret_access_key=b.secret_access_key)
    role_arn, provider_arn = setup_role(iam_b, issuer, role_name="cross")
    assert role_arn == f"arn:aws:iam::{ACCOUNT_B}:role/cross"
    assert provider_arn.startswith(f"arn:aws:iam::{ACCOUNT_B}:oidc-provider/")
    # account A has no provider: the same token cannot assume a role there
    iam_a = server.client("iam")
    assert iam_a.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []
    token = issuer.mint(sub="system:serviceaccount:default:iam-test", aud=["sts.amazonaws.com"])
    out = unsigned_sts(server).assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="pod", WebIdentityToken=token)
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT_B}:assumed-role/cross/pod"
    assert out["Provider"] == provider_arn
    assert out["Audience"] == "sts.amazonaws.com"
    assert out["SubjectFromWebIdentityToken"] == "system:serviceaccount:default:iam-test"


def test_cross_account_assume_role_with_an_aws_principal(server):
    b = AccountStore(server.runtime.db).create_account(ACCOUNT_B)
    iam_b = server.client("iam", aws_access_key_id=b.access_key_id, aws_secret_access_key=b.secret_access_key)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"AWS": f"arn:aws:iam::{server.account_id}:root"}}]}
    iam_b.create_role(RoleName="shared", AssumeRolePolicyDocument=json.dumps(trust))
    shared = f"arn:aws:iam::{ACCOUNT_B}:role/shared"
    # account A's admin (root) may assume it: B trusts A, and A's root has every permission
    creds = server.client("sts").assume_role(RoleArn=shared, RoleSessionName="from-a")["Credentials"]
    who = server.client("sts", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"]).get_caller_identity()
    assert who["Arn"] == f"arn:aws:sts::{ACCOUNT_B}:assumed-role/shared/from-a"
    assert who["Account"] == ACCOUNT_B

    # a role session of A needs its own identity policy to allow sts:AssumeRole on B's role (cross-account)
    iam_a = server.client("iam")
    self_trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                          "Principal": {"AWS": f"arn:aws:iam::{server.account_id}:root"}}]}
    iam_a.create_role(RoleName="hopper", AssumeRolePolicyDocument=json.dumps(self_trust))
    iam_a.attach_role_policy(RoleName="hopper", PolicyArn=S3_READ_ONLY)
    hop = server.client("sts").assume_role(RoleArn=f"arn:aws:iam::{server.account_id}:role/hopper", RoleSessionName="hop")["Credentials"]
    hop_sts = server.client("sts", aws_access_key_id=hop["AccessKeyId"], aws_secret_access_key=hop["SecretAccessKey"],
                            aws_session_token=hop["SessionToken"])
    with pytest.raises(ClientError) as err:
        hop_sts.assume_role(RoleArn=shared, RoleSessionName="hop2")
    assert err.value.response["Error"]["Code"] == "AccessDenied"
    iam_a.put_role_policy(RoleName="hopper", PolicyName="hop", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": shared}]}))
    chained = hop_sts.assume_role(RoleArn=shared, RoleSessionName="hop2")
    assert chained["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT_B}:assumed-role/shared/hop2"
    # role chaining is limited to one hour (AWS: "1 hour session limit for roles assumed by role chaining")
    iam_b.update_role(RoleName="shared", MaxSessionDuration=7200)
    with pytest.raises(ClientError) as err:
        hop_sts.assume_role(RoleArn=shared, RoleSessionName="hop3", DurationSeconds=7200)
    assert err.value.response["Error"]["Code"] == "ValidationError"


def test_china_partition(tmp_path, issuer):
    server = start_server(tmp_path / "cn", f"sqlite:///{tmp_path / 'cn.db'}", region="cn-north-1")
    try:
        iam = server.client("iam")
        host_path = issuer.issuer.removeprefix("https://")
        provider = iam.create_open_id_connect_provider(Url=issuer.issuer, ClientIDList=["sts.amazonaws.com.cn"],
                                                       ThumbprintList=[issuer.thumbprint])["OpenIDConnectProviderArn"]
        assert provider == f"arn:aws-cn:iam::{server.account_id}:oidc-provider/{host_path}"
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": provider},
                 "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": {
                     f"{host_path}:aud": "sts.amazonaws.com.cn", f"{host_path}:sub": "system:serviceaccount:default:app"}}}]}
        role = iam.create_role(RoleName="cn-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
        assert role["Arn"] == f"arn:aws-cn:iam::{server.account_id}:role/cn-role"
        token = issuer.mint(sub="system:serviceaccount:default:app", aud=["sts.amazonaws.com.cn"])
        out = unsigned_sts(server).assume_role_with_web_identity(RoleArn=role["Arn"], RoleSessionName="cn-session", WebIdentityToken=token)
        assert out["AssumedRoleUser"]["Arn"] == f"arn:aws-cn:sts::{server.account_id}:assumed-role/cn-role/cn-session"
        assert out["Audience"] == "sts.amazonaws.com.cn"
    finally:
        server.stop()


def test_audit_log_records_calls_without_secrets(sqlite_server, issuer):
    iam = sqlite_server.client("iam")
    role_arn, _ = setup_role(iam, issuer)
    token = issuer.mint(sub="system:serviceaccount:default:iam-test", aud=["sts.amazonaws.com"])
    creds = unsigned_sts(sqlite_server).assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="pod", WebIdentityToken=token)["Credentials"]
    with pytest.raises(ClientError):
        unsigned_sts(sqlite_server).assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="pod",
                                                                  WebIdentityToken=issuer.mint(sub="system:serviceaccount:x:y", aud=["sts.amazonaws.com"]))
    path = sqlite_server.data_dir / "audit.log"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    ops = [(e["operation"], e["decision"], e.get("error_code")) for e in lines]
    assert ("iam:CreateRole", "allowed", None) in ops
    assert ("sts:AssumeRoleWithWebIdentity", "allowed", None) in ops
    assert ("sts:AssumeRoleWithWebIdentity", "denied", "AccessDenied") in ops
    for secret in (sqlite_server.secret_access_key, creds["SecretAccessKey"], creds["SessionToken"], token, token.split(".")[2]):
        assert secret not in text
    admin = sqlite_server.data_dir / "admin-credentials.json"
    assert stat.S_IMODE(admin.stat().st_mode) == 0o600
