"""Writing files atomically; secret files are 0600 from the start (never chmod-after a write)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
PUBLIC_FILE_MODE = 0o644


def _write_atomic(path: str | os.PathLike[str], data: bytes, mode: int) -> Path:
    """The bytes go to a fresh sibling file, opened ``O_CREAT | O_EXCL`` with ``mode`` (set exactly, whatever
    the umask), flushed to disk, then renamed over ``path``: a reader sees the old file or the new one."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(tmp, flags, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return target


def write_private_file(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write a secret (keys, credentials, tokens) atomically with mode 0600."""
    return _write_atomic(path, data, PRIVATE_FILE_MODE)


def write_public_file(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write a non-secret file (certificates, public keys) atomically with mode 0644."""
    return _write_atomic(path, data, PUBLIC_FILE_MODE)
