"""The eksctl workflow end to end against `irsa up`, checked with the real AWS CLI.

Expected values: issuer-cli-and-doctor.md §3.1 (plan mode, idempotence, client ID, thumbprint = SHA-1 of
the last certificate the issuer presents), §3.3 (trust policy), §3.2 (SA label and annotation), §3.5 (get
table columns); the assumed-role ARN format from the STS docs."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from typer.testing import CliRunner

from irsa.cli.cluster import sa_app
from tests.eksctl.helpers import (
    ACCOUNT,
    S3_READ_ONLY,
    boto,
    environments,
    registry_sa,
    role_names,
    run,
)
from tests.service.helpers import aws, irsa, write_token


def _presented_last_certificate_sha1(port: int) -> str:
    """Independent of our code: the chain as `openssl s_client -showcerts` prints it, last certificate, SHA-1 of its DER."""
    out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-showcerts"], input="", capture_output=True,
                         text=True, timeout=30, check=False).stdout
    pems = re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", out, re.DOTALL)
    assert len(pems) == 2, out  # leaf + intermediate
    return hashlib.sha1(x509.load_pem_x509_certificate(pems[-1].encode()).public_bytes(Encoding.DER)).hexdigest()


def test_associate_create_token_get_delete(irsa_up, tmp_path):
    _port, issuer_port, data, env = irsa_up
    d = ["--data-dir", str(data)]
    issuer = irsa("cluster", "create", "demo", *d, env=env).stdout.strip()
    host_path = issuer.removeprefix("https://")
    provider_arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{host_path}"
    cli, inproc = environments(data, env, tmp_path)
    iam = boto(cli, "iam")

    # --- associate: plan mode (through the `irsa up` fallback: no AWS_* in the environment), then approve, then again
    no_aws = {k: None for k in inproc} | {"KUBECONFIG": inproc["KUBECONFIG"]}
    plan = run(no_aws, "utils", "associate-iam-oidc-provider", "--cluster", "demo", *d)
    assert "(plan) would create IAM Open ID Connect provider" in plan.stderr and "--approve" in plan.stderr
    assert json.loads(aws(cli, "iam", "list-open-id-connect-providers").stdout)["OpenIDConnectProviderList"] == []
    created = run(inproc, "utils", "associate-iam-oidc-provider", "--cluster", "demo", "--approve", *d)
    assert provider_arn in created.stderr
    provider = json.loads(aws(cli, "iam", "get-open-id-connect-provider", "--open-id-connect-provider-arn", provider_arn).stdout)
    assert provider["Url"] == host_path and provider["ClientIDList"] == ["sts.amazonaws.com"]
    expected = _presented_last_certificate_sha1(issuer_port)
    intermediate = x509.load_pem_x509_certificate((data / "ca" / "intermediate.pem").read_bytes()).public_bytes(Encoding.DER)
    assert expected == hashlib.sha1(intermediate).hexdigest()
    assert provider["ThumbprintList"] == [expected]
    again = run(inproc, "utils", "associate-iam-oidc-provider", "--cluster", "demo", "--approve", *d)
    assert "already associated" in again.stderr
    assert [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]] == [provider_arn]

    # --- create iamserviceaccount: the plan changes nothing
    args = ["create", "iamserviceaccount", "--cluster", "demo", "--namespace", "backend", "--name", "s3-reader",
            "--attach-policy-arn", S3_READ_ONLY, "--tags", "team=data,env=dev", *d]
    plan = run(inproc, *args)
    assert "(plan) would create IAM role" in plan.stderr and "system:serviceaccount:backend:s3-reader" in plan.stderr
    assert role_names(iam) == [] and registry_sa(data, "demo", "backend", "s3-reader") is None
    run(inproc, *args, "--approve")
    (role,) = iam.list_roles()["Roles"]
    assert re.fullmatch(r"eksctl-demo-addon-iamserviceaccount-backend-[a-z0-9-]*Role1-[A-Z0-9]{13}", role["RoleName"])
    got = json.loads(aws(cli, "iam", "get-role", "--role-name", role["RoleName"]).stdout)["Role"]
    assert got["AssumeRolePolicyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRoleWithWebIdentity"], "Principal": {"Federated": provider_arn},
                       "Condition": {"StringEquals": {f"{host_path}:aud": "sts.amazonaws.com",
                                                      f"{host_path}:sub": "system:serviceaccount:backend:s3-reader"}}}],
    }
    tags = {t["Key"]: t["Value"] for t in got["Tags"]}
    assert tags["team"] == "data" and tags["env"] == "dev"
    assert tags["alpha.eksctl.io/iamserviceaccount-name"] == "backend/s3-reader" and tags["alpha.eksctl.io/cluster-name"] == "demo"
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]] == [S3_READ_ONLY]
    sa = registry_sa(data, "demo", "backend", "s3-reader")
    assert sa["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": role["Arn"]}
    assert sa["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "eksctl"}

    # a second run is a no-op (nothing duplicated)
    rerun = run(inproc, *args, "--approve")
    assert "already exists (created by irsa)" in rerun.stderr and len(role_names(iam)) == 1
    # the SA deleted behind our back: a re-run recreates it with the same role (eksctl prints "no tasks", #4941)
    removed = CliRunner().invoke(sa_app, ["delete", "s3-reader", "--cluster", "demo", "--namespace", "backend", *d],
                                 env={"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None})
    assert removed.exit_code == 0 and registry_sa(data, "demo", "backend", "s3-reader") is None
    run(inproc, *args, "--approve")
    assert registry_sa(data, "demo", "backend", "s3-reader")["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": role["Arn"]}
    assert len(role_names(iam)) == 1

    # --- the SA's token gets the role's credentials, with nothing but the web-identity variables
    token = irsa("token", "create", "--cluster", "demo", "--namespace", "backend", "--service-account", "s3-reader",
                 "--audience", "sts.amazonaws.com", *d, env=env).stdout.strip()
    pod = {k: v for k, v in cli.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    pod.update(AWS_ROLE_ARN=role["Arn"], AWS_WEB_IDENTITY_TOKEN_FILE=str(write_token(tmp_path / "token", token)),
               AWS_ROLE_SESSION_NAME="pod-1")
    ident = json.loads(aws(pod, "sts", "get-caller-identity").stdout)
    assert ident["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role['RoleName']}/pod-1"

    # --- get: eksctl's table
    table = run(inproc, "get", "iamserviceaccount", "--cluster", "demo", *d).stdout.splitlines()
    assert table[0].split() == ["NAMESPACE", "NAME", "ROLE", "ARN"]
    assert table[1].split() == ["backend", "s3-reader", role["Arn"]] and len(table) == 2
    assert json.loads(run(inproc, "get", "iamserviceaccount", "--cluster", "demo", "--namespace", "other", "-o", "json", *d).stdout) == []

    # --- delete: plan, then approve; nothing is left behind
    run(inproc, "delete", "iamserviceaccount", "--cluster", "demo", "--namespace", "backend", "--name", "s3-reader", *d)
    assert role_names(iam) == [role["RoleName"]] and registry_sa(data, "demo", "backend", "s3-reader") is not None
    run(inproc, "delete", "iamserviceaccount", "--cluster", "demo", "--namespace", "backend", "--name", "s3-reader", "--approve", *d)
    assert json.loads(aws(cli, "iam", "list-roles").stdout)["Roles"] == []
    assert registry_sa(data, "demo", "backend", "s3-reader") is None
    gone = run(inproc, "delete", "iamserviceaccount", "--cluster", "demo", "--namespace", "backend", "--name", "s3-reader",
               "--approve", *d, code=1)
    assert "not found" in gone.stderr
    assert "no iamserviceaccounts found" in run(inproc, "get", "iamserviceaccount", "--cluster", "demo", *d).stderr
