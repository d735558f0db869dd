"""The pod identity mutating webhook: a drop-in replacement for aws/amazon-eks-pod-identity-webhook.

Pure core: ``mutation.mutate_pod`` (pod + namespace + identity sources + settings -> JSON Patch)
and ``admission`` (AdmissionReview v1/v1beta1). Adapters: ``registry`` (cache + live lookup),
``files`` and ``kube`` (identity sources), ``app`` (ASGI), ``server`` (uvicorn/TLS wiring),
``certs``, ``install`` (deploy/ rendering), ``metrics``.
"""

from irsa.webhook.admission import AdmissionRequest, BadReview, admit, decode_review
from irsa.webhook.identity import (
    IdentityConfig,
    Mode,
    ServiceAccount,
    parse_config_map,
    parse_container_credentials,
)
from irsa.webhook.mutation import MalformedPod, MutationResult, mutate_pod
from irsa.webhook.settings import WebhookSettings

__all__ = [
    "AdmissionRequest",
    "BadReview",
    "IdentityConfig",
    "MalformedPod",
    "Mode",
    "MutationResult",
    "ServiceAccount",
    "WebhookSettings",
    "admit",
    "decode_review",
    "mutate_pod",
    "parse_config_map",
    "parse_container_credentials",
]
