"""Running the eksctl-style typer apps in-process (as a user would once registered) and reading irsa up's state."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import typer
from typer.testing import CliRunner, Result

from irsa.cli.eksctl import create_app, delete_app, get_app, utils_app
from tests.service.helpers import irsa

APP = typer.Typer()
APP.add_typer(utils_app, name="utils")
APP.add_typer(create_app, name="create")
APP.add_typer(get_app, name="get")
APP.add_typer(delete_app, name="delete")

ACCOUNT = "210987654321"
S3_READ_ONLY = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"


def run(env: dict[str, str | None], *args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(APP, list(args), env=env)
    assert result.exit_code == code, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}\n{result.exception!r}"
    if code:
        assert "Traceback" not in result.output
    return result


def environments(data: Path, base_env: dict[str, str], tmp: Path) -> tuple[dict[str, str], dict[str, str | None]]:
    """(env for the AWS CLI subprocess, env for in-process runs): `irsa env` exports, no AWS config files,
    no default kubeconfig."""
    exports = dict(line[len("export "):].split("=", 1) for line in irsa("env", "--data-dir", str(data), env=base_env).stdout.splitlines())
    cli = {**base_env, **exports, "AWS_CONFIG_FILE": str(tmp / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none"),
           "KUBECONFIG": str(tmp / "no-kubeconfig")}
    inproc: dict[str, str | None] = {k: cli[k] for k in exports}
    inproc.update(AWS_CONFIG_FILE=cli["AWS_CONFIG_FILE"], AWS_SHARED_CREDENTIALS_FILE=cli["AWS_SHARED_CREDENTIALS_FILE"],
                  KUBECONFIG=cli["KUBECONFIG"], AWS_PROFILE=None, AWS_SESSION_TOKEN=None, AWS_CA_BUNDLE=cli.get("AWS_CA_BUNDLE"))
    return cli, inproc


def boto(cli_env: dict[str, str], service: str):
    return boto3.client(service, endpoint_url=cli_env["AWS_ENDPOINT_URL"], region_name=cli_env["AWS_DEFAULT_REGION"],
                        aws_access_key_id=cli_env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=cli_env["AWS_SECRET_ACCESS_KEY"])


def role_names(iam) -> list[str]:
    return sorted(r["RoleName"] for r in iam.list_roles()["Roles"])


def registry_sa(data: Path, cluster: str, namespace: str, name: str) -> dict | None:
    """The ServiceAccount in irsa up's registry, read with `irsa serviceaccount get` (irsa.cli.cluster)."""
    from irsa.cli.cluster import sa_app

    result = CliRunner().invoke(sa_app, ["get", name, "--cluster", cluster, "--namespace", namespace, "-o", "json",
                                         "--data-dir", str(data)], env={"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None})
    if result.exit_code != 0:
        assert "NotFound" in result.stderr, result.stderr
        return None
    return json.loads(result.stdout)
