"""`irsa exec`: run a command exactly as a pod using a ServiceAccount would run it.

Pure core: ``podspec`` (the webhook's mutation of a minimal pod, read back), ``environment`` (scrubbed
env + injected env), ``schedule`` (the kubelet's refresh rule). Adapters: ``kubeapi`` (ServiceAccount
registry and TokenRequest of `irsa up`), ``privatedir`` (0700 dir, atomic 0600 token writes),
``refresher`` (refresh thread with an injectable clock), ``process`` (spawn, signal forwarding, wait),
``runner`` (puts them together).
"""

from irsa.podrunner.environment import (
    CREDENTIAL_VARIABLES,
    child_environment,
    is_credential_variable,
)
from irsa.podrunner.kubeapi import KubeApi, KubeApiError
from irsa.podrunner.podspec import (
    PodIdentity,
    ProjectedToken,
    generate_pod_name,
    pod_identity,
)
from irsa.podrunner.refresher import FetchedToken, ScaledClock, TokenRefresher
from irsa.podrunner.runner import (
    SETUP_FAILED,
    Endpoint,
    ExecOptions,
    RunnerError,
    run_as_pod,
)
from irsa.podrunner.schedule import refresh_at

__all__ = [
    "CREDENTIAL_VARIABLES",
    "SETUP_FAILED",
    "Endpoint",
    "ExecOptions",
    "FetchedToken",
    "KubeApi",
    "KubeApiError",
    "PodIdentity",
    "ProjectedToken",
    "RunnerError",
    "ScaledClock",
    "TokenRefresher",
    "child_environment",
    "generate_pod_name",
    "is_credential_variable",
    "pod_identity",
    "refresh_at",
    "run_as_pod",
]
