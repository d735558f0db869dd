"""`irsa up`, `irsa env` and `irsa account create` as a user runs them: real processes, real AWS CLI."""

from __future__ import annotations

import json
import os
import shlex
import signal
import stat
import subprocess
import sys
import time

import httpx
import pytest

from tests.service.helpers import aws, irsa
from tests.service.server import free_port


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
    port = free_port()
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IRSA_"))}
    env.update(IRSA_ADMIN_ACCESS_KEY_ID="AKIAEXAMPLEEXAMPLE00", IRSA_ADMIN_SECRET_ACCESS_KEY="e" * 40)
    proc = subprocess.Popen([sys.executable, "-m", "irsa.cli.main", "up", "--port", str(port), "--data-dir", str(data)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = time.time() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.time() < deadline and proc.poll() is None
            time.sleep(0.1)
        exports = _exports(irsa("env", "--data-dir", str(data), env=env).stdout)
        assert exports["AWS_ACCESS_KEY_ID"] == "AKIAEXAMPLEEXAMPLE00"
        cli_env = {**env, **exports, "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
        assert json.loads(aws(cli_env, "sts", "get-caller-identity").stdout)["Account"] == "123456789012"
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert "AKIAEXAMPLEEXAMPLE00" in out  # the access key id is printed, never the secret
    assert "e" * 40 not in out


def test_env_without_a_server(tmp_path):
    proc = irsa("env", "--data-dir", str(tmp_path / "nothing"), check=False)
    assert proc.returncode == 1 and "irsa up" in proc.stderr
