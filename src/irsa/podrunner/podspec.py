"""What a pod using a ServiceAccount gets from the pod identity webhook, computed by the webhook's own code.

Pure: a minimal Pod (one container, the SA, optional token-expiration annotation) goes through
``irsa.webhook.mutate_pod``; the result is read back as the container's injected env and the
projected ``serviceAccountToken`` volume (reference webhook.md §2.2, §2.3). No I/O.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from irsa.oidc.tokens import MIN_EXPIRATION_SECONDS
from irsa.webhook import Mode, ServiceAccount, WebhookSettings, mutate_pod
from irsa.webhook import constants as wc

CONTAINER_NAME = "app"

# Kubernetes' generateName suffix: 5 characters from an alphabet without vowels and look-alikes
# (apimachinery util/rand.String), appended to the base; the base is cut to 63 - 5 characters.
NAME_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
NAME_SUFFIX_LENGTH = 5
MAX_GENERATED_BASE = 63 - NAME_SUFFIX_LENGTH
MAX_POD_NAME = 253  # a DNS-1123 subdomain


class PodSpecError(ValueError):
    """The pod cannot be built (bad name, bad expiration)."""


@dataclass(frozen=True)
class ProjectedToken:
    """The ``serviceAccountToken`` source of the injected projected volume, and where it is mounted."""

    volume_name: str
    audience: str
    expiration_seconds: int
    path: str  # file name inside the volume
    mount_path: str  # the container's mountPath of the volume


@dataclass(frozen=True)
class PodIdentity:
    """The AWS-relevant part of the mutated pod: injected env in order, and the token volume (None when the
    webhook did not mutate the pod, e.g. an SA without ``eks.amazonaws.com/role-arn``)."""

    pod_name: str
    namespace: str
    service_account: str
    env: tuple[tuple[str, str], ...]
    token: ProjectedToken | None
    mode: Mode | None
    skip_reason: str = ""


def is_dns_subdomain(name: str) -> bool:
    """Kubernetes' DNS-1123 subdomain rule (object names such as pods), checked character by character."""
    if not 0 < len(name) <= MAX_POD_NAME:
        return False
    for label in name.split("."):
        if not label or label[0] == "-" or label[-1] == "-":
            return False
        if any(not (ch.isascii() and (ch.islower() or ch.isdigit() or ch == "-")) for ch in label):
            return False
    return True


def generate_pod_name(service_account: str, rng: random.Random | None = None) -> str:
    """``<sa>-<5 random chars>``, as ``metadata.generateName: <sa>-`` would give."""
    pick = (rng or random.SystemRandom()).choice
    base = f"{service_account}-"[:MAX_GENERATED_BASE]
    return base + "".join(pick(NAME_SUFFIX_ALPHABET) for _ in range(NAME_SUFFIX_LENGTH))


def minimal_pod(namespace: str, service_account: str, pod_name: str, token_expiration: int | None = None) -> dict[str, Any]:
    """One container, no env, the SA; ``token_expiration`` becomes the pod annotation
    ``eks.amazonaws.com/token-expiration`` (the webhook's per-pod override, §1.2)."""
    metadata: dict[str, Any] = {"name": pod_name, "namespace": namespace}
    if token_expiration is not None:
        metadata["annotations"] = {f"{wc.DEFAULT_ANNOTATION_PREFIX}/{wc.TOKEN_EXPIRATION}": str(token_expiration)}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {"serviceAccountName": service_account, "containers": [{"name": CONTAINER_NAME, "image": "local"}]},
    }


def _env_pairs(container: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for item in container.get("env") or []:
        if isinstance(item, Mapping) and isinstance(item.get("name"), str) and isinstance(item.get("value"), str):
            out.append((item["name"], item["value"]))
    return tuple(out)


def _token_volume(spec: Mapping[str, Any], container: Mapping[str, Any]) -> ProjectedToken | None:
    mounts = {m.get("name"): m.get("mountPath") for m in container.get("volumeMounts") or [] if isinstance(m, Mapping)}
    for volume in spec.get("volumes") or []:
        sources: Sequence[Any] = ((volume.get("projected") or {}).get("sources")) or []
        for source in sources:
            sat = source.get("serviceAccountToken") if isinstance(source, Mapping) else None
            if isinstance(sat, Mapping) and volume.get("name") in mounts:
                return ProjectedToken(
                    volume_name=volume["name"],
                    audience=sat["audience"],
                    expiration_seconds=int(sat["expirationSeconds"]),
                    path=sat["path"],
                    mount_path=mounts[volume["name"]],
                )
    return None


def pod_identity(
    service_account: ServiceAccount,
    pod_name: str,
    settings: WebhookSettings,
    *,
    token_expiration: int | None = None,
) -> PodIdentity:
    """Mutate a minimal pod for ``service_account`` with the webhook's rules and read back what it injected."""
    if not is_dns_subdomain(pod_name):
        raise PodSpecError(f"pod name {pod_name[:80]!r} is not a valid DNS-1123 subdomain (lowercase letters, digits, '-', '.')")
    if token_expiration is not None and token_expiration < MIN_EXPIRATION_SECONDS:
        # kube-apiserver rejects it; the webhook would silently raise it to 600, we say so instead
        raise PodSpecError(f"token expiration {token_expiration} is less than {MIN_EXPIRATION_SECONDS} seconds (10 minutes)")
    namespace, name = service_account.namespace, service_account.name
    pod = minimal_pod(namespace, name, pod_name, token_expiration)
    result = mutate_pod(pod, namespace, settings, service_account=service_account)
    if result.mode is None:
        return PodIdentity(pod_name, namespace, name, (), None, None, result.skip_reason)
    mutated = result.pod
    container = mutated["spec"]["containers"][0]
    return PodIdentity(
        pod_name, namespace, name, _env_pairs(container), _token_volume(mutated["spec"], container), result.mode
    )
