"""AdmissionReview v1/v1beta1 decoding, the admit decision and the response (§3.3, §4.4).

Pure: the service-account lookup happens before ``admit`` is called. Responses echo the
request's ``apiVersion`` and ``kind`` (upstream PR #310). Deviation from upstream, on purpose:
a body that cannot be decoded gets HTTP 400 with a reason (upstream answers 200 with
``allowed:false``, which the API server treats as an invalid response anyway), and a pod that
cannot be read is admitted unmutated unless fail-closed mode is on (upstream denies it).
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from typing import Any

from irsa.webhook.identity import IdentityConfig, Mode, ServiceAccount
from irsa.webhook.mutation import Jitter, MalformedPod, mutate_pod
from irsa.webhook.settings import WebhookSettings

ADMISSION_VERSIONS = ("admission.k8s.io/v1", "admission.k8s.io/v1beta1")
DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024
MAX_WARNING_LENGTH = 120
_STATUS_REASONS = {400: "BadRequest", 403: "Forbidden", 500: "InternalError"}


class BadReview(ValueError):
    """The HTTP body is not an AdmissionReview we can answer (HTTP 400)."""


@dataclass(frozen=True)
class AdmissionRequest:
    api_version: str
    uid: str
    namespace: str
    operation: str
    kind: str  # request.kind.kind, or the object's kind when absent
    resource: str
    sub_resource: str
    object: Any

    @property
    def is_pod_create(self) -> bool:
        return (
            self.kind == "Pod"
            and self.resource in ("", "pods")
            and not self.sub_resource
            and self.operation in ("", "CREATE")
        )

    @property
    def service_account_name(self) -> str:
        spec = self.object.get("spec") if isinstance(self.object, Mapping) else None
        name = spec.get("serviceAccountName") if isinstance(spec, Mapping) else None
        return name if isinstance(name, str) else ""

    @property
    def pod_label(self) -> str:
        """``namespace/name`` for logs, falling back to generateName (pods from controllers)."""
        meta = self.object.get("metadata") if isinstance(self.object, Mapping) else None
        if not isinstance(meta, Mapping):
            return f"{self.namespace}/?"
        name = meta.get("name") or (f"{meta.get('generateName')}<generated>" if meta.get("generateName") else "?")
        return f"{self.namespace}/{name}"


def _str(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadReview(f"{where} must be a string")
    return value


def decode_review(body: bytes) -> AdmissionRequest:
    """Parse an AdmissionReview body; ``BadReview`` with a clear message when it is not one."""
    try:
        review = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadReview(f"body is not valid JSON: {str(exc)[:100]}") from None
    if not isinstance(review, dict):
        raise BadReview("body is not a JSON object")
    api_version = review.get("apiVersion")
    if api_version not in ADMISSION_VERSIONS:
        raise BadReview(f"apiVersion must be one of {', '.join(ADMISSION_VERSIONS)}")
    if review.get("kind") != "AdmissionReview":
        raise BadReview("kind must be AdmissionReview")
    request = review.get("request")
    if not isinstance(request, dict):
        raise BadReview("bad content: AdmissionReview has no request")
    uid = _str(request.get("uid"), "request.uid")
    if not uid:
        raise BadReview("request.uid is missing")
    obj = request.get("object")
    gvk = request.get("kind")
    if gvk is None:
        kind = obj.get("kind", "Pod") if isinstance(obj, dict) else ""
    elif isinstance(gvk, dict):
        kind = _str(gvk.get("kind"), "request.kind.kind")
        if _str(gvk.get("group"), "request.kind.group") != "" or gvk.get("version") not in (None, "v1"):
            kind = f"{gvk.get('group')}/{gvk.get('version')}/{kind}"
    else:
        raise BadReview("request.kind must be an object")
    gvr = request.get("resource")
    if gvr is not None and not isinstance(gvr, dict):
        raise BadReview("request.resource must be an object")
    return AdmissionRequest(
        api_version=api_version,
        uid=uid,
        namespace=_str(request.get("namespace"), "request.namespace"),
        operation=_str(request.get("operation"), "request.operation"),
        kind=kind,
        resource=_str((gvr or {}).get("resource"), "request.resource.resource"),
        sub_resource=_str(request.get("subResource"), "request.subResource"),
        object=obj,
    )


@dataclass
class Admission:
    """What to answer, plus what happened (for logs and metrics)."""

    response: dict[str, Any]
    mode: Mode | None = None
    reason: str = ""  # skip or deny reason; "" when mutated
    notes: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return bool(self.response["response"]["allowed"])

    def body(self) -> bytes:
        return json.dumps(self.response, separators=(",", ":")).encode()


def _envelope(req: AdmissionRequest, response: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": req.api_version, "kind": "AdmissionReview", "response": {"uid": req.uid, **response}}


def deny(req: AdmissionRequest, message: str, reason: str, code: int = 403) -> Admission:
    status = {"code": code, "message": message, "reason": _STATUS_REASONS.get(code, "Forbidden")}
    return Admission(_envelope(req, {"allowed": False, "status": status}), reason=reason)


def allow(req: AdmissionRequest, reason: str, warnings: list[str] | None = None) -> Admission:
    body: dict[str, Any] = {"allowed": True}
    if warnings:
        body["warnings"] = warnings
    return Admission(_envelope(req, body), reason=reason)


def admit(
    req: AdmissionRequest,
    settings: WebhookSettings,
    *,
    service_account: ServiceAccount | None,
    config_map: Mapping[str, IdentityConfig] | None = None,
    container_credentials: Set[tuple[str, str]] = frozenset(),
    fail_closed: bool = False,
    jitter: Jitter = random.randint,
) -> Admission:
    """Decide and build the AdmissionReview response for one request."""
    if not req.is_pod_create:
        return allow(req, "not-a-pod-create")
    try:
        result = mutate_pod(
            req.object,
            req.namespace,
            settings,
            service_account=service_account,
            config_map=config_map,
            container_credentials=container_credentials,
            jitter=jitter,
        )
    except MalformedPod as exc:
        if fail_closed:
            return deny(req, f"pod identity webhook: malformed pod: {exc}", "malformed-pod", code=400)
        out = allow(req, "malformed-pod")
        out.notes.append(str(exc))
        return out
    warnings = [f"pod identity webhook: {n}"[:MAX_WARNING_LENGTH] for n in result.notes]
    if result.mode is None:
        if fail_closed and result.skip_reason == "service-account-not-found":
            sa = f"{req.namespace}/{req.service_account_name}"
            return deny(req, f"pod identity webhook: service account {sa} is not known yet; retry", result.skip_reason)
        return allow(req, result.skip_reason)
    body: dict[str, Any] = {"allowed": True}
    if result.patch:
        body["patchType"] = "JSONPatch"
        body["patch"] = base64.b64encode(json.dumps(result.patch, separators=(",", ":")).encode()).decode()
    if warnings:
        body["warnings"] = warnings
    return Admission(_envelope(req, body), mode=result.mode, reason="", notes=result.notes)
