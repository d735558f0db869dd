"""The published folder, served by a plain static HTTPS host, is an issuer AWS STS accepts.

The provider is registered with the thumbprint of the host's chain, computed here as IAM defines it
(SHA-1 of the DER of the last certificate the host presents, read from the live TLS handshake), and the
role gets the eksctl trust policy (reference issuer-cli-and-doctor.md §3.3). The call is an unsigned
AssumeRoleWithWebIdentity from boto3, as a pod's SDK makes it.
"""

from __future__ import annotations

import hashlib
import json
import socket
import ssl

import boto3
import httpx
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from irsa.cli.issuer import issuer_app
from irsa.oidc.keys import generate_signing_key, load_signing_key
from irsa.oidc.tokens import mint_service_account_token
from tests.service.helpers import eksctl_trust_policy, provider_host_path


def presented_chain_thumbprint(port: int) -> str:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        chain = tls._sslobj.get_unverified_chain()  # type: ignore[attr-defined]
        last_der = chain[-1].public_bytes(ssl._ssl.ENCODING_DER)  # type: ignore[attr-defined]
    return hashlib.sha1(last_der).hexdigest()


def test_assume_role_with_web_identity_against_a_static_https_issuer(server, static_host, runner, tmp_path):
    state = tmp_path / "state"
    assert runner.invoke(issuer_app, ["keygen", "--out", str(state)]).exit_code == 0
    result = runner.invoke(issuer_app, ["publish", "--issuer-url", static_host.issuer, "--out", str(static_host.root),
                                        "--public-key", str(state / "sa-keys.pub")])
    assert result.exit_code == 0, result.output

    # the host serves what publish said to set
    with httpx.Client(verify=ssl.create_default_context(cafile=str(static_host.ca_bundle))) as http:
        disc = http.get(static_host.issuer + "/.well-known/openid-configuration")
        keys = http.get(static_host.issuer + "/keys.json")
    assert disc.status_code == 200 and disc.headers["content-type"] == "application/json"
    assert keys.status_code == 200 and keys.headers["content-type"] == "application/jwk-set+json"
    assert disc.json()["issuer"] == static_host.issuer and disc.json()["jwks_uri"] == static_host.issuer + "/keys.json"
    assert f"Content-Type: {disc.headers['content-type']}" in result.stdout
    assert f"Content-Type: {keys.headers['content-type']}" in result.stdout

    thumbprint = presented_chain_thumbprint(static_host.port)
    iam = server.client("iam")
    provider_arn = iam.create_open_id_connect_provider(
        Url=static_host.issuer, ClientIDList=["sts.amazonaws.com"], ThumbprintList=[thumbprint],
    )["OpenIDConnectProviderArn"]
    host_path = provider_host_path(static_host.issuer)
    role = iam.create_role(RoleName="static-issuer-role", AssumeRolePolicyDocument=json.dumps(
        eksctl_trust_policy(provider_arn, host_path, "default", "app")))["Role"]

    key = load_signing_key(state / "sa-signer.key")
    token = mint_service_account_token(key, issuer=static_host.issuer, namespace="default", service_account="app",
                                       service_account_uid="0b7c6d2e", audiences=["sts.amazonaws.com"])
    sts = boto3.client("sts", endpoint_url=server.endpoint, region_name=server.region,
                       config=Config(signature_version=UNSIGNED))
    before = len(static_host.requests)
    out = sts.assume_role_with_web_identity(RoleArn=role["Arn"], RoleSessionName="pod-session", WebIdentityToken=token)
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{server.account_id}:assumed-role/static-issuer-role/pod-session"
    assert out["SubjectFromWebIdentityToken"] == "system:serviceaccount:default:app"
    assert out["Credentials"]["AccessKeyId"].startswith("ASIA")
    fetched = static_host.requests[before:]
    assert "/irsa-bucket/.well-known/openid-configuration" in fetched and "/irsa-bucket/keys.json" in fetched

    # a key that was never published is refused with AWS's message
    stranger = mint_service_account_token(generate_signing_key(), issuer=static_host.issuer, namespace="default",
                                          service_account="app", service_account_uid="0b7c6d2e",
                                          audiences=["sts.amazonaws.com"])
    with pytest.raises(ClientError) as err:
        sts.assume_role_with_web_identity(RoleArn=role["Arn"], RoleSessionName="s2", WebIdentityToken=stranger)
    assert err.value.response["Error"]["Code"] == "InvalidIdentityToken"
    assert "Couldn't retrieve verification key" in err.value.response["Error"]["Message"]
