"""`irsa up`, `irsa env` and `irsa account create` as a user runs them: real processes, real AWS CLI."""

from __future__ import annotations

import json
import os
import shlex
import stat

from tests.service.helpers import aws, irsa, irsa_up_process


def _exports(text: str) -> dict[str, str]:
    result = {}
    for line in text.splitlines():
        assert line.startswith("export ")
        key, _, value = line[len("export "):].partition("=")
        result[key] = shlex.split(value)[0]
    return result


def test_up_env_and_the_aws_cli(irsa_up, tmp_path):
    port, _, data, env = irsa_up
    exports = _exports(irsa("env", "--data-dir", str(data), env=env).stdout)
    assert exports["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{port}"
    assert exports["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert exports["AWS_ACCESS_KEY_ID"].startswith("AKIA") and len(exports["AWS_SECRET_ACCESS_KEY"]) == 40
    cli_env = {**env, **exports, "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    ident = json.loads(aws(cli_env, "sts", "get-caller-identity").stdout)
    assert ident == {"UserId": "210987654321", "Account": "210987654321", "Arn": "arn:aws:iam::210987654321:root"}
    for name in ("admin-credentials.json", "endpoint.json"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600

    # a second account, with its own admin credentials
    created = json.loads(irsa("account", "create", "444455556666", "--data-dir", str(data), env=env).stdout)
    b_env = {**cli_env, "AWS_ACCESS_KEY_ID": created["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": created["SecretAccessKey"]}
    assert json.loads(aws(b_env, "sts", "get-caller-identity").stdout)["Account"] == "444455556666"
    again = irsa("account", "create", "444455556666", "--data-dir", str(data), env=env, check=False)
    assert again.returncode == 1 and "EntityAlreadyExists" in again.stderr


def test_admin_credentials_from_the_environment(tmp_path):
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IRSA_"))}
    env.update(IRSA_ADMIN_ACCESS_KEY_ID="AKIAEXAMPLEEXAMPLE00", IRSA_ADMIN_SECRET_ACCESS_KEY="e" * 40)
    with irsa_up_process(data, env) as info:
        exports = _exports(irsa("env", "--data-dir", str(data), env=env).stdout)
        assert exports["AWS_ACCESS_KEY_ID"] == "AKIAEXAMPLEEXAMPLE00"
        cli_env = {**env, **exports, "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
        assert json.loads(aws(cli_env, "sts", "get-caller-identity").stdout)["Account"] == "123456789012"
    assert "AKIAEXAMPLEEXAMPLE00" in info["output"]  # the access key id is printed, never the secret
    assert "e" * 40 not in info["output"]


def test_env_without_a_server(tmp_path):
    proc = irsa("env", "--data-dir", str(tmp_path / "nothing"), check=False)
    assert proc.returncode == 1 and "irsa up" in proc.stderr


def test_worker_processes_share_the_ports_and_the_state(tmp_path, issuer):
    """`irsa up --workers 2`: both processes answer on the same port from the same database."""
    from tests.service.helpers import S3_READ_ONLY, eksctl_trust_policy, write_token

    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IRSA_"))}
    with irsa_up_process(data, env, "--workers", "2") as info:
        exports = _exports(irsa("env", "--data-dir", str(data), env=env).stdout)
        cli = {**env, **exports, "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
        provider = json.loads(aws(cli, "iam", "create-open-id-connect-provider", "--url", issuer.issuer, "--client-id-list",
                                  "sts.amazonaws.com", "--thumbprint-list", issuer.thumbprint).stdout)["OpenIDConnectProviderArn"]
        trust = tmp_path / "trust.json"
        trust.write_text(json.dumps(eksctl_trust_policy(provider, issuer.issuer.removeprefix("https://"), "default", "app")))
        role = json.loads(aws(cli, "iam", "create-role", "--role-name", "shared", "--assume-role-policy-document",
                              f"file://{trust}").stdout)["Role"]["Arn"]
        aws(cli, "iam", "attach-role-policy", "--role-name", "shared", "--policy-arn", S3_READ_ONLY)
        token = write_token(tmp_path / "token", issuer.mint(sub="system:serviceaccount:default:app", aud=["sts.amazonaws.com"]))
        pod = {k: v for k, v in cli.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        pod.update(AWS_ROLE_ARN=role, AWS_WEB_IDENTITY_TOKEN_FILE=str(token))
        # new connections are spread over the workers; sessions sealed by one are accepted by the other
        for _ in range(6):
            assert json.loads(aws(pod, "sts", "get-caller-identity").stdout)["Arn"].startswith(
                "arn:aws:sts::123456789012:assumed-role/shared/")
    assert info["returncode"] == 0, info["output"]
    assert "irsa: 2 worker processes" in info["output"], info["output"]
    assert "Traceback" not in info["output"], info["output"]
