"""The child's environment: the parent's, minus every AWS credential source, plus what the webhook injected.

A container in a pod has no AWS credentials except those the webhook injects (webhook.md §2.5): no
access keys in the environment, no profiles or shared files, no instance metadata. Pure: no I/O.

Decisions:
- Non-credential AWS settings of the parent (``AWS_MAX_ATTEMPTS``, ``AWS_RETRY_MODE``, ``AWS_PAGER``,
  ``AWS_DEFAULT_OUTPUT``, ...) are kept; so are ``AWS_REGION``/``AWS_DEFAULT_REGION``/
  ``AWS_STS_REGIONAL_ENDPOINTS`` unless the webhook injects them, in which case the injected values win
  (in the pod spec they are the container's only env).
- ``AWS_ENDPOINT_URL`` always points at our server (``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` is dropped
  so that it takes effect); ``AWS_CA_BUNDLE`` is set to our CA when the endpoint is https.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from irsa.podrunner.podspec import PodIdentity
from irsa.podrunner.privatedir import PrivateLayout

# Variables through which an SDK finds credentials or a place to get them from (botocore's chain:
# env, assume-role/web-identity from env or profile, SSO, process, shared files, boto2 config, container,
# instance metadata), plus the legacy names other SDKs still read.
CREDENTIAL_VARIABLES = frozenset({
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_ACCESS_KEY",  # AWS SDK for Java v1, boto2
    "AWS_SECRET_KEY",  # AWS SDK for Java v1, boto2
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_SESSION_NAME",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "BOTO_CONFIG",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
})
CREDENTIAL_PREFIXES = (
    "AWS_CONTAINER_CREDENTIALS_",  # _RELATIVE_URI, _FULL_URI (ECS / EKS Pod Identity agent)
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",  # and _FILE
    "AWS_BEARER_TOKEN_",  # service bearer tokens (e.g. AWS_BEARER_TOKEN_BEDROCK)
)

ENV_ENDPOINT_URL = "AWS_ENDPOINT_URL"
ENV_CA_BUNDLE = "AWS_CA_BUNDLE"


def is_credential_variable(name: str) -> bool:
    return name in CREDENTIAL_VARIABLES or name.startswith(CREDENTIAL_PREFIXES)


def rewrite_mount_path(value: str, mount_path: str, volume_dir: Path) -> str:
    """A path under the container's mountPath, moved to the directory that holds the volume here."""
    mount = mount_path.rstrip("/") or "/"
    if value == mount:
        return str(volume_dir)
    prefix = mount if mount.endswith("/") else mount + "/"
    if value.startswith(prefix):
        return str(volume_dir / value[len(prefix):])
    return value


def child_environment(
    parent: Mapping[str, str],
    identity: PodIdentity,
    files: PrivateLayout,
    *,
    endpoint: str,
    ca_bundle: str | None,
) -> dict[str, str]:
    """The environment of the command: scrubbed parent + injected env (token path rewritten)."""
    env = {k: v for k, v in parent.items() if not is_credential_variable(k)}
    env["AWS_CONFIG_FILE"] = str(files.config_file)
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(files.credentials_file)
    env["BOTO_CONFIG"] = str(files.boto_config)
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env[ENV_ENDPOINT_URL] = endpoint
    if ca_bundle:
        env[ENV_CA_BUNDLE] = ca_bundle
    for name, value in identity.env:
        if identity.token is not None and files.volume_dir is not None:
            value = rewrite_mount_path(value, identity.token.mount_path, files.volume_dir)
        env[name] = value
    return env
