"""The pod mutation: pod + namespace + identity sources + settings -> JSON Patch and mutated pod.

Pure (no I/O); randomness (container-credentials jitter) is injected. Behaviour follows
shared/docs/reference/webhook.md §2. Patches are additive (per-field ``add`` ops) instead of
upstream's whole-array replacement: applying them yields the same pod as upstream's patch minus
Go serialisation artefacts (``resources: {}``, ``null`` fields), and unknown fields survive.
"""

from __future__ import annotations

import copy
import logging
import random
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass, field
from typing import Any

from irsa.webhook import constants as c
from irsa.webhook.identity import IdentityConfig, Mode, ServiceAccount, decide_identity
from irsa.webhook.parsing import (
    go_csv_first_record,
    go_parse_int64,
    go_path_join,
    is_region,
    windows_path,
)
from irsa.webhook.settings import WebhookSettings

log = logging.getLogger(__name__)

Jitter = Callable[[int, int], int]
"""``jitter(lo, hi)`` returns a uniform integer in [lo, hi] (like ``random.randint``)."""


class MalformedPod(ValueError):
    """The admitted object does not have the shape of a Pod where the mutation needs to read it."""


@dataclass
class MutationResult:
    mode: Mode | None
    patch: list[dict[str, Any]]
    original: Mapping[str, Any]
    skip_reason: str = ""  # set when mode is None
    notes: list[str] = field(default_factory=list)  # ignored/malformed inputs, for logs and warnings
    token_expiration: int | None = None
    audience: str | None = None

    @property
    def pod(self) -> dict[str, Any]:
        """The mutated pod (a new object; computed on demand, the admission path only needs the patch)."""
        return apply_add_ops(dict(self.original), self.patch)


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def apply_add_ops(doc: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply our own ``add`` ops (RFC 6902 semantics) to a deep copy of ``doc``."""
    out = copy.deepcopy(doc)
    for op in ops:
        if op["op"] != "add":
            raise ValueError(f"unsupported op {op['op']!r}")
        tokens = [_unescape(t) for t in op["path"].split("/")[1:]]
        target: Any = out
        for token in tokens[:-1]:
            target = target[int(token)] if isinstance(target, list) else target[token]
        last = tokens[-1]
        value = copy.deepcopy(op["value"])
        if isinstance(target, list):
            if last == "-":
                target.append(value)
            else:
                target.insert(int(last), value)
        else:
            target[last] = value
    return out


def _as_map(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MalformedPod(f"{where} must be an object")
    return value


def _as_list(value: Any, where: str) -> list[Any] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise MalformedPod(f"{where} must be a list")
    return value


def is_windows_pod(spec: Mapping[str, Any]) -> bool:
    """§2.2: nodeSelector kubernetes.io/os or beta.kubernetes.io/os == "windows" (exact)."""
    selector = _as_map(spec.get("nodeSelector"), "spec.nodeSelector")
    return any(selector.get(key) == c.WINDOWS_OS for key in c.WINDOWS_NODE_SELECTORS)


@dataclass(frozen=True)
class _PatchConfig:
    mode: Mode
    credential: str  # the role ARN (web identity) or the credentials full URI (container credentials)
    audience: str
    regional_sts: bool
    token_expiration: int
    region: str
    volume_name: str
    mount_path: str
    token_file: str


def _container_ops(
    container: Mapping[str, Any], base: str, cfg: _PatchConfig
) -> list[dict[str, Any]]:
    """§2.2 for one container; ``base`` is its JSON pointer (e.g. ``/spec/containers/0``)."""
    env = _as_list(container.get("env"), f"{base}/env")
    names: set[str] = set()
    for item in env or []:
        if isinstance(item, Mapping) and isinstance(item.get("name"), str):
            names.add(item["name"])
    has_wi = c.ENV_ROLE_ARN in names or c.ENV_TOKEN_FILE in names
    has_cc = c.ENV_CC_FULL_URI in names or c.ENV_CC_TOKEN_FILE in names
    has_region = c.ENV_REGION in names or c.ENV_DEFAULT_REGION in names
    has_sts = c.ENV_STS_REGIONAL in names
    has_creds = has_cc if cfg.mode is Mode.CONTAINER_CREDENTIALS else has_wi
    if has_creds and has_region and has_sts:
        return []  # early exit: unchanged, not even the mount

    new_env: list[dict[str, str]] = []
    if not has_sts and cfg.regional_sts:
        new_env.append({"name": c.ENV_STS_REGIONAL, "value": c.STS_REGIONAL_VALUE})
    if not has_region and cfg.region:
        new_env.append({"name": c.ENV_DEFAULT_REGION, "value": cfg.region})
        new_env.append({"name": c.ENV_REGION, "value": cfg.region})
    if not has_creds:
        if cfg.mode is Mode.CONTAINER_CREDENTIALS:
            new_env.append({"name": c.ENV_CC_FULL_URI, "value": cfg.credential})
            new_env.append({"name": c.ENV_CC_TOKEN_FILE, "value": cfg.token_file})
        else:
            new_env.append({"name": c.ENV_ROLE_ARN, "value": cfg.credential})
            new_env.append({"name": c.ENV_TOKEN_FILE, "value": cfg.token_file})

    ops: list[dict[str, Any]] = []
    if new_env:
        if env is None:
            ops.append({"op": "add", "path": f"{base}/env", "value": new_env})
        else:
            ops.extend({"op": "add", "path": f"{base}/env/-", "value": var} for var in new_env)

    mounts = _as_list(container.get("volumeMounts"), f"{base}/volumeMounts")
    if not any(isinstance(m, Mapping) and m.get("name") == cfg.volume_name for m in mounts or []):
        mount = {"name": cfg.volume_name, "readOnly": True, "mountPath": cfg.mount_path}
        if mounts is None:
            ops.append({"op": "add", "path": f"{base}/volumeMounts", "value": [mount]})
        else:
            ops.append({"op": "add", "path": f"{base}/volumeMounts/-", "value": mount})
    return ops


def _pod_expiration(annotations: Mapping[str, Any], settings: WebhookSettings, fallback: int, notes: list[str]) -> int:
    key = settings.annotation(c.TOKEN_EXPIRATION)
    raw = annotations.get(key)
    if raw is None:
        return fallback
    parsed = go_parse_int64(raw) if isinstance(raw, str) else None
    if parsed is None:
        notes.append(f"ignored malformed pod annotation {key}={str(raw)[:64]!r}")
        return fallback
    return max(parsed, c.MIN_TOKEN_EXPIRATION)


def _skipped_containers(annotations: Mapping[str, Any], settings: WebhookSettings, notes: list[str]) -> set[str]:
    key = settings.annotation(c.SKIP_CONTAINERS)
    raw = annotations.get(key)
    if raw is None:
        return set()
    record = go_csv_first_record(raw) if isinstance(raw, str) else None
    if record is None:
        notes.append(f"ignored malformed pod annotation {key}={str(raw)[:64]!r}")
        return set()
    return set(record)


def _pod_region(annotations: Mapping[str, Any], settings: WebhookSettings, notes: list[str]) -> str:
    if not settings.pod_region_annotation:
        return settings.aws_default_region
    key = settings.annotation(c.REGION)
    raw = annotations.get(key)
    if raw is None:
        return settings.aws_default_region
    if isinstance(raw, str) and is_region(raw):
        return raw
    notes.append(f"ignored malformed pod annotation {key}={str(raw)[:64]!r}")
    return settings.aws_default_region


def _runs_as_non_root_user(spec: Mapping[str, Any]) -> bool:
    contexts = [_as_map(spec.get("securityContext"), "spec.securityContext")]
    for kind in ("initContainers", "containers"):
        for ctr in _as_list(spec.get(kind), f"spec.{kind}") or []:
            if isinstance(ctr, Mapping):
                contexts.append(_as_map(ctr.get("securityContext"), f"spec.{kind}[].securityContext"))
    return any(isinstance(ctx.get("runAsUser"), int) and ctx["runAsUser"] != 0 for ctx in contexts)


def mutate_pod(
    pod: Mapping[str, Any],
    namespace: str,
    settings: WebhookSettings,
    *,
    service_account: ServiceAccount | None,
    config_map: Mapping[str, IdentityConfig] | None = None,
    container_credentials: Set[tuple[str, str]] = frozenset(),
    jitter: Jitter = random.randint,
) -> MutationResult:
    """Compute the patch for one pod CREATE.

    ``namespace`` is the AdmissionRequest's namespace (pods from ``generateName`` often carry
    none). ``service_account`` is the cached SA named by ``spec.serviceAccountName`` (or None).
    Raises ``MalformedPod`` when a field the mutation reads has the wrong JSON type.
    """
    if not isinstance(pod, Mapping):
        raise MalformedPod("object must be a JSON object")
    meta = _as_map(pod.get("metadata"), "metadata")
    spec = _as_map(pod.get("spec"), "spec")
    annotations = _as_map(meta.get("annotations"), "metadata.annotations")
    sa_name = spec.get("serviceAccountName") or ""
    if not isinstance(sa_name, str):
        raise MalformedPod("spec.serviceAccountName must be a string")
    decision = decide_identity(
        namespace,
        sa_name,
        settings,
        service_account=service_account,
        config_map=config_map,
        container_credentials=container_credentials,
    )
    if decision.mode is None or decision.config is None:
        return MutationResult(None, [], pod, skip_reason=decision.reason)

    notes: list[str] = []
    mode, base = decision.mode, decision.config
    expiration = _pod_expiration(annotations, settings, base.token_expiration, notes)
    if mode is Mode.CONTAINER_CREDENTIALS:
        if expiration == c.JITTER_TRIGGER:
            expiration = jitter(c.JITTER_MIN, c.JITTER_MAX)
        volume_name = settings.container_credentials_token_volume_name
        mount_path = settings.container_credentials_token_mount_path
        token_path = settings.container_credentials_token_path
        credential = settings.container_credentials_full_uri
    else:
        volume_name = c.WEB_IDENTITY_VOLUME_NAME
        mount_path = settings.token_mount_path
        token_path = c.WEB_IDENTITY_TOKEN_PATH
        credential = base.role_arn
    token_file = go_path_join(mount_path, token_path)
    if is_windows_pod(spec):
        token_file = windows_path(token_file)
    cfg = _PatchConfig(
        mode=mode,
        credential=credential,
        audience=base.audience,
        regional_sts=base.regional_sts,
        token_expiration=expiration,
        region=_pod_region(annotations, settings, notes),
        volume_name=volume_name,
        mount_path=mount_path,
        token_file=token_file,
    )
    skipped = _skipped_containers(annotations, settings, notes)

    ops: list[dict[str, Any]] = []
    if not isinstance(pod.get("spec"), Mapping):
        raise MalformedPod("spec is missing")
    if mode is Mode.CONTAINER_CREDENTIALS:
        labels = meta.get("labels")
        if pod.get("metadata") is None:
            ops.append({"op": "add", "path": "/metadata", "value": {"labels": {c.POD_IDENTITY_LABEL: c.POD_IDENTITY_LABEL_VALUE}}})
        elif labels is None:
            ops.append({"op": "add", "path": "/metadata/labels", "value": {c.POD_IDENTITY_LABEL: c.POD_IDENTITY_LABEL_VALUE}})
        else:
            _as_map(labels, "metadata.labels")
            ops.append(
                {"op": "add", "path": f"/metadata/labels/{_escape(c.POD_IDENTITY_LABEL)}", "value": c.POD_IDENTITY_LABEL_VALUE}
            )

    volumes = _as_list(spec.get("volumes"), "spec.volumes")
    if not any(isinstance(v, Mapping) and v.get("name") == volume_name for v in volumes or []):
        volume = {
            "name": volume_name,
            "projected": {
                "sources": [
                    {"serviceAccountToken": {"audience": cfg.audience, "expirationSeconds": expiration, "path": token_path}}
                ]
            },
        }
        if volumes is None:
            ops.append({"op": "add", "path": "/spec/volumes", "value": [volume]})
        else:
            ops.append({"op": "add", "path": "/spec/volumes/0", "value": volume})

    for kind in ("initContainers", "containers"):
        for index, container in enumerate(_as_list(spec.get(kind), f"spec.{kind}") or []):
            if not isinstance(container, Mapping):
                raise MalformedPod(f"spec.{kind}[{index}] must be an object")
            if container.get("name") in skipped:
                continue
            ops.extend(_container_ops(container, f"/spec/{kind}/{index}", cfg))

    if settings.fs_group is not None:
        pod_sc = spec.get("securityContext")
        if _runs_as_non_root_user(spec) and (pod_sc is None or pod_sc.get("fsGroup") is None):
            if pod_sc is None:
                ops.append({"op": "add", "path": "/spec/securityContext", "value": {"fsGroup": settings.fs_group}})
            else:
                ops.append({"op": "add", "path": "/spec/securityContext/fsGroup", "value": settings.fs_group})

    return MutationResult(mode, ops, pod, notes=notes, token_expiration=expiration, audience=cfg.audience)
