"""Process-wide webhook settings: the values of the command-line flags (§3.1)."""

from __future__ import annotations

from dataclasses import dataclass

from irsa.webhook import constants as c


@dataclass(frozen=True)
class WebhookSettings:
    """Everything the pure mutation needs besides the pod and its identity sources.

    ``token_expiration`` is clamped to >= 600 on construction, as upstream does at startup.
    """

    annotation_prefix: str = c.DEFAULT_ANNOTATION_PREFIX
    token_audience: str = c.DEFAULT_TOKEN_AUDIENCE
    token_mount_path: str = c.DEFAULT_TOKEN_MOUNT_PATH
    token_expiration: int = c.DEFAULT_TOKEN_EXPIRATION
    aws_default_region: str = ""
    sts_regional_endpoint: bool = False
    container_credentials_audience: str = c.DEFAULT_CC_AUDIENCE
    container_credentials_token_mount_path: str = c.DEFAULT_CC_MOUNT_PATH
    container_credentials_token_volume_name: str = c.DEFAULT_CC_VOLUME_NAME
    container_credentials_token_path: str = c.DEFAULT_CC_TOKEN_PATH
    container_credentials_full_uri: str = c.DEFAULT_CC_FULL_URI
    # Beyond upstream, off by default:
    fs_group: int | None = None  # set pod fsGroup to this when a non-root runAsUser is set and fsGroup is not
    pod_region_annotation: bool = False  # honour "<prefix>/region" on the pod

    def __post_init__(self) -> None:
        if self.token_expiration < c.MIN_TOKEN_EXPIRATION:
            object.__setattr__(self, "token_expiration", c.MIN_TOKEN_EXPIRATION)
        if self.fs_group is not None and self.fs_group < 0:
            raise ValueError("fs_group must be >= 0")

    def annotation(self, suffix: str) -> str:
        """The full annotation key ``<prefix>/<suffix>``."""
        return f"{self.annotation_prefix}/{suffix}"
