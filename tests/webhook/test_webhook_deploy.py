"""deploy/ kustomize base and `irsa webhook install --print` (validated with kubernetes-validate)."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from cryptography import x509
from typer.testing import CliRunner

from irsa.cli.webhook import app
from irsa.webhook.install import default_deploy_dir, render_base

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = "1.32"
needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")


def kustomize(path: Path) -> list[dict]:
    out = subprocess.run(["kubectl", "kustomize", str(path)], capture_output=True, text=True, check=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def by_kind(docs: list[dict]) -> dict[str, dict]:
    return {d["kind"]: d for d in docs}


@needs_kubectl
def test_kustomize_renders_valid_objects():
    docs = kustomize(DEPLOY)
    for doc in docs:
        kubernetes_validate.validate(doc, K8S, strict=True)
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == sorted(
        ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment", "Service", "PodDisruptionBudget", "MutatingWebhookConfiguration"]
    )
    objs = by_kind(docs)
    hook = objs["MutatingWebhookConfiguration"]["webhooks"][0]
    assert hook["failurePolicy"] == "Ignore" and hook["sideEffects"] == "None"
    assert hook["objectSelector"] == {"matchExpressions": [{"key": "eks.amazonaws.com/skip-pod-identity-webhook", "operator": "DoesNotExist"}]}
    assert hook["rules"][0]["operations"] == ["CREATE"] and hook["rules"][0]["resources"] == ["pods"]
    assert hook["clientConfig"]["service"]["path"] == "/mutate"
    assert "v1" in hook["admissionReviewVersions"]
    sa_rule = objs["ClusterRole"]["rules"][0]
    assert sa_rule["resources"] == ["serviceaccounts"] and sorted(sa_rule["verbs"]) == ["get", "list", "watch"]
    cm_rule = objs["Role"]["rules"][0]
    assert cm_rule["resources"] == ["configmaps"] and cm_rule["resourceNames"] == ["pod-identity-webhook"]
    assert objs["PodDisruptionBudget"]["spec"]["minAvailable"] == 1
    # the webhook's own pods opt out, so an outage cannot block its own restart
    assert objs["Deployment"]["spec"]["template"]["metadata"]["labels"]["eks.amazonaws.com/skip-pod-identity-webhook"] == "true"


@needs_kubectl
def test_python_renderer_matches_kubectl_kustomize():
    key = lambda d: (d["kind"], d["metadata"]["name"])  # noqa: E731
    assert sorted(render_base(DEPLOY), key=key) == sorted(kustomize(DEPLOY), key=key)



def test_renderer_moves_every_namespace_reference():
    # (a kustomize overlay with another namespace leaves RoleBinding subjects and the webhook's
    # service namespace at the base's value; the install renderer must move all of them)
    docs = render_base(DEPLOY, "other")
    for doc in docs:
        kubernetes_validate.validate(doc, K8S, strict=True)
        if doc["kind"] == "Namespace":
            assert doc["metadata"]["name"] == "other"
        elif doc["kind"] not in ("ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration"):
            assert doc["metadata"]["namespace"] == "other"
        for subject in doc.get("subjects", []):
            assert subject["namespace"] == "other"
        for hook in doc.get("webhooks", []):
            assert hook["clientConfig"]["service"]["namespace"] == "other"


def test_install_print_renders_valid_objects_with_ca_bundle():
    assert default_deploy_dir() == DEPLOY.resolve()  # deploy/ links to the packaged base
    result = CliRunner().invoke(app, ["install", "--print", "--namespace", "idp", "--image", "example.org/irsa:1"])
    assert result.exit_code == 0, result.output
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    for doc in docs:
        kubernetes_validate.validate(doc, K8S, strict=True)
    objs = by_kind(docs)
    hook = objs["MutatingWebhookConfiguration"]["webhooks"][0]
    ca = x509.load_pem_x509_certificate(base64.b64decode(hook["clientConfig"]["caBundle"]))
    secret = objs["Secret"]
    assert secret["type"] == "kubernetes.io/tls" and secret["metadata"]["namespace"] == "idp"
    leaf = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    leaf.verify_directly_issued_by(ca)
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert "pod-identity-webhook.idp.svc" in names
    assert hook["clientConfig"]["service"]["namespace"] == "idp"
    container = objs["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "example.org/irsa:1" and "--namespace=idp" in container["args"]
    assert hook["failurePolicy"] == "Ignore"


def test_install_fail_closed_uses_fail_with_namespace_selector():
    result = CliRunner().invoke(app, ["install", "--print", "--fail-closed"])
    assert result.exit_code == 0, result.output
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    for doc in docs:
        kubernetes_validate.validate(doc, K8S, strict=True)
    objs = by_kind(docs)
    hook = objs["MutatingWebhookConfiguration"]["webhooks"][0]
    assert hook["failurePolicy"] == "Fail"
    assert hook["namespaceSelector"]["matchExpressions"][0]["values"] == ["kube-system", "irsa-system"]
    assert "--fail-closed" in objs["Deployment"]["spec"]["template"]["spec"]["containers"][0]["args"]


def test_install_without_print_is_refused():
    result = CliRunner().invoke(app, ["install"])
    assert result.exit_code == 2 and "--print" in result.output
