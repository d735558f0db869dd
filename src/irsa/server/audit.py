"""The audit log: one JSON line per IAM/STS call, never a secret or a full token."""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


# json.dumps with these options builds a new encoder on every call; one shared encoder gives the same text
_JSON = json.JSONEncoder(separators=(",", ":"), default=str)


def _now_text() -> str:
    """The current UTC time as ``strftime("%Y-%m-%dT%H:%M:%S.%fZ")`` writes it (formatted directly: cheaper)."""
    t = datetime.now(timezone.utc)
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}.{t.microsecond:06d}Z"


class AuditLog:
    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._fh = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._fh = os.fdopen(fd, "a", encoding="utf-8", buffering=1)

    def record(self, **fields: Any) -> None:
        if self._fh is None:
            return
        entry = {"time": _now_text(), **fields}
        line = _JSON.encode(entry)
        with self._lock:
            self._fh.write(line + "\n")

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None
