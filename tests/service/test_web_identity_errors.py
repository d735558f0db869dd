"""AssumeRoleWithWebIdentity refusals, each with AWS's code, status and (where AWS's text is known) message.

Codes and texts: sts-and-iam.md §1.1, §1.4, §2. Every case is sent unsigned by boto3, as botocore's
credential provider sends it, and none of them may change anything stored.
"""

from __future__ import annotations

import json
import time

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from sqlalchemy import func, select

from irsa.oidc.keys import generate_signing_key
from irsa.store import schema
from tests.service.helpers import setup_role
from tests.support.issuer import IssuerServer

SUB = "system:serviceaccount:default:iam-test"
AUD = ["sts.amazonaws.com"]
KEY_RETRIEVAL = ("Couldn't retrieve verification key from your identity provider,  please reference "
                 "AssumeRoleWithWebIdentity documentation for requirements")


def row_counts(server) -> dict[str, int]:
    with server.runtime.db.read() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in schema.metadata.sorted_tables}


@pytest.fixture
def irsa_setup(server, issuer):
    iam = server.client("iam")
    role_arn, provider_arn = setup_role(iam, issuer)
    sts = boto3.client("sts", endpoint_url=server.endpoint, region_name=server.region, config=Config(signature_version=UNSIGNED))
    # a first success, so that the sealing key exists and later refusals have nothing legitimate to create
    sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="warm-up", WebIdentityToken=issuer.mint(sub=SUB, aud=AUD))
    return server, issuer, sts, role_arn, provider_arn


def refused(ctx, *, token=None, role_arn=None, **kw) -> dict:
    server, issuer, sts, default_role, _ = ctx
    before = row_counts(server)
    with pytest.raises(ClientError) as err:
        sts.assume_role_with_web_identity(RoleArn=role_arn or default_role, RoleSessionName=kw.pop("RoleSessionName", "pod"),
                                          WebIdentityToken=token if token is not None else issuer.mint(sub=SUB, aud=AUD), **kw)
    assert row_counts(server) == before, "a refused request changed stored state"
    resp = err.value.response
    return {"code": resp["Error"]["Code"], "message": resp["Error"].get("Message"),
            "status": resp["ResponseMetadata"]["HTTPStatusCode"]}


def test_token_for_another_namespaces_service_account(irsa_setup):
    _, issuer, *_ = irsa_setup
    r = refused(irsa_setup, token=issuer.mint(sub="system:serviceaccount:other:iam-test", aud=AUD))
    assert r == {"code": "AccessDenied", "status": 403, "message": "Not authorized to perform sts:AssumeRoleWithWebIdentity"}


def test_wrong_audience(irsa_setup):
    _, issuer, *_ = irsa_setup
    r = refused(irsa_setup, token=issuer.mint(sub=SUB, aud=["kubernetes.default.svc"]))
    assert r == {"code": "InvalidIdentityToken", "status": 400, "message": "Incorrect token audience"}


def test_missing_audience(irsa_setup):
    _, issuer, *_ = irsa_setup
    r = refused(irsa_setup, token=issuer.mint(sub=SUB, aud=None))
    assert r == {"code": "InvalidIdentityToken", "status": 400, "message": "Missing a required claim: aud"}


def test_expired(irsa_setup):
    _, issuer, *_ = irsa_setup
    r = refused(irsa_setup, token=issuer.mint(sub=SUB, aud=AUD, now=time.time() - 7200, exp_offset=3600))
    assert (r["code"], r["status"]) == ("ExpiredTokenException", 400)
    assert r["message"].startswith("Token expired: current date/time ")
    assert " must be before the expiration date/time" in r["message"]


def test_not_yet_valid(irsa_setup):
    _, issuer, *_ = irsa_setup
    r = refused(irsa_setup, token=issuer.mint(sub=SUB, aud=AUD, now=time.time() + 3600))
    assert (r["code"], r["status"]) == ("InvalidIdentityToken", 400)


def test_unknown_issuer(irsa_setup, tmp_path):
    with IssuerServer(tmp_path / "other") as other:
        r = refused(irsa_setup, token=other.mint(sub=SUB, aud=AUD))
        assert r == {"code": "InvalidIdentityToken", "status": 400,
                     "message": f"No OpenIDConnect provider found in your account for {other.issuer}"}


def test_unknown_kid(irsa_setup):
    _, issuer, *_ = irsa_setup
    r = refused(irsa_setup, token=issuer.mint(sub=SUB, aud=AUD, kid="not-a-published-kid"))
    assert r == {"code": "InvalidIdentityToken", "status": 400, "message": KEY_RETRIEVAL}


def test_alg_none(irsa_setup):
    _, issuer, *_ = irsa_setup
    assert refused(irsa_setup, token=issuer.mint(sub=SUB, aud=AUD, sign="none"))["code"] == "InvalidIdentityToken"


def test_hs256_signed_with_the_rsa_public_key(irsa_setup):
    _, issuer, *_ = irsa_setup
    assert refused(irsa_setup, token=issuer.mint(sub=SUB, aud=AUD, sign="hs256-public"))["code"] == "InvalidIdentityToken"


def test_tampered_payload(irsa_setup):
    """The payload is swapped for kube-system:admin; the trust policy would not match either, so the
    signature must be what refuses it (InvalidIdentityToken, not AccessDenied)."""
    _, issuer, *_ = irsa_setup
    assert refused(irsa_setup, token=issuer.mint(sub=SUB, aud=AUD, tamper=True))["code"] == "InvalidIdentityToken"


def test_signature_of_another_key_with_the_published_kid(irsa_setup):
    _, issuer, *_ = irsa_setup
    token = issuer.mint(sub=SUB, aud=AUD, key=generate_signing_key("RSA"), kid=issuer.signing_key.kid)
    assert refused(irsa_setup, token=token)["code"] == "InvalidIdentityToken"


def test_oversized_token(irsa_setup):
    r = refused(irsa_setup, token="a" * 20001)
    assert (r["code"], r["status"]) == ("ValidationError", 400)
    assert "at 'webIdentityToken' failed to satisfy constraint: Member must have length less than or equal to 20000" in r["message"]
    assert "a" * 100 not in r["message"]  # a sensitive member is never echoed


def test_bad_session_name(irsa_setup):
    r = refused(irsa_setup, RoleSessionName="a:b")
    assert r == {"code": "ValidationError", "status": 400, "message": (
        "1 validation error detected: Value 'a:b' at 'roleSessionName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\w+=,.@-]*")}


def test_role_missing(irsa_setup):
    server, *_ = irsa_setup
    r = refused(irsa_setup, role_arn=f"arn:aws:iam::{server.account_id}:role/does-not-exist")
    assert r == {"code": "AccessDenied", "status": 403, "message": "Not authorized to perform sts:AssumeRoleWithWebIdentity"}


def test_trust_policy_with_a_deny(irsa_setup):
    server, issuer, _, _, provider_arn = irsa_setup
    host_path = issuer.issuer.removeprefix("https://")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Federated": provider_arn}, "Action": "sts:AssumeRoleWithWebIdentity",
         "Condition": {"StringLike": {f"{host_path}:sub": "system:serviceaccount:default:*"}}},
        {"Effect": "Deny", "Principal": {"Federated": provider_arn}, "Action": "sts:AssumeRoleWithWebIdentity",
         "Condition": {"StringEquals": {f"{host_path}:sub": SUB}}},
    ]}
    arn = server.client("iam").create_role(RoleName="denying", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    assert refused(irsa_setup, role_arn=arn)["code"] == "AccessDenied"
    # the Allow alone admits another service account of the namespace
    _, _, sts, *_ = irsa_setup
    ok = sts.assume_role_with_web_identity(RoleArn=arn, RoleSessionName="pod", WebIdentityToken=issuer.mint(
        sub="system:serviceaccount:default:web", aud=AUD))
    assert ok["AssumedRoleUser"]["Arn"].endswith(":assumed-role/denying/pod")


def test_wildcard_under_string_equals_never_matches(irsa_setup):
    """The classic mistake: `*` in StringEquals is a literal star (policy-evaluation.md §1.4)."""
    server, issuer, _, _, provider_arn = irsa_setup
    host_path = issuer.issuer.removeprefix("https://")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": provider_arn},
             "Action": "sts:AssumeRoleWithWebIdentity",
             "Condition": {"StringEquals": {f"{host_path}:sub": "system:serviceaccount:default:*"}}}]}
    arn = server.client("iam").create_role(RoleName="starry", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    assert refused(irsa_setup, role_arn=arn)["code"] == "AccessDenied"


def test_duration_over_the_role_maximum(irsa_setup):
    r = refused(irsa_setup, DurationSeconds=7200)
    assert r == {"code": "ValidationError", "status": 400,
                 "message": "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."}


def test_malformed_session_policy(irsa_setup):
    r = refused(irsa_setup, Policy='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}')
    assert (r["code"], r["status"]) == ("MalformedPolicyDocument", 400)


def test_session_policy_and_tags_succeed_with_packed_size(irsa_setup):
    server, issuer, sts, role_arn, _ = irsa_setup
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    out = sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="scoped", WebIdentityToken=issuer.mint(sub=SUB, aud=AUD),
                                            Policy=policy, DurationSeconds=900)
    assert 0 < out["PackedPolicySize"] <= 100
    remaining = out["Credentials"]["Expiration"].timestamp() - time.time()
    assert 800 < remaining <= 900
