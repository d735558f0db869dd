"""Shared steps of the IRSA walkthrough, as a user performs them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

S3_READ_ONLY = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"


def aws(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """The real AWS CLI (awscli from PyPI) as a subprocess."""
    proc = subprocess.run([sys.executable, "-m", "awscli", *args], env=env, capture_output=True, text=True, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc


def provider_host_path(issuer_url: str) -> str:
    return issuer_url.removeprefix("https://")


def eksctl_trust_policy(provider_arn: str, host_path: str, namespace: str, service_account: str,
                        audience: str = "sts.amazonaws.com") -> dict:
    """The trust policy `eksctl create iamserviceaccount` generates (reference: issuer-cli-and-doctor.md §3.3)."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{host_path}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                f"{host_path}:aud": audience,
            }},
        }],
    }


def setup_role(iam, issuer, role_name: str = "s3-reader", namespace: str = "default", service_account: str = "iam-test",
               policy_arns: tuple[str, ...] = (S3_READ_ONLY,), trust: dict | None = None, **role_kwargs) -> tuple[str, str]:
    """Provider (pinned thumbprint) + role with the eksctl trust policy + attachments; returns (role ARN, provider ARN)."""
    existing = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    host_path = provider_host_path(issuer.issuer)
    provider_arn = next((a for a in existing if a.endswith(":oidc-provider/" + host_path)), None)
    if provider_arn is None:
        provider_arn = iam.create_open_id_connect_provider(
            Url=issuer.issuer, ClientIDList=["sts.amazonaws.com"], ThumbprintList=[issuer.thumbprint],
        )["OpenIDConnectProviderArn"]
    document = trust or eksctl_trust_policy(provider_arn, host_path, namespace, service_account)
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(document), **role_kwargs)["Role"]
    for arn in policy_arns:
        iam.attach_role_policy(RoleName=role_name, PolicyArn=arn)
    return role["Arn"], provider_arn


def write_token(path: Path, token: str) -> Path:
    path.write_text(token)
    return path


def irsa(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """The `irsa` command as a subprocess."""
    import os

    proc = subprocess.run([sys.executable, "-m", "irsa.cli.main", *args], capture_output=True, text=True, timeout=60,
                          env=env or os.environ.copy())
    if check and proc.returncode != 0:
        raise AssertionError(f"irsa {' '.join(args)}: {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@contextmanager
def irsa_up_process(data_dir: Path, env: dict[str, str], *args: str) -> Iterator[dict]:
    """`irsa up` as a separate process on free ports; yields {"port", "issuer_port"} and, after it has
    stopped (SIGINT), adds "output" and "returncode"."""
    import httpx

    from tests.service.server import free_port

    info: dict = {"port": free_port(), "issuer_port": free_port()}
    proc = subprocess.Popen([sys.executable, "-m", "irsa.cli.main", "up", "--port", str(info["port"]),
                             "--issuer-port", str(info["issuer_port"]), "--data-dir", str(data_dir), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = time.time() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{info['port']}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                raise AssertionError(f"irsa up did not become healthy: {proc.stdout.read()}")
            time.sleep(0.1)
        yield info
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        info["output"], _ = proc.communicate(timeout=20)
        info["returncode"] = proc.returncode
