"""Adapter: the ServiceAccount registry and TokenRequest endpoint of `irsa up` (``/irsa/v1/clusters/...``),
signed with SigV4 (service "irsa") by an account's admin credentials. Errors raise ``KubeApiError`` with
the Kubernetes ``Status`` reason and message."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from irsa.podrunner.refresher import FetchedToken

MAX_RESPONSE_BYTES = 1024 * 1024


class KubeApiError(Exception):
    def __init__(self, reason: str, message: str, status: int = 0) -> None:
        super().__init__(f"{reason}: {message}" if message else reason)
        self.reason = reason
        self.message = message
        self.status = status


@dataclass(frozen=True)
class ObjectRef:
    name: str
    uid: str | None = None

    def json(self) -> dict[str, str]:
        return {"name": self.name, **({"uid": self.uid} if self.uid else {})}


class KubeApi:
    def __init__(self, endpoint: str, region: str, access_key_id: str, secret_access_key: str,
                 ca_bundle: str | None = None, timeout: float = 10.0) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.region = region
        self._credentials = Credentials(access_key_id, secret_access_key)
        self._verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
        self._timeout = timeout

    @staticmethod
    def service_account_path(cluster: str, namespace: str, name: str) -> str:
        parts = [quote(p, safe="") for p in (cluster, namespace, name)]
        return f"/irsa/v1/clusters/{parts[0]}/api/v1/namespaces/{parts[1]}/serviceaccounts/{parts[2]}"

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = b"" if body is None else json.dumps(body).encode()
        signed = AWSRequest(method=method, url=self.endpoint + path, data=data, headers={"Content-Type": "application/json"})
        SigV4Auth(self._credentials, "irsa", self.region).add_auth(signed)
        try:
            response = httpx.request(method, signed.url, content=data, headers=dict(signed.headers.items()),
                                     verify=self._verify, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise KubeApiError("Unreachable", f"cannot reach {self.endpoint}: {exc}") from None
        if len(response.content) > MAX_RESPONSE_BYTES:
            raise KubeApiError("BadResponse", f"response of {len(response.content)} bytes is too large", response.status_code)
        try:
            doc = response.json()
        except ValueError:
            doc = {"message": response.text.strip()[:500]}
        if response.status_code >= 400:
            reason = doc.get("reason") if isinstance(doc, dict) else None
            message = doc.get("message") if isinstance(doc, dict) else None
            raise KubeApiError(str(reason or response.status_code), str(message or ""), response.status_code)
        return doc

    def get_service_account(self, cluster: str, namespace: str, name: str) -> dict[str, Any]:
        doc = self.request("GET", self.service_account_path(cluster, namespace, name))
        if not isinstance(doc, dict):
            raise KubeApiError("BadResponse", "ServiceAccount is not a JSON object")
        return doc

    def create_token(self, cluster: str, namespace: str, name: str, *, audience: str, expiration_seconds: int,
                     pod: ObjectRef, node: ObjectRef | None = None,
                     wall_clock: Callable[[], float] = time.time) -> FetchedToken:
        """A pod-bound TokenRequest, as the kubelet makes it for a projected volume."""
        spec: dict[str, Any] = {
            "audiences": [audience],
            "expirationSeconds": expiration_seconds,
            "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", **pod.json()},
        }
        if node is not None:
            spec["node"] = node.json()
        started = wall_clock()
        doc = self.request("POST", self.service_account_path(cluster, namespace, name) + "/token",
                           {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec})
        try:
            token = doc["status"]["token"]
            expires = datetime.strptime(doc["status"]["expirationTimestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        except (KeyError, TypeError, ValueError):
            raise KubeApiError("BadResponse", "TokenRequest response without status.token/expirationTimestamp") from None
        if not isinstance(token, str) or not token.isascii() or not token:
            raise KubeApiError("BadResponse", "status.token is not a token")
        return FetchedToken(token, max(0.0, expires.timestamp() - started))
