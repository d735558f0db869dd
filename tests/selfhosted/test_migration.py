"""`irsa issuer migration-trust-policy`: during an issuer change the role trusts both providers.

Expected shapes come from the reference: each statement is eksctl's (issuer-cli-and-doctor.md §3.3:
Principal.Federated = provider ARN, sts:AssumeRoleWithWebIdentity, StringEquals on <host/path>:sub and :aud);
the provider ARN is arn:<partition>:iam::<acct>:oidc-provider/<url without https://> (sts-and-iam.md);
the STS audience is sts.amazonaws.com (sts.amazonaws.com.cn in aws-cn).
"""

from __future__ import annotations

import base64
import json

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from irsa.cli.issuer import issuer_app
from irsa.oidc.keys import load_signing_key
from irsa.oidc.tokens import mint_service_account_token
from irsa.policy import (
    Context,
    PolicyKind,
    Principal,
    Request,
    compile_policy,
    evaluate,
)
from tests.service.helpers import eksctl_trust_policy

OLD = "https://oidc.old.example.com/id/c1"
NEW = "https://s3.eu-west-1.amazonaws.com/acme-oidc"
ACCOUNT = "111122223333"


def cli(runner, *args: str, code: int = 0):
    result = runner.invoke(issuer_app, ["migration-trust-policy", *args])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


def base_args(old: str = OLD, new: str = NEW) -> list[str]:
    return ["--role-name", "app-role", "--old-issuer", old, "--new-issuer", new,
            "--namespace", "payments", "--service-account", "api"]


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def trusts(policy: dict, provider_arn: str, token_claims: dict) -> bool:
    """Trust evaluation as STS does it: the provider is the federated principal, the token's sub/aud become
    <host/path>:sub and :aud (host/path = the provider URL)."""
    host_path = provider_arn.split(":oidc-provider/", 1)[1]
    aud = token_claims["aud"]
    context = Context.from_strings({f"{host_path}:sub": token_claims["sub"],
                                    f"{host_path}:aud": aud[0] if isinstance(aud, list) else aud})
    principal = Principal(provider_arn, ACCOUNT, kind="federated", federated=provider_arn)
    compiled = compile_policy(json.dumps(policy), PolicyKind.TRUST)
    request = Request(principal, "sts:AssumeRoleWithWebIdentity", f"arn:aws:iam::{ACCOUNT}:role/app-role", context)
    return evaluate(request, resource_policy=compiled).allowed


def test_policy_trusts_tokens_of_both_issuers(runner, tmp_path):
    policy = json.loads(cli(runner, *base_args(), "--account-id", ACCOUNT).stdout)
    old_arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.old.example.com/id/c1"
    new_arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/s3.eu-west-1.amazonaws.com/acme-oidc"
    assert policy["Version"] == "2012-10-17"
    assert [s["Principal"] for s in policy["Statement"]] == [{"Federated": old_arn}, {"Federated": new_arn}]
    assert policy["Statement"][0]["Condition"] == {"StringEquals": {
        "oidc.old.example.com/id/c1:sub": "system:serviceaccount:payments:api",
        "oidc.old.example.com/id/c1:aud": "sts.amazonaws.com"}}
    assert all(s["Action"] == "sts:AssumeRoleWithWebIdentity" and s["Effect"] == "Allow" for s in policy["Statement"])
    # each statement is exactly the eksctl statement for its provider (plus a Sid)
    for statement, (arn, url) in zip(policy["Statement"], [(old_arn, OLD), (new_arn, NEW)]):
        expected = eksctl_trust_policy(arn, url.removeprefix("https://"), "payments", "api")["Statement"][0]
        assert {k: v for k, v in statement.items() if k != "Sid"} == expected

    state = tmp_path / "st"
    assert runner.invoke(issuer_app, ["keygen", "--out", str(state)]).exit_code == 0
    key = load_signing_key(state / "sa-signer.key")

    def token(issuer: str, sa: str = "api", ns: str = "payments", aud: str = "sts.amazonaws.com") -> dict:
        return claims_of(mint_service_account_token(key, issuer=issuer, namespace=ns, service_account=sa,
                                                    service_account_uid="u", audiences=[aud]))

    assert trusts(policy, old_arn, token(OLD))
    assert trusts(policy, new_arn, token(NEW))
    assert not trusts(policy, new_arn, token(NEW, sa="other"))
    assert not trusts(policy, old_arn, token(OLD, ns="default"))
    assert not trusts(policy, new_arn, token(NEW, aud="https://kubernetes.default.svc"))
    third = f"arn:aws:iam::{ACCOUNT}:oidc-provider/third.example.com"
    assert not trusts(policy, third, {"sub": "system:serviceaccount:payments:api", "aud": ["sts.amazonaws.com"]})
    # the old issuer's claims presented through the new provider's keys do not match the new statement
    assert not trusts(policy, new_arn, {**token(OLD), "aud": ["elsewhere"]})


def test_partition_and_audience(runner):
    policy = json.loads(cli(runner, *base_args(), "--account-id", ACCOUNT, "--partition", "aws-cn").stdout)
    assert policy["Statement"][1]["Principal"]["Federated"].startswith(f"arn:aws-cn:iam::{ACCOUNT}:oidc-provider/")
    assert policy["Statement"][1]["Condition"]["StringEquals"]["s3.eu-west-1.amazonaws.com/acme-oidc:aud"] == "sts.amazonaws.com.cn"
    policy = json.loads(cli(runner, *base_args(), "--account-id", ACCOUNT, "--audience", "custom").stdout)
    assert policy["Statement"][0]["Condition"]["StringEquals"]["oidc.old.example.com/id/c1:aud"] == "custom"


@pytest.mark.parametrize("args, message", [
    (base_args(), "--account-id is needed"),
    (base_args() + ["--account-id", "1234"], "12 digits"),
    (base_args(old="http://old.example.com") + ["--account-id", ACCOUNT], "--old-issuer"),
    (base_args(new=OLD) + ["--account-id", ACCOUNT], "same provider"),
    (base_args() + ["--account-id", ACCOUNT, "--partition", "aws-mars"], "--partition"),
    (["--role-name", "bad role", "--old-issuer", OLD, "--new-issuer", NEW, "--namespace", "a",
      "--service-account", "b", "--account-id", ACCOUNT], "--role-name"),
    (["--role-name", "r", "--old-issuer", OLD, "--new-issuer", NEW, "--namespace", "Payments",
      "--service-account", "b", "--account-id", ACCOUNT], "namespace 'Payments'"),
    (["--role-name", "r", "--old-issuer", OLD, "--new-issuer", NEW, "--namespace", "a",
      "--service-account", "b c", "--account-id", ACCOUNT], "service account 'b c'"),
])
def test_bad_input(runner, args, message):
    result = cli(runner, *args, code=1)
    assert message in result.stderr and result.stdout == ""


def test_apply_moves_a_role_to_both_issuers_and_sts_accepts_both(server, issuer, static_host, runner, tmp_path,
                                                                    monkeypatch):
    """Old issuer: a running issuer (tests.support.issuer); new issuer: our published folder on a static host."""
    iam = server.client("iam")
    state = tmp_path / "st"
    assert runner.invoke(issuer_app, ["keygen", "--out", str(state)]).exit_code == 0
    assert runner.invoke(issuer_app, ["publish", "--issuer-url", static_host.issuer, "--out", str(static_host.root),
                                      "--public-key", str(state / "sa-keys.pub")]).exit_code == 0
    old_arn = iam.create_open_id_connect_provider(Url=issuer.issuer, ClientIDList=["sts.amazonaws.com"],
                                                  ThumbprintList=[issuer.thumbprint])["OpenIDConnectProviderArn"]
    old_only = eksctl_trust_policy(old_arn, issuer.issuer.removeprefix("https://"), "payments", "api")
    role_arn = iam.create_role(RoleName="app-role", AssumeRolePolicyDocument=json.dumps(old_only))["Role"]["Arn"]

    for key, value in server.env().items():
        if key.startswith("AWS_"):
            monkeypatch.setenv(key, value)
    args = base_args(old=issuer.issuer, new=static_host.issuer)
    # the new provider does not exist yet: applied anyway, but the user is told
    result = cli(runner, *args, "--apply")
    assert "no OIDC provider" in result.stderr and static_host.issuer.removeprefix("https://") in result.stderr
    assert json.loads(result.stdout)["Statement"][0]["Principal"]["Federated"] == old_arn
    assert "previous trust policy" in result.stderr and old_arn in result.stderr
    stored = iam.get_role(RoleName="app-role")["Role"]["AssumeRolePolicyDocument"]
    assert stored == json.loads(result.stdout)

    iam.create_open_id_connect_provider(Url=static_host.issuer, ClientIDList=["sts.amazonaws.com"],
                                        ThumbprintList=[static_host.thumbprint])
    result = cli(runner, *args, "--apply", "--account-id", server.account_id)
    assert "no OIDC provider" not in result.stderr

    sts = boto3.client("sts", endpoint_url=server.endpoint, region_name=server.region,
                       config=Config(signature_version=UNSIGNED))
    old_token = issuer.mint(sub="system:serviceaccount:payments:api", aud=["sts.amazonaws.com"])
    new_token = mint_service_account_token(load_signing_key(state / "sa-signer.key"), issuer=static_host.issuer,
                                           namespace="payments", service_account="api", service_account_uid="u",
                                           audiences=["sts.amazonaws.com"])
    for n, token in enumerate((old_token, new_token)):
        out = sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName=f"s{n}", WebIdentityToken=token)
        assert out["AssumedRoleUser"]["Arn"].endswith(f":assumed-role/app-role/s{n}")
    wrong_sa = mint_service_account_token(load_signing_key(state / "sa-signer.key"), issuer=static_host.issuer,
                                          namespace="payments", service_account="other", service_account_uid="u",
                                          audiences=["sts.amazonaws.com"])
    with pytest.raises(ClientError) as err:
        sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="wrong-sa", WebIdentityToken=wrong_sa)
    assert err.value.response["Error"]["Code"] == "AccessDenied"

    # errors from IAM come back as AWS's error, without a traceback
    result = cli(runner, "--role-name", "missing-role",
                 "--old-issuer", issuer.issuer, "--new-issuer", static_host.issuer, "--namespace", "payments",
                 "--service-account", "api", "--apply", code=1)
    assert "NoSuchEntity" in result.stderr
    result = cli(runner, *args, "--apply", "--account-id", "999999999999", code=1)
    assert "differs from the role's account" in result.stderr
