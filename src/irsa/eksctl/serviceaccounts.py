"""Where ServiceAccounts live: ``irsa up``'s registry (its admin API) or a real cluster (kubeconfig, lightkube).

Both targets speak in Kubernetes ServiceAccount objects (dicts) and raise ``EksctlError`` with the API's
message on failure.
"""

from __future__ import annotations

import json
import os
import ssl
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from irsa.cli.client import Target
from irsa.eksctl.naming import EksctlError


class ServiceAccounts(Protocol):
    description: str

    def get(self, namespace: str, name: str) -> dict[str, Any] | None: ...
    def list(self, namespace: str | None) -> list[dict[str, Any]]: ...
    def ensure_namespace(self, namespace: str) -> bool: ...          # True when it had to be created
    def delete_namespace(self, namespace: str) -> None: ...
    def create(self, obj: dict[str, Any]) -> dict[str, Any]: ...
    def update(self, namespace: str, name: str, labels: dict[str, str], annotations: dict[str, str]) -> str | None: ...
    def delete(self, namespace: str, name: str) -> bool: ...         # False when it was not there


class _Status(Exception):
    def __init__(self, code: int, doc: dict[str, Any]) -> None:
        super().__init__(doc.get("message", ""))
        self.code = code
        self.doc = doc


class LocalRegistry:
    """The ServiceAccount registry of a cluster served by ``irsa up`` (``/irsa/v1/clusters/<c>/api/v1/...``)."""

    def __init__(self, target: Target, cluster: str) -> None:
        self.target = target
        self.cluster = cluster
        self.description = f"the ServiceAccount registry of `irsa up` at {target.endpoint} (cluster {cluster})"

    def _request(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        t = self.target
        data = b"" if body is None else json.dumps(body).encode()
        url = f"{t.endpoint}/irsa/v1/clusters/{quote(self.cluster, safe='')}{path}"
        request = AWSRequest(method=method, url=url, data=data, headers={"Content-Type": "application/json"})
        SigV4Auth(Credentials(t.access_key_id, t.secret_access_key), "irsa", t.region).add_auth(request)
        verify: Any = ssl.create_default_context(cafile=t.ca_bundle) if t.ca_bundle else True
        try:
            response = httpx.request(method, url, content=data, headers=dict(request.headers.items()), verify=verify, timeout=30)
        except httpx.HTTPError as exc:
            raise EksctlError(f"cannot reach {t.endpoint}: {exc}") from None
        try:
            doc = response.json()
        except ValueError:
            doc = {"message": response.text.strip()[:200]}
        if not isinstance(doc, dict):
            doc = {"message": str(doc)[:200]}
        if response.status_code >= 400:
            raise _Status(response.status_code, doc)
        return doc

    def _sa(self, namespace: str, name: str | None = None) -> str:
        base = f"/api/v1/namespaces/{quote(namespace, safe='')}/serviceaccounts"
        return base if name is None else f"{base}/{quote(name, safe='')}"

    def _fail(self, what: str, exc: _Status) -> EksctlError:
        return EksctlError(f"{what}: {exc.doc.get('reason', exc.code)}: {exc.doc.get('message', '')}")

    def serves_cluster(self) -> bool:
        """Whether this endpoint is an ``irsa up`` that has the cluster (a Kubernetes answer, not some 404)."""
        try:
            doc = self._request("GET", "/api/v1/namespaces/default/serviceaccounts")
        except EksctlError:
            return False
        except _Status:
            return False
        return doc.get("kind") == "ServiceAccountList"

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return self._request("GET", self._sa(namespace, name))
        except _Status as exc:
            if exc.code == 404:
                return None
            raise self._fail(f"reading serviceaccount {namespace}/{name}", exc) from None

    def list(self, namespace: str | None) -> list[dict[str, Any]]:
        path = "/api/v1/serviceaccounts" if namespace is None else self._sa(namespace)
        try:
            return list(self._request("GET", path).get("items") or [])
        except _Status as exc:
            raise self._fail("listing serviceaccounts", exc) from None

    def ensure_namespace(self, namespace: str) -> bool:
        return False  # namespaces are implicit in the local registry

    def delete_namespace(self, namespace: str) -> None:
        return None

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        md = obj["metadata"]
        try:
            return self._request("POST", self._sa(md["namespace"]), obj)
        except _Status as exc:
            raise self._fail(f"creating serviceaccount {md['namespace']}/{md['name']}", exc) from None

    def update(self, namespace: str, name: str, labels: dict[str, str], annotations: dict[str, str]) -> str | None:
        """Labels and annotations are merged into the existing ones (as a merge patch would)."""
        existing = self.get(namespace, name)
        if existing is None:
            raise EksctlError(f"serviceaccount {namespace}/{name} disappeared while being updated")
        metadata = existing.get("metadata") or {}
        changes = {k: v for k, v in annotations.items() if (metadata.get("annotations") or {}).get(k) != v}
        label_changes = {k: v for k, v in labels.items() if (metadata.get("labels") or {}).get(k) != v}
        if changes or label_changes:
            try:
                self._request("POST", self._sa(namespace, name) + "/annotate",
                              {"annotations": changes, "labels": label_changes, "remove": [], "overwrite": True})
            except _Status as exc:
                raise self._fail(f"updating serviceaccount {namespace}/{name}", exc) from None
        return None

    def delete(self, namespace: str, name: str) -> bool:
        try:
            self._request("DELETE", self._sa(namespace, name))
            return True
        except _Status as exc:
            if exc.code == 404:
                return False
            raise self._fail(f"deleting serviceaccount {namespace}/{name}", exc) from None


class KubeCluster:
    """A real Kubernetes API, reached through a kubeconfig file (lightkube)."""

    def __init__(self, kubeconfig: Path, context: str | None = None) -> None:
        from lightkube import Client
        from lightkube.config.kubeconfig import KubeConfig

        try:
            config = KubeConfig.from_file(str(kubeconfig)).get(context_name=context)
            self.client = Client(config=config, field_manager="irsa")
        except Exception as exc:  # noqa: BLE001 - lightkube raises several types for unusable configs
            raise EksctlError(f"cannot use kubeconfig {kubeconfig}: {exc}") from None
        self.description = f"the cluster of kubeconfig {kubeconfig}"

    def _call(self, what: str, fn: Any, *args: Any, missing_ok: bool = False, **kw: Any) -> Any:
        import httpx2
        from lightkube import ApiError

        try:
            return fn(*args, **kw)
        except ApiError as exc:
            if missing_ok and exc.status.code == 404:
                return None
            raise EksctlError(f"{what}: {exc.status.reason or exc.status.code}: {exc.status.message}") from None
        except httpx2.HTTPError as exc:
            raise EksctlError(f"{what}: cannot reach the Kubernetes API: {exc}") from None

    @staticmethod
    def _dict(obj: Any) -> dict[str, Any]:
        return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        from lightkube.resources.core_v1 import ServiceAccount

        obj = self._call(f"reading serviceaccount {namespace}/{name}", self.client.get, ServiceAccount, name, namespace=namespace, missing_ok=True)
        return None if obj is None else self._dict(obj)

    def list(self, namespace: str | None) -> list[dict[str, Any]]:
        from lightkube.resources.core_v1 import ServiceAccount

        items = self._call("listing serviceaccounts", lambda: list(self.client.list(ServiceAccount, namespace=namespace or "*")))
        return [self._dict(i) for i in items]

    def ensure_namespace(self, namespace: str) -> bool:
        from lightkube.models.meta_v1 import ObjectMeta
        from lightkube.resources.core_v1 import Namespace

        if self._call(f"reading namespace {namespace}", self.client.get, Namespace, namespace, missing_ok=True) is not None:
            return False
        self._call(f"creating namespace {namespace}", self.client.create, Namespace(metadata=ObjectMeta(name=namespace)))
        return True

    def delete_namespace(self, namespace: str) -> None:
        from lightkube.resources.core_v1 import Namespace

        self._call(f"deleting namespace {namespace}", self.client.delete, Namespace, namespace, missing_ok=True)

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        from lightkube.resources.core_v1 import ServiceAccount

        md = obj["metadata"]
        created = self._call(f"creating serviceaccount {md['namespace']}/{md['name']}", self.client.create,
                             ServiceAccount.from_dict(obj), namespace=md["namespace"])
        return self._dict(created)

    def update(self, namespace: str, name: str, labels: dict[str, str], annotations: dict[str, str]) -> str | None:
        from lightkube.resources.core_v1 import ServiceAccount
        from lightkube.types import PatchType

        self._call(f"updating serviceaccount {namespace}/{name}", self.client.patch, ServiceAccount, name,
                   {"metadata": {"labels": labels, "annotations": annotations}}, namespace=namespace, patch_type=PatchType.MERGE)
        return None

    def delete(self, namespace: str, name: str) -> bool:
        from lightkube.resources.core_v1 import ServiceAccount

        if self.get(namespace, name) is None:
            return False
        self._call(f"deleting serviceaccount {namespace}/{name}", self.client.delete, ServiceAccount, name, namespace=namespace)
        return True


def default_kubeconfig() -> Path | None:
    """``$KUBECONFIG`` (first entry) or ``~/.kube/config``, when the file exists."""
    env = os.environ.get("KUBECONFIG")
    candidates = [Path(p) for p in env.split(os.pathsep) if p] if env else [Path.home() / ".kube" / "config"]
    return next((p for p in candidates if p.is_file()), None)
