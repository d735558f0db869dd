"""The private directory that stands in for the pod's projected volume, and the atomic token write.

Layout (directories 0700, files 0600 and owned by us: since Kubernetes 1.19 the kubelet writes a projected
token 0600 owned by the containers' runAsUser when they share one, webhook.md §6.2 item 9):

    <root>/                     mkdtemp
    <root>/<volume>/<path>      the token, e.g. aws-iam-token/token; replaced atomically on refresh
    <root>/aws-config           empty: AWS_CONFIG_FILE (no profiles, no credential_process, no SSO)
    <root>/aws-credentials      empty: AWS_SHARED_CREDENTIALS_FILE
    <root>/boto.cfg             empty: BOTO_CONFIG (botocore's legacy boto2 credential file)
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from irsa.files import write_private_file
from irsa.podrunner.podspec import ProjectedToken

DIR_MODE = 0o700
FILE_MODE = 0o600
PREFIX = "irsa-exec-"


@dataclass(frozen=True)
class PrivateLayout:
    root: Path
    volume_dir: Path | None
    token_file: Path | None
    config_file: Path
    credentials_file: Path
    boto_config: Path


def layout(root: Path, token: ProjectedToken | None) -> PrivateLayout:
    """Where each file goes (pure)."""
    volume_dir = root / token.volume_name if token else None
    return PrivateLayout(
        root=root,
        volume_dir=volume_dir,
        token_file=volume_dir / token.path if volume_dir is not None and token is not None else None,
        config_file=root / "aws-config",
        credentials_file=root / "aws-credentials",
        boto_config=root / "boto.cfg",
    )


def _create_private_file(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # independent of the umask
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def create_private_dir(token: ProjectedToken | None, parent: Path | None = None) -> PrivateLayout:
    """Make the directory tree with the empty config files; the token is written by ``write_token``."""
    root = Path(tempfile.mkdtemp(prefix=PREFIX, dir=parent))  # mkdtemp: 0700, owner only
    try:
        os.chmod(root, DIR_MODE)
        out = layout(root, token)
        for empty in (out.config_file, out.credentials_file, out.boto_config):
            _create_private_file(empty, b"")
        if out.volume_dir is not None:
            out.volume_dir.mkdir(mode=DIR_MODE)
            os.chmod(out.volume_dir, DIR_MODE)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return out


def write_token(path: Path, token: str) -> None:
    """Write ``token`` to ``path`` atomically, 0600: a reader sees the old token or the new one, never a
    partial file."""
    write_private_file(path, token.encode("ascii"))



def remove_private_dir(out: PrivateLayout) -> None:
    shutil.rmtree(out.root, ignore_errors=True)
