"""The child's environment and the private directory (no server)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from irsa.podrunner.environment import (
    child_environment,
    is_credential_variable,
    rewrite_mount_path,
)
from irsa.podrunner.podspec import pod_identity
from irsa.podrunner.privatedir import (
    create_private_dir,
    remove_private_dir,
    write_token,
)
from irsa.webhook import ServiceAccount, WebhookSettings

ROLE = "arn:aws:iam::111122223333:role/s3-reader"

PARENT = {
    "PATH": "/usr/bin", "HOME": "/home/u", "AWS_MAX_ATTEMPTS": "5", "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "t",
    "AWS_SECURITY_TOKEN": "t", "AWS_PROFILE": "prod", "AWS_DEFAULT_PROFILE": "prod",
    "AWS_SHARED_CREDENTIALS_FILE": "/home/u/.aws/credentials", "AWS_CONFIG_FILE": "/home/u/.aws/config",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/creds", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/x", "AWS_EC2_METADATA_DISABLED": "false",
    "AWS_ROLE_ARN": "arn:aws:iam::1:role/other", "AWS_WEB_IDENTITY_TOKEN_FILE": "/other/token",
    "AWS_ROLE_SESSION_NAME": "me", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true", "BOTO_CONFIG": "/etc/boto.cfg",
    "AWS_ACCESS_KEY": "AKIA2", "AWS_SECRET_KEY": "s2",
}


def test_role_sa_environment(tmp_path):
    sa = ServiceAccount("default", "app", {"eks.amazonaws.com/role-arn": ROLE})
    ident = pod_identity(sa, "app-abcde", WebhookSettings(aws_default_region="eu-west-1"))
    files = create_private_dir(ident.token, parent=tmp_path)
    env = child_environment(PARENT, ident, files, endpoint="http://127.0.0.1:4577", ca_bundle=None)
    assert env["PATH"] == "/usr/bin" and env["HOME"] == "/home/u" and env["AWS_MAX_ATTEMPTS"] == "5"
    for gone in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_ROLE_SESSION_NAME", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
                 "AWS_ACCESS_KEY", "AWS_SECRET_KEY"):
        assert gone not in env, gone
    assert env["AWS_EC2_METADATA_DISABLED"] == "true"
    assert env["AWS_CONFIG_FILE"] == str(files.config_file) and env["AWS_SHARED_CREDENTIALS_FILE"] == str(files.credentials_file)
    assert env["BOTO_CONFIG"] == str(files.boto_config)
    for empty in (files.config_file, files.credentials_file, files.boto_config):
        assert empty.read_bytes() == b""
    assert env["AWS_ROLE_ARN"] == ROLE  # the webhook's, not the parent's
    assert env["AWS_WEB_IDENTITY_TOKEN_FILE"] == str(files.root / "aws-iam-token" / "token")
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"  # injected values win
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4577" and "AWS_CA_BUNDLE" not in env
    remove_private_dir(files)
    assert not files.root.exists()


def test_no_role_environment_and_https(tmp_path):
    ident = pod_identity(ServiceAccount("default", "plain"), "plain-abcde", WebhookSettings(aws_default_region="eu-west-1"))
    files = create_private_dir(ident.token, parent=tmp_path)
    env = child_environment(PARENT, ident, files, endpoint="https://127.0.0.1:4577", ca_bundle="/data/ca/root.pem")
    assert "AWS_ROLE_ARN" not in env and "AWS_WEB_IDENTITY_TOKEN_FILE" not in env
    assert not any(is_credential_variable(k) for k in env if k not in (
        "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "BOTO_CONFIG", "AWS_EC2_METADATA_DISABLED"))
    assert env["AWS_REGION"] == "us-east-1"  # not mutated: the parent's non-credential settings stay
    assert env["AWS_CA_BUNDLE"] == "/data/ca/root.pem" and env["AWS_ENDPOINT_URL"] == "https://127.0.0.1:4577"
    assert files.volume_dir is None and files.token_file is None
    remove_private_dir(files)


def test_rewrite_mount_path():
    vol = Path("/tmp/x/aws-iam-token")
    mount = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
    assert rewrite_mount_path(mount + "/token", mount, vol) == "/tmp/x/aws-iam-token/token"
    assert rewrite_mount_path(mount + "/token", mount + "/", vol) == "/tmp/x/aws-iam-token/token"
    assert rewrite_mount_path(mount, mount, vol) == "/tmp/x/aws-iam-token"
    assert rewrite_mount_path(mount + "x/token", mount, vol) == mount + "x/token"  # not under the mount
    assert rewrite_mount_path("regional", mount, vol) == "regional"


def test_private_dir_modes_and_atomic_write(tmp_path):
    ident = pod_identity(ServiceAccount("default", "app", {"eks.amazonaws.com/role-arn": ROLE}), "p", WebhookSettings())
    old_umask = os.umask(0)  # modes must not depend on the umask
    try:
        files = create_private_dir(ident.token, parent=tmp_path)
        assert files.token_file is not None and files.volume_dir is not None
        write_token(files.token_file, "first")
        inode = files.token_file.stat().st_ino
        write_token(files.token_file, "second")
    finally:
        os.umask(old_umask)
    assert files.token_file.read_text() == "second"
    assert files.token_file.stat().st_ino != inode  # replaced (rename), not rewritten in place
    for d in (files.root, files.volume_dir):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700
    for f in (files.token_file, files.config_file, files.credentials_file, files.boto_config):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert sorted(p.name for p in files.volume_dir.iterdir()) == ["token"]  # no temp files left
    remove_private_dir(files)
    assert not files.root.exists()
