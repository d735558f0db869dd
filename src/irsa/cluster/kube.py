"""Kubernetes-shaped errors: the ``Status`` object kube-apiserver answers with."""

from __future__ import annotations

import json
from typing import Any


class KubeError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message

    def status(self) -> dict[str, Any]:
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": self.message,
                "reason": self.reason, "code": self.code}

    def body(self) -> bytes:
        return json.dumps(self.status(), separators=(",", ":")).encode()
