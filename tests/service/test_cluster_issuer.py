"""Local clusters: EKS API, issuer documents over TLS, projected tokens, ServiceAccounts, key rotation.

Expected values come from the reference (issuer-cli-and-doctor.md §1.4 EKS discovery shape with JWKS at
``<issuer>/keys``, §1.5 kid = base64url(SHA-256(DER SPKI)), §1.8 claims of Kubernetes 1.30+ tokens, §1.9
the 600-second minimum) and from EKS's documented API shapes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import ssl
import threading
import time

import boto3
import httpx
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_der_public_key
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.service.helpers import S3_READ_ONLY, aws, eksctl_trust_policy, irsa, write_token

ACCOUNT = "210987654321"


def _b64url_json(segment: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def test_seed_walkthrough_against_irsa_up(irsa_up, tmp_path):
    port, issuer_port, data, env = irsa_up
    d = ["--data-dir", str(data)]
    exports = dict(line[len("export "):].split("=", 1) for line in irsa("env", *d, env=env).stdout.splitlines())
    cli = {**env, **exports, "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}

    issuer = irsa("cluster", "create", "litmus-demo", *d, env=env).stdout.strip()
    assert issuer.startswith(f"https://127.0.0.1:{issuer_port}/id/") and len(issuer.rsplit("/", 1)[1]) == 32
    described = aws(cli, "eks", "describe-cluster", "--name", "litmus-demo", "--query", "cluster.identity.oidc.issuer",
                    "--output", "text").stdout.strip()
    assert described == issuer
    assert aws(cli, "eks", "list-clusters", "--query", "clusters", "--output", "text").stdout.split() == ["litmus-demo"]

    # discovery and JWKS, fetched over TLS trusting the local CA, as STS will fetch them
    ca = ssl.create_default_context(cafile=json.loads((data / "endpoint.json").read_text())["ca_bundle"])
    discovery_resp = httpx.get(issuer + "/.well-known/openid-configuration", verify=ca)
    assert discovery_resp.headers["content-type"] == "application/json"
    discovery = discovery_resp.json()
    assert discovery["issuer"] == issuer and discovery["jwks_uri"] == issuer + "/keys"
    assert discovery["id_token_signing_alg_values_supported"] == ["RS256"]
    jwks_resp = httpx.get(discovery["jwks_uri"], verify=ca)
    assert jwks_resp.headers["content-type"] == "application/jwk-set+json"
    jwks = jwks_resp.json()
    keyset = KeySet.import_key_set(jwks)
    (jwk,) = jwks["keys"]
    der = load_der_public_key(keyset.keys[0].as_der(private=False)).public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert jwk["kid"] == base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    assert (jwk["kty"], jwk["alg"], jwk["use"]) == ("RSA", "RS256", "sig")

    provider = json.loads(aws(cli, "iam", "create-open-id-connect-provider", "--url", issuer,
                              "--client-id-list", "sts.amazonaws.com").stdout)["OpenIDConnectProviderArn"]
    host_path = issuer.removeprefix("https://")
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps(eksctl_trust_policy(provider, host_path, "default", "iam-test")))
    role_arn = json.loads(aws(cli, "iam", "create-role", "--role-name", "litmus-role", "--assume-role-policy-document",
                              f"file://{trust}").stdout)["Role"]["Arn"]
    aws(cli, "iam", "attach-role-policy", "--role-name", "litmus-role", "--policy-arn", S3_READ_ONLY)

    # kube-apiserver refuses a token for a ServiceAccount that does not exist
    missing = irsa("token", "create", "--cluster", "litmus-demo", "--namespace", "default", "--service-account", "iam-test",
                   "--audience", "sts.amazonaws.com", *d, env=env, check=False)
    assert missing.returncode == 1 and 'serviceaccounts "iam-test" not found' in missing.stderr
    irsa("serviceaccount", "create", "iam-test", "--cluster", "litmus-demo", *d, env=env)
    irsa("serviceaccount", "annotate", "iam-test", f"eks.amazonaws.com/role-arn={role_arn}", "--cluster", "litmus-demo", *d, env=env)
    sa = json.loads(irsa("serviceaccount", "get", "iam-test", "--cluster", "litmus-demo", "-o", "json", *d, env=env).stdout)
    assert sa["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": role_arn}

    token = irsa("token", "create", "--cluster", "litmus-demo", "--namespace", "default", "--service-account", "iam-test",
                 "--audience", "sts.amazonaws.com", "--expiration-seconds", "3600", "--pod-name", "app-1",
                 "--node-name", "node-a", *d, env=env).stdout.strip()
    claims = jwt.decode(token, keyset, algorithms=["RS256"]).claims
    assert set(claims) == {"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "kubernetes.io"}
    assert claims["iss"] == issuer and claims["sub"] == "system:serviceaccount:default:iam-test"
    assert claims["aud"] == ["sts.amazonaws.com"] and claims["exp"] - claims["iat"] == 3600 and claims["nbf"] == claims["iat"]
    k8s = claims["kubernetes.io"]
    assert k8s["namespace"] == "default"
    assert k8s["serviceaccount"] == {"name": "iam-test", "uid": sa["metadata"]["uid"]}
    assert k8s["pod"]["name"] == "app-1" and k8s["node"]["name"] == "node-a"

    token_file = write_token(tmp_path / "token", token)
    pod = {k: v for k, v in cli.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    pod.update(AWS_ROLE_ARN=role_arn, AWS_WEB_IDENTITY_TOKEN_FILE=str(token_file), AWS_ROLE_SESSION_NAME="litmus")
    ident = json.loads(aws(pod, "sts", "get-caller-identity").stdout)
    assert ident["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/litmus-role/litmus"

    irsa("serviceaccount", "create", "other", "--cluster", "litmus-demo", *d, env=env)
    write_token(token_file, irsa("token", "create", "--cluster", "litmus-demo", "--service-account", "other",
                                 "--audience", "sts.amazonaws.com", *d, env=env).stdout.strip())
    denied = aws(pod | {"AWS_ROLE_SESSION_NAME": "other"}, "sts", "get-caller-identity", check=False)
    assert denied.returncode != 0 and "AccessDenied" in denied.stderr

    # unknown names: EKS's ResourceNotFoundException; delete works
    unknown = aws(cli, "eks", "describe-cluster", "--name", "nope", check=False)
    assert "ResourceNotFoundException" in unknown.stderr and "No cluster found for name: nope." in unknown.stderr
    aws(cli, "eks", "delete-cluster", "--name", "litmus-demo")
    assert aws(cli, "eks", "list-clusters", "--query", "clusters", "--output", "text").stdout.split() == []
    assert httpx.get(issuer + "/keys", verify=ca).status_code == 404


def _sts(server):
    return boto3.client("sts", endpoint_url=server.endpoint, region_name=server.region, config=Config(signature_version=UNSIGNED))


def _setup_cluster(server, name="c1", key_type="RSA"):
    clusters = server.runtime.clusters
    cluster = clusters.create(server.account_id, name, key_type=key_type)
    issuer = cluster["identity"]["oidc"]["issuer"]
    clusters.create_service_account(server.account_id, name, "default", {"metadata": {"name": "app"}})
    iam = server.client("iam")
    provider = iam.create_open_id_connect_provider(Url=issuer, ClientIDList=["sts.amazonaws.com"])["OpenIDConnectProviderArn"]
    trust = eksctl_trust_policy(provider, issuer.removeprefix("https://"), "default", "app")
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    return issuer, role


def test_ec_cluster_and_token_bounds(server):
    issuer, role = _setup_cluster(server, "ec1", key_type="EC")
    clusters = server.runtime.clusters
    token, _ = clusters.create_token(server.account_id, "ec1", "default", "app", audiences=["sts.amazonaws.com"])
    assert _b64url_json(token.split(".")[0])["alg"] == "ES256"
    out = _sts(server).assume_role_with_web_identity(RoleArn=role, RoleSessionName="ec-pod", WebIdentityToken=token)
    assert out["SubjectFromWebIdentityToken"] == "system:serviceaccount:default:app"
    from irsa.cluster.kube import KubeError

    with pytest.raises(KubeError) as err:  # kube-apiserver: "may not specify a duration less than 10 minutes"
        clusters.create_token(server.account_id, "ec1", "default", "app", expiration_seconds=599)
    assert err.value.code == 422 and "less than 10 minutes" in err.value.message
    # longer than the configured maximum is capped, as kube-apiserver caps it
    long_token, expires = clusters.create_token(server.account_id, "ec1", "default", "app", expiration_seconds=10**7)
    claims = _b64url_json(long_token.split(".")[1])
    assert claims["exp"] - claims["iat"] == server.runtime.settings.max_token_expiration
    # no audience requested: the API audience, which defaults to the issuer
    assert _b64url_json(clusters.create_token(server.account_id, "ec1", "default", "app")[0].split(".")[1])["aud"] == [issuer]


def test_rotation_under_load(server):
    """While a loop assumes the role with fresh tokens, rotate and retire keys: nothing fails but tokens
    signed by a retired key, which get InvalidIdentityToken."""
    issuer, role = _setup_cluster(server, "rot")
    clusters = server.runtime.clusters
    account = server.account_id
    retired: set[str] = set()
    outcomes: list[tuple[str, str]] = []  # (kid, result code)
    lock = threading.Lock()
    stop = threading.Event()

    def loop():
        sts = _sts(server)
        while not stop.is_set():
            token, _ = clusters.create_token(account, "rot", "default", "app", audiences=["sts.amazonaws.com"])
            kid = _b64url_json(token.split(".")[0])["kid"]
            try:
                sts.assume_role_with_web_identity(RoleArn=role, RoleSessionName="loop", WebIdentityToken=token)
                code = "ok"
            except ClientError as exc:
                code = exc.response["Error"]["Code"]
            with lock:
                outcomes.append((kid, code))

    threads = [threading.Thread(target=loop) for _ in range(3)]
    first_kid = clusters.keys(account, "rot")[0].kid
    old_token, _ = clusters.create_token(account, "rot", "default", "app", audiences=["sts.amazonaws.com"])
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        second = clusters.rotate_keys(account, "rot")
        time.sleep(0.5)
        clusters.retire_key(account, "rot", first_kid)
        retired.add(first_kid)
        time.sleep(0.5)
        third = clusters.rotate_keys(account, "rot")
        time.sleep(0.3)
        clusters.retire_key(account, "rot", second.kid)
        retired.add(second.kid)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    kids_used = {kid for kid, _ in outcomes}
    assert {first_kid, second.kid, third.kid} <= kids_used, "the loop ran across both rotations"
    failures = [(kid, code) for kid, code in outcomes if code != "ok"]
    assert all(kid in retired and code == "InvalidIdentityToken" for kid, code in failures), failures
    assert sum(1 for _, code in outcomes if code == "ok") > 10
    # a token signed by the retired first key is refused
    with pytest.raises(ClientError) as err:
        _sts(server).assume_role_with_web_identity(RoleArn=role, RoleSessionName="old", WebIdentityToken=old_token)
    assert err.value.response["Error"]["Code"] == "InvalidIdentityToken"
    # the JWKS publishes exactly the keys not retired
    jwks = server.runtime.clusters.issuer_documents(issuer)[1]
    assert [k["kid"] for k in jwks["keys"]] == [third.kid]
    # the signing key cannot be retired
    with pytest.raises(Exception):
        clusters.retire_key(account, "rot", third.kid)


def test_eks_api_errors_and_signed_access(server):
    eks = server.client("eks")
    with pytest.raises(ClientError) as err:
        eks.describe_cluster(name="absent")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    created = eks.create_cluster(name="api", roleArn=f"arn:aws:iam::{server.account_id}:role/eks",
                                 resourcesVpcConfig={"subnetIds": ["subnet-1"]})["cluster"]
    assert created["arn"] == f"arn:aws:eks:{server.region}:{server.account_id}:cluster/api"
    assert created["status"] == "ACTIVE" and created["identity"]["oidc"]["issuer"].startswith("https://")
    with pytest.raises(ClientError) as err:
        eks.create_cluster(name="api", roleArn=f"arn:aws:iam::{server.account_id}:role/eks", resourcesVpcConfig={})
    assert err.value.response["Error"]["Code"] == "ResourceInUseException"
    assert eks.list_clusters()["clusters"] == ["api"]
    assert eks.delete_cluster(name="api")["cluster"]["status"] == "DELETING"
    assert eks.list_clusters()["clusters"] == []
    # the admin API refuses unsigned requests and role sessions
    resp = httpx.post(server.endpoint + "/irsa/v1/clusters", json={"name": "x"})
    assert resp.status_code == 401 and resp.json()["kind"] == "Status"


def test_aws_endpoint_over_tls(tmp_path):
    """With --https the AWS endpoint is TLS too, with a certificate from the local CA (AWS_CA_BUNDLE)."""
    from tests.service.server import start_server

    server = start_server(tmp_path / "tls", f"sqlite:///{tmp_path / 'tls.db'}", https=True)
    try:
        assert server.endpoint.startswith("https://")
        bundle = str(server.runtime.ca.bundle_path)
        sts = boto3.client("sts", endpoint_url=server.endpoint, region_name=server.region, verify=bundle,
                           aws_access_key_id=server.access_key_id, aws_secret_access_key=server.secret_access_key)
        assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{server.account_id}:root"
        with pytest.raises(httpx.ConnectError):  # not trusted without the local CA
            httpx.get(server.endpoint + "/healthz")
    finally:
        server.stop()
