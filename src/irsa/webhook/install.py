"""Render the ``deploy/`` kustomize base for ``irsa webhook install --print``, adding a TLS Secret
and the MutatingWebhookConfiguration ``caBundle`` for a freshly generated CA.

Implements the subset of kustomize the base uses (``namespace``, ``resources``, ``labels`` on
metadata only), so no kubectl is needed; tests compare it with ``kubectl kustomize``.
"""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from irsa.webhook.certs import generate_certificates, service_hosts

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration"}
TLS_SECRET_NAME = "pod-identity-webhook-cert"


def default_deploy_dir() -> Path:
    """The kustomize base shipped in the package (``deploy/`` at the repository root links here)."""
    path = Path(__file__).resolve().parent / "deploy"
    if not (path / "kustomization.yaml").exists():
        raise ValueError(f"kustomize base not found at {path}; pass --deploy-dir")
    return path


@dataclass(frozen=True)
class InstallOptions:
    deploy_dir: Path
    namespace: str | None = None  # None: the kustomization's namespace
    image: str | None = None
    fail_closed: bool = False
    cert_days: int = 365


def render_base(deploy_dir: Path, namespace: str | None = None) -> list[dict[str, Any]]:
    """What ``kubectl kustomize deploy_dir`` prints, for the features the base uses."""
    kustomization = yaml.safe_load((deploy_dir / "kustomization.yaml").read_text())
    base_ns = kustomization.get("namespace")
    ns = namespace or base_ns
    labels: dict[str, str] = {}
    for entry in kustomization.get("labels", []):
        labels.update(entry.get("pairs", {}))
    docs: list[dict[str, Any]] = []
    for resource in kustomization.get("resources", []):
        for doc in yaml.safe_load_all((deploy_dir / resource).read_text()):
            if doc:
                docs.append(_transform(doc, ns, base_ns, labels))
    return docs


def _transform(doc: dict[str, Any], ns: str | None, base_ns: str | None, labels: dict[str, str]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    meta = doc.setdefault("metadata", {})
    meta["labels"] = {**meta.get("labels", {}), **labels}
    kind = doc.get("kind")
    if ns:
        if kind == "Namespace":
            meta["name"] = ns
        elif kind not in CLUSTER_SCOPED:
            meta["namespace"] = ns
        for subject in doc.get("subjects", []):
            if subject.get("kind") == "ServiceAccount":
                subject["namespace"] = ns
        for hook in doc.get("webhooks", []):
            service = hook.get("clientConfig", {}).get("service")
            if service is not None:
                service["namespace"] = ns
    return doc


def render_install(options: InstallOptions) -> list[dict[str, Any]]:
    docs = render_base(options.deploy_dir, options.namespace)
    ns = options.namespace or yaml.safe_load((options.deploy_dir / "kustomization.yaml").read_text()).get("namespace")
    webhook_cfg = next(d for d in docs if d["kind"] == "MutatingWebhookConfiguration")
    service = webhook_cfg["webhooks"][0]["clientConfig"]["service"]
    bundle = generate_certificates(service_hosts(service["name"], ns), days=options.cert_days)
    for doc in docs:
        if doc["kind"] == "Deployment":
            container = doc["spec"]["template"]["spec"]["containers"][0]
            if options.image:
                container["image"] = options.image
            args = [a for a in container.get("args", []) if not a.startswith("--namespace=")]
            args.append(f"--namespace={ns}")
            if options.fail_closed:
                args.append("--fail-closed")
            container["args"] = args
    for hook in webhook_cfg["webhooks"]:
        hook["clientConfig"]["caBundle"] = base64.b64encode(bundle.ca_pem).decode()
        if options.fail_closed:
            hook["failurePolicy"] = "Fail"
            hook["namespaceSelector"] = {
                "matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", ns]}
                ]
            }
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {"name": TLS_SECRET_NAME, "namespace": ns, "labels": dict(webhook_cfg["metadata"]["labels"])},
        "data": {
            "ca.crt": base64.b64encode(bundle.ca_pem).decode(),
            "tls.crt": base64.b64encode(bundle.cert_pem).decode(),
            "tls.key": base64.b64encode(bundle.key_pem).decode(),
        },
    }
    index = next(i for i, d in enumerate(docs) if d["kind"] == "Deployment")
    docs.insert(index, secret)
    return docs


