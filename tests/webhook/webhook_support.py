"""Shared builders and oracles for the webhook tests (expected values come from
shared/docs/reference/webhook.md, never from the code under test)."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import kubernetes_validate

from irsa.webhook.identity import IdentityConfig, ServiceAccount
from irsa.webhook.mutation import MutationResult, mutate_pod
from irsa.webhook.settings import WebhookSettings

K8S_VERSION = "1.32"
ROLE = "arn:aws:iam::111122223333:role/s3-reader"
WI_MOUNT_PATH = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
WI_TOKEN_FILE = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"
WI_MOUNT = {"name": "aws-iam-token", "readOnly": True, "mountPath": WI_MOUNT_PATH}
CC_MOUNT_PATH = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount"
CC_TOKEN_FILE = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"
CC_URI = "http://169.254.170.23/v1/credentials"
KUBE_API_VOLUME = {
    "name": "kube-api-access-abcde",
    "projected": {"sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}]},
}
KUBE_API_MOUNT = {"name": "kube-api-access-abcde", "readOnly": True, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
_UNSET: Any = object()


def env(name: str, value: str) -> dict[str, str]:
    return {"name": name, "value": value}


def wi_env(role: str = ROLE, token_file: str = WI_TOKEN_FILE) -> list[dict[str, str]]:
    return [env("AWS_ROLE_ARN", role), env("AWS_WEB_IDENTITY_TOKEN_FILE", token_file)]


def make_pod(
    containers: list[dict[str, Any]] | None = None,
    *,
    init: list[dict[str, Any]] | None = None,
    volumes: Any = _UNSET,
    sa: str | None = "app",
    annotations: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    node_selector: dict[str, str] | None = None,
    security_context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A pod as it reaches mutating admission: generateName, no name, no namespace, SA volume added."""
    spec: dict[str, Any] = {
        "containers": containers if containers is not None else [{"name": "app", "image": "x", "volumeMounts": [dict(KUBE_API_MOUNT)]}]
    }
    if sa is not None:
        spec["serviceAccountName"] = sa
    if init is not None:
        spec["initContainers"] = init
    if volumes is _UNSET:
        spec["volumes"] = [copy.deepcopy(KUBE_API_VOLUME)]
    elif volumes is not None:
        spec["volumes"] = volumes
    if node_selector is not None:
        spec["nodeSelector"] = node_selector
    if security_context is not None:
        spec["securityContext"] = security_context
    meta: dict[str, Any] = {"generateName": "app-"}
    if annotations is not None:
        meta["annotations"] = annotations
    if labels is not None:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def make_sa(annotations: dict[str, str] | None = None, name: str = "app", namespace: str = "default") -> ServiceAccount:
    return ServiceAccount(namespace, name, annotations or {})


def role_sa(**extra: str) -> ServiceAccount:
    ann = {"eks.amazonaws.com/role-arn": ROLE}
    ann.update({f"eks.amazonaws.com/{k.replace('_', '-')}": v for k, v in extra.items()})
    return make_sa(ann)


def no_jitter(lo: int, hi: int) -> int:
    raise AssertionError("jitter must not be used here")


def mutate(
    pod: dict[str, Any],
    sa: ServiceAccount | None = None,
    *,
    namespace: str = "default",
    settings: WebhookSettings | None = None,
    config_map: dict[str, IdentityConfig] | None = None,
    cc: frozenset[tuple[str, str]] = frozenset(),
    jitter: Any = no_jitter,
    validate: bool = True,
) -> MutationResult:
    """Run the mutation, then check it with the oracles: jsonpatch applies our patch to the input to
    give exactly the returned pod, the input is untouched, and the pod validates as a Kubernetes Pod."""
    before = copy.deepcopy(pod)
    result = mutate_pod(
        pod,
        namespace,
        settings or WebhookSettings(),
        service_account=sa,
        config_map=config_map,
        container_credentials=cc,
        jitter=jitter,
    )
    assert pod == before, "the input pod must not be modified"
    applied = jsonpatch.apply_patch(pod, result.patch)
    assert applied == result.pod
    if validate:
        kubernetes_validate.validate(result.pod, K8S_VERSION, strict=True)
    return result


def container(result: MutationResult, index: int = 0, kind: str = "containers") -> dict[str, Any]:
    return result.pod["spec"][kind][index]


def normalise(obj: Any) -> Any:
    """§5: drop null values and empty ``resources: {}`` before comparing pods."""
    if isinstance(obj, dict):
        return {k: normalise(v) for k, v in obj.items() if v is not None and not (k == "resources" and v == {})}
    if isinstance(obj, list):
        return [normalise(v) for v in obj]
    return obj
