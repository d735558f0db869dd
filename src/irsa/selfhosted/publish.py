"""The static issuer folder: discovery document + JWKS, ready for S3 or any static HTTPS host.

Layout (reference issuer-cli-and-doctor.md §1.4 A, as SELF_HOSTED_SETUP.md uploads it)::

    <out>/.well-known/openid-configuration   issuer, jwks_uri=<issuer>/keys.json, shape A (EKS/guide superset)
    <out>/keys.json                          {"keys": [...]} with every given key (multi-key, the azwi model)

``<out>`` maps to the issuer URL's path: upload it so that ``<issuer>/.well-known/openid-configuration`` and
``<issuer>/keys.json`` are served anonymously over HTTPS.

Writing is all-or-nothing: both files are built in a hidden staging folder inside ``<out>`` (so the final
renames stay on one file system), then moved into place JWKS first (so the discovery document never points
at a JWKS that lacks its keys); if any step fails, files already replaced are restored from the previous
versions, a folder this call created is removed, and the error is raised.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from irsa.oidc.documents import (
    DISCOVERY_CONTENT_TYPE,
    JWKS_CONTENT_TYPE,
    discovery_document,
    jwks_document,
    serialize,
)
from irsa.oidc.keys import PublicKey, SigningKey
from irsa.selfhosted.issuer_url import (
    DISCOVERY_FILE,
    JWKS_FILE,
    check_issuer_url,
    jwks_uri_for,
    s3_location,
)

DEFAULT_MAX_AGE_SECONDS = 3600  # = irsa.oidc.documents.CACHE_CONTROL (kube's own max-age); tested to agree
STAGING_PREFIX = ".irsa-publish-"


class PublishError(Exception):
    """The folder could not be written; nothing was changed. The message says what and where."""


@dataclass(frozen=True)
class IssuerFile:
    """One object of the static issuer: its path relative to the issuer, body and the headers to serve."""

    relative_path: str
    body: bytes
    content_type: str
    cache_control: str


def cache_control(max_age_seconds: int) -> str:
    if max_age_seconds < 0:
        raise ValueError("max-age must be >= 0")
    return f"public, max-age={max_age_seconds}"


def issuer_files(
    issuer: str, keys: Sequence[SigningKey | PublicKey], *, max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS
) -> list[IssuerFile]:
    """The two objects of a static issuer, JWKS first. Raises ``IssuerUrlError``/``ValueError``."""
    check_issuer_url(issuer)
    if not keys:
        raise ValueError("at least one public key is needed")
    jwks = jwks_document(keys)
    discovery = discovery_document(issuer, jwks_uri_for(issuer), keys, extended=True)
    headers = cache_control(max_age_seconds)
    return [
        IssuerFile(JWKS_FILE, _pretty(jwks), JWKS_CONTENT_TYPE, headers),
        IssuerFile(DISCOVERY_FILE, _pretty(discovery), DISCOVERY_CONTENT_TYPE, headers),
    ]


def _pretty(document: dict) -> bytes:
    # compact like kube serves it (irsa.oidc.documents.serialize) plus a final newline for `cat`
    return serialize(document) + b"\n"


def write_issuer_folder(out: str | os.PathLike[str], files: Sequence[IssuerFile]) -> list[Path]:
    """Write ``files`` under ``out`` all-or-nothing (see the module doc); returns the written paths."""
    root = Path(out)
    created_root = False
    try:
        if root.exists() and not root.is_dir():
            raise PublishError(f"{root} exists and is not a folder")
        if not root.exists():
            root.mkdir(parents=True)
            created_root = True
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root))
    except PublishError:
        raise
    except OSError as exc:
        raise PublishError(f"cannot write to {root}: {exc.strerror or exc}") from None
    try:
        try:
            for f in files:
                target = staging / "new" / f.relative_path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(f.body)
                os.chmod(target, 0o644)
            return _install(staging, root, [f.relative_path for f in files])
        except OSError as exc:
            if created_root:
                shutil.rmtree(root, ignore_errors=True)
            raise PublishError(f"cannot write to {root}: {exc.strerror or exc}; nothing was changed") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _install(staging: Path, root: Path, relative_paths: Sequence[str]) -> list[Path]:
    """Move staged files into ``root``; on failure put back exactly what was there before."""
    undo: list[tuple[Path, Path | None]] = []  # (target, backup of the previous file or None)
    created_dirs: list[Path] = []
    try:
        for i, rel in enumerate(relative_paths):
            target = root / rel
            parent = target.parent
            if not parent.exists():
                parent.mkdir(parents=True)
                created_dirs.append(parent)
            backup: Path | None = None
            if target.exists():
                backup = staging / f"old-{i}"
                os.replace(target, backup)
            undo.append((target, backup))
            os.replace(staging / "new" / rel, target)
    except OSError:
        for target, backup in reversed(undo):
            try:
                if backup is not None:
                    os.replace(backup, target)
                elif target.exists():
                    target.unlink()
            except OSError:
                pass
        for d in reversed(created_dirs):
            try:
                d.rmdir()
            except OSError:
                pass
        raise
    return [root / rel for rel in relative_paths]


def upload_instructions(issuer: str, out: str | os.PathLike[str], files: Sequence[IssuerFile]) -> list[str]:
    """Human-readable lines: the headers to serve, and ``aws s3 cp`` commands with them."""
    lines = [f"serve these at {issuer.rstrip('/')}/<path>, anonymously over HTTPS, with these headers:"]
    for f in files:
        lines.append(f"  {f.relative_path}: Content-Type: {f.content_type}; Cache-Control: {f.cache_control}")
    location = s3_location(issuer)
    if location is not None and location.bucket:
        lines.append(f"S3 ({location.style}-style bucket {location.bucket!r}):")
        dest = location
    else:
        lines.append("S3 behind CloudFront or another static host (use your bucket and key prefix):")
        dest = None
    for f in files:
        s3_uri = dest.uri(f.relative_path) if dest is not None else f"s3://BUCKET/{f.relative_path}"
        lines.append(
            f"  aws s3 cp {Path(out) / f.relative_path} {s3_uri} "
            f"--content-type {f.content_type} --cache-control '{f.cache_control}'"
        )
    lines.append(
        "the objects must be publicly readable (a bucket policy granting s3:GetObject on them, or CloudFront with "
        "the managed CachingDisabled policy); `aws s3 cp` would otherwise store openid-configuration (no suffix) "
        "as binary/octet-stream"
    )
    lines.append(
        "caches (max-age, CDN, STS's own key cache) keep serving the previous keys.json: after publishing a new key, "
        "wait at least the max-age before signing with it"
    )
    return lines
