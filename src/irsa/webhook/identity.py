"""Where a pod's identity comes from: ServiceAccount annotations, the ``pod-identity-webhook``
ConfigMap and the container-credentials (EKS Pod Identity) file, and their precedence
(reference webhook.md §1.1, §1.4, §1.5, §1.6, §2.1). Pure: no I/O.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from irsa.webhook import constants as c
from irsa.webhook.parsing import go_parse_bool, go_parse_int64, looks_like_role_arn
from irsa.webhook.settings import WebhookSettings

log = logging.getLogger(__name__)

MAX_CONFIG_BYTES = 1024 * 1024  # a ConfigMap holds at most 1 MiB


class Mode(str, Enum):
    WEB_IDENTITY = "sts_web_identity"  # label values of upstream's pod_count metric
    CONTAINER_CREDENTIALS = "container_credentials"


@dataclass(frozen=True)
class ServiceAccount:
    """The part of a ServiceAccount the webhook keeps: its key and its annotations."""

    namespace: str
    name: str
    annotations: Mapping[str, str] = field(default_factory=dict)
    resource_version: str = ""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @classmethod
    def from_manifest(cls, obj: Any, default_namespace: str = "default") -> ServiceAccount:
        """Build from a ServiceAccount manifest (dict); ``ValueError`` if it is not one."""
        if not isinstance(obj, Mapping) or obj.get("kind") != "ServiceAccount":
            raise ValueError("not a ServiceAccount manifest")
        meta = obj.get("metadata")
        if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str) or not meta["name"]:
            raise ValueError("ServiceAccount without metadata.name")
        namespace = meta.get("namespace") or default_namespace
        annotations = meta.get("annotations") or {}
        if not isinstance(namespace, str) or not isinstance(annotations, Mapping):
            raise ValueError("ServiceAccount metadata has the wrong shape")
        clean = {str(k): v for k, v in annotations.items() if isinstance(v, str)}
        return cls(namespace, meta["name"], clean, str(meta.get("resourceVersion") or ""))

    def stripped(self, prefix: str) -> ServiceAccount:
        """Keep only ``<prefix>/`` annotations, as upstream's informer transform does (§1.1)."""
        keep = {k: v for k, v in self.annotations.items() if k.startswith(prefix + "/")}
        return ServiceAccount(self.namespace, self.name, keep, self.resource_version)


@dataclass(frozen=True)
class IdentityConfig:
    """One resolved entry: what upstream's cache stores per SA or per ConfigMap key."""

    role_arn: str
    audience: str
    regional_sts: bool
    token_expiration: int


def service_account_config(sa: ServiceAccount, settings: WebhookSettings) -> IdentityConfig:
    """Upstream ``addSA`` (§1.1): annotations with flag defaults; bad values fall back to flags."""
    ann = sa.annotations
    role_arn = ann.get(settings.annotation(c.ROLE_ARN), "")
    if role_arn and not looks_like_role_arn(role_arn):
        log.warning("service account %s: role ARN %.200r does not look like an IAM role ARN", sa.key, role_arn)
    audience = ann.get(settings.annotation(c.AUDIENCE), settings.token_audience)
    regional = settings.sts_regional_endpoint
    raw_regional = ann.get(settings.annotation(c.STS_REGIONAL_ENDPOINTS))
    if raw_regional is not None:
        parsed_bool = go_parse_bool(raw_regional)
        if parsed_bool is None:
            log.warning("service account %s: ignoring malformed %s=%.64r", sa.key, c.STS_REGIONAL_ENDPOINTS, raw_regional)
        else:
            regional = parsed_bool
    expiration = settings.token_expiration
    raw_exp = ann.get(settings.annotation(c.TOKEN_EXPIRATION))
    if raw_exp is not None:
        parsed = go_parse_int64(raw_exp)
        if parsed is None:
            log.warning("service account %s: ignoring malformed %s=%.64r", sa.key, c.TOKEN_EXPIRATION, raw_exp)
        else:
            expiration = max(parsed, c.MIN_TOKEN_EXPIRATION)
    return IdentityConfig(role_arn, audience, regional, expiration)


def _field(entry: Mapping[str, Any], name: str) -> Any:
    """Go ``encoding/json`` matches struct fields case-insensitively, preferring an exact match."""
    if name in entry:
        return entry[name]
    lowered = name.lower()
    for key, value in entry.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return None


def parse_config_map(text: str, settings: WebhookSettings) -> dict[str, IdentityConfig]:
    """The ``config`` key of the ``pod-identity-webhook`` ConfigMap (§1.4).

    Audience is not defaulted; TokenExpiration 0 (or absent) becomes --token-expiration and other
    values are not clamped. Raises ``ValueError`` for JSON of the wrong shape (Go's Unmarshal fails).
    """
    if len(text) > MAX_CONFIG_BYTES:
        raise ValueError("config map data is larger than 1 MiB")
    data = json.loads(text) if text.strip() else {}
    if not isinstance(data, dict):
        raise ValueError("config map data is not a JSON object")
    result: dict[str, IdentityConfig] = {}
    for key, entry in data.items():
        if entry is None:
            entry = {}
        if not isinstance(entry, dict):
            raise ValueError(f"config map entry {key!r} is not an object")
        role = _field(entry, "RoleARN")
        audience = _field(entry, "Audience")
        regional = _field(entry, "UseRegionalSTS")
        expiration = _field(entry, "TokenExpiration")
        if role is not None and not isinstance(role, str):
            raise ValueError(f"config map entry {key!r}: RoleARN must be a string")
        if audience is not None and not isinstance(audience, str):
            raise ValueError(f"config map entry {key!r}: Audience must be a string")
        if regional is not None and not isinstance(regional, bool):
            raise ValueError(f"config map entry {key!r}: UseRegionalSTS must be a boolean")
        if expiration is not None and (
            isinstance(expiration, bool) or not isinstance(expiration, int) or not -(2**63) <= expiration < 2**63
        ):
            raise ValueError(f"config map entry {key!r}: TokenExpiration must be an int64")
        result[key] = IdentityConfig(
            role_arn=role or "",
            audience=audience or "",
            regional_sts=bool(regional),
            token_expiration=expiration or settings.token_expiration,
        )
    return result


def parse_container_credentials(text: str) -> frozenset[tuple[str, str]]:
    """The container-credentials identities file (§1.5); empty text means no identities."""
    if len(text) > MAX_CONFIG_BYTES:
        raise ValueError("container credentials config is larger than 1 MiB")
    if not text.strip():
        return frozenset()
    data = json.loads(text)
    identities = data.get("identities") if isinstance(data, dict) else None
    if identities is None:
        identities = []
    if not isinstance(identities, list):
        raise ValueError("'identities' must be a list")
    out: set[tuple[str, str]] = set()
    for item in identities:
        if not isinstance(item, dict):
            raise ValueError("each identity must be an object")
        ns = _field(item, "namespace")
        sa = _field(item, "serviceAccount")
        if not isinstance(ns, str) or not isinstance(sa, str):
            raise ValueError("identity needs string 'namespace' and 'serviceAccount'")
        out.add((ns, sa))
    return frozenset(out)


@dataclass(frozen=True)
class IdentityDecision:
    """The mode for one pod and the entry whose values apply (before pod annotations and jitter)."""

    mode: Mode | None
    config: IdentityConfig | None
    reason: str = ""  # why there is no mode


def decide_identity(
    namespace: str,
    sa_name: str,
    settings: WebhookSettings,
    *,
    service_account: ServiceAccount | None,
    config_map: Mapping[str, IdentityConfig] | None = None,
    container_credentials: Set[tuple[str, str]] = frozenset(),
) -> IdentityDecision:
    """Precedence of §1.6 / §2.1: container-credentials file > SA role-arn > ConfigMap > none."""
    cm = config_map or {}
    sa_cfg = service_account_config(service_account, settings) if service_account is not None else None
    if (namespace, sa_name) in container_credentials:
        # GetCommonConfigurations: SA cache, else ConfigMap exact key (no '*'), else (false, 86400).
        # Decision: webhook.md §1.6 summarises the fallback as "--sts-regional-endpoint" /
        # "--token-expiration"; §2.1 describes the code, whose last resort is the literal
        # (false, 86400). We follow §2.1 (the code). The SA-cache value itself carries the flags.
        common = sa_cfg or cm.get(f"{namespace}/{sa_name}")
        if common is None:
            common = IdentityConfig("", settings.container_credentials_audience, False, c.DEFAULT_TOKEN_EXPIRATION)
        return IdentityDecision(
            Mode.CONTAINER_CREDENTIALS,
            IdentityConfig("", settings.container_credentials_audience, common.regional_sts, common.token_expiration),
        )
    if sa_cfg is not None and sa_cfg.role_arn:
        return IdentityDecision(Mode.WEB_IDENTITY, sa_cfg)
    entry = cm.get(f"{namespace}/{sa_name}") or cm.get(f"*/{sa_name}")
    if entry is not None and entry.role_arn:
        return IdentityDecision(Mode.WEB_IDENTITY, entry)
    if service_account is None and entry is None:
        return IdentityDecision(None, None, "service-account-not-found")
    return IdentityDecision(None, None, "no-role")
