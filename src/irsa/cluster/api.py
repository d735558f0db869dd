"""HTTP faces of local clusters.

- ``issuer_response``: the issuer endpoints (``<issuer>/.well-known/openid-configuration`` and
  ``<issuer>/keys``), public and unauthenticated, as EKS serves them.
- ``EksOperations``: EKS CreateCluster / DescribeCluster / ListClusters / DeleteCluster (REST-JSON).
- ``ClusterAdminApi``: the admin API under ``/irsa/v1/clusters/...`` (SigV4-signed by an account's admin):
  key rotation, the ServiceAccount registry in Kubernetes' own paths and objects, and a TokenRequest
  endpoint; answers and errors are Kubernetes-shaped (``Status``).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import timezone
from typing import Any, Callable

from irsa import errors
from irsa.cluster.kube import KubeError
from irsa.cluster.service import ClusterService
from irsa.errors import AwsError
from irsa.oidc.documents import CACHE_CONTROL, DISCOVERY_CONTENT_TYPE, JWKS_CONTENT_TYPE, serialize
from irsa.oidc.tokens import ObjectRef
from irsa.server.http import HttpRequest, HttpResponse
from irsa.sts.caller import Caller

ADMIN_PREFIX = b"/irsa/v1/clusters"
MAX_JSON_BYTES = 256 * 1024


def issuer_response(service: ClusterService, request: HttpRequest) -> HttpResponse:
    """``GET /id/<ID>/.well-known/openid-configuration`` and ``GET /id/<ID>/keys``."""
    path = request.raw_path.decode("latin-1")
    if request.method not in ("GET", "HEAD"):
        return HttpResponse.text(405, "method not allowed\n")
    for suffix, pick, content_type in (("/.well-known/openid-configuration", 0, DISCOVERY_CONTENT_TYPE), ("/keys", 1, JWKS_CONTENT_TYPE)):
        if path.endswith(suffix):
            documents = service.issuer_documents(service.issuer_base_url + path[: -len(suffix)])
            if documents is None:
                break
            body = serialize(documents[pick])
            return HttpResponse(200, b"" if request.method == "HEAD" else body,
                                [("content-type", content_type), ("cache-control", CACHE_CONTROL)])
    return HttpResponse.text(404, "404 page not found\n")


class EksOperations:
    """EKS cluster operations over ``ClusterService``; inputs and outputs are botocore's shapes."""

    OPERATIONS = ("CreateCluster", "DescribeCluster", "ListClusters", "DeleteCluster")

    def __init__(self, service: ClusterService) -> None:
        self.service = service

    def call(self, account_id: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        s = self.service
        if operation == "CreateCluster":
            tags = params.get("tags") or {}
            key_type = tags.get("irsa:signing-key-type", "RSA")
            return {"cluster": s.create(account_id, params["name"], key_type=key_type, role_arn=params.get("roleArn"),
                                        version=params.get("version"), tags=tags, vpc_config=params.get("resourcesVpcConfig"))}
        if operation == "DescribeCluster":
            return {"cluster": s.describe(account_id, params["name"])}
        if operation == "ListClusters":
            names = s.list(account_id)
            limit = int(params.get("maxResults") or 100)
            start = int(params["nextToken"]) if str(params.get("nextToken") or "").isdigit() else 0
            out: dict[str, Any] = {"clusters": names[start:start + limit]}
            if start + limit < len(names):
                out["nextToken"] = str(start + limit)
            return out
        if operation == "DeleteCluster":
            return {"cluster": s.delete(account_id, params["name"])}
        raise AwsError(errors.INVALID_REQUEST_EXCEPTION, f"The operation {operation} is not supported by this endpoint.")


def _json(status: int, doc: Any) -> HttpResponse:
    return HttpResponse(status, json.dumps(doc, separators=(",", ":")).encode(), [("content-type", "application/json")])


def _body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_JSON_BYTES:
        raise KubeError(413, "RequestEntityTooLarge", "the request body is too large")
    if not request.body:
        return {}
    try:
        doc = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise KubeError(400, "BadRequest", "the request body is not valid JSON") from None
    if not isinstance(doc, dict):
        raise KubeError(400, "BadRequest", "the request body must be a JSON object")
    return doc


_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (m, re.compile(p), name) for m, p, name in (
        ("POST", r"/irsa/v1/clusters", "create_cluster"),
        ("GET", r"/irsa/v1/clusters/(?P<c>[^/]+)/keys", "list_keys"),
        ("POST", r"/irsa/v1/clusters/(?P<c>[^/]+)/keys/rotate", "rotate_keys"),
        ("DELETE", r"/irsa/v1/clusters/(?P<c>[^/]+)/keys/(?P<kid>[^/]+)", "retire_key"),
        ("GET", r"/irsa/v1/clusters/(?P<c>[^/]+)/api/v1/serviceaccounts", "list_all_sa"),
        ("GET", r"/irsa/v1/clusters/(?P<c>[^/]+)/api/v1/namespaces/(?P<ns>[^/]+)/serviceaccounts", "list_sa"),
        ("POST", r"/irsa/v1/clusters/(?P<c>[^/]+)/api/v1/namespaces/(?P<ns>[^/]+)/serviceaccounts", "create_sa"),
        ("GET", r"/irsa/v1/clusters/(?P<c>[^/]+)/api/v1/namespaces/(?P<ns>[^/]+)/serviceaccounts/(?P<n>[^/]+)", "get_sa"),
        ("DELETE", r"/irsa/v1/clusters/(?P<c>[^/]+)/api/v1/namespaces/(?P<ns>[^/]+)/serviceaccounts/(?P<n>[^/]+)", "delete_sa"),
        ("POST", r"/irsa/v1/clusters/(?P<c>[^/]+)/api/v1/namespaces/(?P<ns>[^/]+)/serviceaccounts/(?P<n>[^/]+)/annotate", "annotate_sa"),
        ("POST", r"/irsa/v1/clusters/(?P<c>[^/]+)/api/v1/namespaces/(?P<ns>[^/]+)/serviceaccounts/(?P<n>[^/]+)/token", "token"),
    )
]


def _ref(value: object, what: str) -> ObjectRef | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("name"), str) or not value["name"]:
        raise KubeError(400, "BadRequest", f"{what} needs a name")
    uid = value.get("uid")
    if uid is not None and not isinstance(uid, str):
        raise KubeError(400, "BadRequest", f"{what}.uid must be a string")
    return ObjectRef(value["name"], uid or str(uuid.uuid4()))  # every object has a uid; made up when not given


class ClusterAdminApi:
    """``/irsa/v1/clusters/...``; ``authenticate`` verifies SigV4 and returns the caller (or raises AwsError)."""

    def __init__(self, service: ClusterService, authenticate: Callable[[HttpRequest], Caller]) -> None:
        self.service = service
        self.authenticate = authenticate

    def handle(self, request: HttpRequest) -> HttpResponse:
        try:
            try:
                caller = self.authenticate(request)
            except AwsError as exc:  # authentication failed: kube-apiserver answers 401
                raise KubeError(401, "Unauthorized", f"{exc.code}: {exc.message}") from None
            if not caller.is_root:
                raise KubeError(403, "Forbidden", f"User {caller.arn} cannot use the cluster admin API; it is for an account's admin credentials")
            path = request.raw_path.decode("utf-8", "replace").rstrip("/")
            for method, pattern, name in _ROUTES:
                match = pattern.fullmatch(path)
                if match and method == request.method:
                    status, doc = getattr(self, name)(caller.account, _body(request) if method == "POST" else {}, **match.groupdict())
                    return _json(status, doc)
            raise KubeError(404, "NotFound", "the server could not find the requested resource")
        except KubeError as exc:
            return HttpResponse(exc.code, exc.body(), [("content-type", "application/json")])
        except AwsError as exc:  # from ClusterService cluster/key operations
            code = {404: "NotFound", 409: "AlreadyExists"}.get(exc.status, "BadRequest")
            return HttpResponse(exc.status, KubeError(exc.status, code, exc.message).body(), [("content-type", "application/json")])

    # --- clusters and keys
    def create_cluster(self, account: str, body: dict[str, Any]) -> tuple[int, Any]:
        name = body.get("name")
        if not isinstance(name, str):
            raise KubeError(400, "BadRequest", "a cluster needs a name")
        key_type = body.get("keyType", "RSA")
        return 201, _cluster_json(self.service.create(account, name, key_type=key_type, version=body.get("version")))

    def list_keys(self, account: str, body: dict[str, Any], c: str) -> tuple[int, Any]:
        return 200, {"keys": [k.describe() for k in self.service.keys(account, c)]}

    def rotate_keys(self, account: str, body: dict[str, Any], c: str) -> tuple[int, Any]:
        key = self.service.rotate_keys(account, c, body.get("keyType"))
        return 200, {"key": key.describe(), "keys": [k.describe() for k in self.service.keys(account, c)]}

    def retire_key(self, account: str, body: dict[str, Any], c: str, kid: str) -> tuple[int, Any]:
        self.service.retire_key(account, c, kid)
        return 200, {"keys": [k.describe() for k in self.service.keys(account, c)]}

    # --- service accounts
    def list_all_sa(self, account: str, body: dict[str, Any], c: str) -> tuple[int, Any]:
        return 200, self.service.list_service_accounts(account, c, None)

    def list_sa(self, account: str, body: dict[str, Any], c: str, ns: str) -> tuple[int, Any]:
        return 200, self.service.list_service_accounts(account, c, ns)

    def create_sa(self, account: str, body: dict[str, Any], c: str, ns: str) -> tuple[int, Any]:
        return 201, self.service.create_service_account(account, c, ns, body)

    def get_sa(self, account: str, body: dict[str, Any], c: str, ns: str, n: str) -> tuple[int, Any]:
        return 200, self.service.get_service_account(account, c, ns, n)

    def delete_sa(self, account: str, body: dict[str, Any], c: str, ns: str, n: str) -> tuple[int, Any]:
        return 200, self.service.delete_service_account(account, c, ns, n)

    def annotate_sa(self, account: str, body: dict[str, Any], c: str, ns: str, n: str) -> tuple[int, Any]:
        annotations = body.get("annotations") or {}
        labels = body.get("labels") or {}
        remove = body.get("remove") or []
        if not isinstance(annotations, dict) or not isinstance(labels, dict) or not isinstance(remove, list):
            raise KubeError(400, "BadRequest", "annotations and labels must be objects and remove a list")
        return 200, self.service.annotate_service_account(account, c, ns, n, annotations, [str(k) for k in remove],
                                                          overwrite=bool(body.get("overwrite")), set_labels=labels)

    def token(self, account: str, body: dict[str, Any], c: str, ns: str, n: str) -> tuple[int, Any]:
        spec = body.get("spec") or {}
        if not isinstance(spec, dict):
            raise KubeError(400, "BadRequest", "spec must be an object")
        audiences = spec.get("audiences") or []
        if not isinstance(audiences, list):
            raise KubeError(400, "BadRequest", "spec.audiences must be a list")
        bound = spec.get("boundObjectRef")
        pod = None
        if bound is not None:
            if not isinstance(bound, dict) or bound.get("kind") != "Pod":
                raise KubeError(400, "BadRequest", "spec.boundObjectRef.kind must be Pod")
            pod = _ref(bound, "spec.boundObjectRef")
        node = _ref(spec.get("node"), "spec.node")  # irsa's addition: the pod's node, as kube-apiserver derives it
        token, expires = self.service.create_token(account, c, ns, n, audiences=audiences,
                                                   expiration_seconds=spec.get("expirationSeconds"), pod=pod, node=node)
        return 201, {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                     "metadata": {"name": n, "namespace": ns}, "spec": spec,
                     "status": {"token": token, "expirationTimestamp": expires.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}}


def _cluster_json(cluster: dict[str, Any]) -> dict[str, Any]:
    out = dict(cluster)
    out["createdAt"] = cluster["createdAt"].strftime("%Y-%m-%dT%H:%M:%SZ")
    return out
