"""Local clusters: what EKS and kube-apiserver provide to IRSA, played by this process.

A cluster has an issuer URL served here over TLS (``https://<issuer base>/id/<32 hex>``, EKS's shape),
signing keys (RSA-2048 by default, EC P-256 on request; Kubernetes-style ``kid``), a discovery document
and JWKS exactly as an EKS issuer serves them, a ServiceAccount registry, and projected-token minting with
kube-apiserver's claims and expiration rules. Rotation publishes the new key and signs with it while the
old key stays in the JWKS until it is retired.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy import delete, insert, select, update

from irsa import arn as arns
from irsa import errors
from irsa.cluster.kube import KubeError
from irsa.errors import AwsError
from irsa.oidc.documents import discovery_document, jwks_document
from irsa.oidc.keys import SigningKey, generate_signing_key, load_signing_key
from irsa.oidc.tokens import DEFAULT_EXPIRATION_SECONDS, MIN_EXPIRATION_SECONDS, ObjectRef, mint_service_account_token
from irsa.store import schema
from irsa.store.db import Database

DEFAULT_KUBERNETES_VERSION = "1.31"
DEFAULT_MAX_TOKEN_EXPIRATION = 48 * 3600
KEY_TYPES = ("RSA", "EC")
_CLUSTER_NAME = re.compile(r"[0-9A-Za-z][A-Za-z0-9\-_]{0,99}\Z")
# Kubernetes names: a namespace is a DNS-1123 label, a ServiceAccount name a DNS-1123 subdomain
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")
MAX_ANNOTATION_BYTES = 256 * 1024  # kube: total annotation size

C = schema.eks_clusters
K = schema.cluster_keys
S = schema.cluster_service_accounts


def _ensure_account(conn: Any, account_id: str) -> None:
    """Clusters belong to an account; its row exists before anything refers to it."""
    a = schema.accounts
    if conn.execute(select(a.c.id).where(a.c.id == account_id)).first() is None:
        conn.execute(insert(a).values(id=account_id, created=datetime.now(timezone.utc)))


def _not_found(name: str) -> AwsError:
    return AwsError(errors.RESOURCE_NOT_FOUND, f"No cluster found for name: {name}.")


@dataclass(frozen=True)
class ClusterKey:
    kid: str
    alg: str
    state: str  # "active" | "published"
    created: datetime
    private_pem: str

    def signing_key(self) -> SigningKey:
        return load_signing_key(self.private_pem.encode())

    def describe(self) -> dict[str, Any]:
        return {"kid": self.kid, "alg": self.alg, "state": self.state, "created": self.created.strftime("%Y-%m-%dT%H:%M:%SZ")}


@dataclass(frozen=True)
class Cluster:
    account_id: str
    name: str
    arn: str
    issuer: str
    document: dict[str, Any]


def _dump_time(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _load_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


class ClusterService:
    """Clusters of every account in one region. Thread-safe; state lives in the database."""

    def __init__(self, db: Database, *, partition: str, region: str, issuer_base_url: str, ca_pem: bytes | None = None,
                 max_token_expiration: int = DEFAULT_MAX_TOKEN_EXPIRATION, clock: Callable[[], float] = time.time,
                 on_keys_changed: Callable[[str], None] | None = None) -> None:
        self.db = db
        self.partition = partition
        self.region = region
        self.issuer_base_url = issuer_base_url.rstrip("/")
        self.ca_pem = ca_pem
        self.max_token_expiration = max_token_expiration
        self.clock = clock
        self.on_keys_changed = on_keys_changed or (lambda issuer: None)
        self._key_cache: dict[str, SigningKey] = {}  # kid -> parsed key (keys are immutable)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ clusters
    def _row(self, conn: Any, account_id: str, name: str) -> Cluster:
        row = conn.execute(select(C.c.arn, C.c.issuer_url, C.c.document).where(
            C.c.account_id == account_id, C.c.region == self.region, C.c.name == name)).first()
        if row is None:
            raise _not_found(name)
        return Cluster(account_id, name, row.arn, row.issuer_url, json.loads(row.document))

    def get(self, account_id: str, name: str) -> Cluster:
        with self.db.read() as conn:
            return self._row(conn, account_id, name)

    def create(self, account_id: str, name: str, *, key_type: str = "RSA", role_arn: str | None = None,
               version: str | None = None, tags: Mapping[str, str] | None = None,
               vpc_config: Mapping[str, Any] | None = None) -> dict[str, Any]:
        if not _CLUSTER_NAME.match(name or ""):
            raise AwsError(errors.INVALID_PARAMETER_EXCEPTION,
                           "The cluster name must start with a letter or digit and contain only letters, digits, '-' and '_', at most 100 characters.")
        if key_type not in KEY_TYPES:
            raise AwsError(errors.INVALID_PARAMETER_EXCEPTION, f"Unsupported signing key type {key_type}; use one of {', '.join(KEY_TYPES)}.")
        issuer_id = secrets.token_hex(16).upper()
        issuer = f"{self.issuer_base_url}/id/{issuer_id}"
        arn = arns.eks_cluster_arn(self.partition, self.region, account_id, name)
        created = datetime.fromtimestamp(self.clock(), tz=timezone.utc)
        document: dict[str, Any] = {
            "name": name, "arn": arn, "createdAt": _dump_time(created), "version": version or DEFAULT_KUBERNETES_VERSION,
            "identity": {"oidc": {"issuer": issuer}}, "status": "ACTIVE", "tags": dict(tags or {}),
        }
        if role_arn:
            document["roleArn"] = role_arn
        if vpc_config:
            document["resourcesVpcConfig"] = {k: v for k, v in vpc_config.items()
                                              if k in ("subnetIds", "securityGroupIds", "endpointPublicAccess", "endpointPrivateAccess", "publicAccessCidrs")}
        if self.ca_pem:
            document["certificateAuthority"] = {"data": base64.b64encode(self.ca_pem).decode()}
        key = generate_signing_key(key_type)  # type: ignore[arg-type]
        with self.db.begin() as conn:
            _ensure_account(conn, account_id)
            exists = conn.execute(select(C.c.name).where(C.c.account_id == account_id, C.c.region == self.region,
                                                         C.c.name == name)).first()
            if exists is not None:
                raise AwsError(errors.RESOURCE_IN_USE, f"Cluster already exists with name: {name}")
            conn.execute(insert(C).values(account_id=account_id, region=self.region, name=name, arn=arn, issuer_url=issuer,
                                          document=json.dumps(document, sort_keys=True), created=created))
            conn.execute(insert(K).values(cluster_arn=arn, kid=key.kid, alg=key.alg, private_pem=key.private_pem().decode(),
                                          state="active", created=created))
        return self.output(document)

    @staticmethod
    def output(document: dict[str, Any]) -> dict[str, Any]:
        """The stored document as botocore's ``Cluster`` shape (``createdAt`` a datetime)."""
        out = dict(document)
        out["createdAt"] = _load_time(document["createdAt"])
        return out

    def describe(self, account_id: str, name: str) -> dict[str, Any]:
        return self.output(self.get(account_id, name).document)

    def list(self, account_id: str) -> list[str]:
        with self.db.read() as conn:
            return [r.name for r in conn.execute(select(C.c.name).where(C.c.account_id == account_id, C.c.region == self.region).order_by(C.c.name))]

    def delete(self, account_id: str, name: str) -> dict[str, Any]:
        with self.db.begin() as conn:
            cluster = self._row(conn, account_id, name)
            conn.execute(delete(S).where(S.c.cluster_arn == cluster.arn))
            conn.execute(delete(K).where(K.c.cluster_arn == cluster.arn))
            conn.execute(delete(C).where(C.c.arn == cluster.arn))
        self.on_keys_changed(cluster.issuer)
        return self.output(dict(cluster.document, status="DELETING"))

    # ------------------------------------------------------------------ keys
    def keys(self, account_id: str, name: str) -> list[ClusterKey]:
        with self.db.read() as conn:
            cluster = self._row(conn, account_id, name)
            return self._keys(conn, cluster.arn)

    @staticmethod
    def _keys(conn: Any, cluster_arn: str) -> list[ClusterKey]:
        rows = conn.execute(select(K.c.kid, K.c.alg, K.c.state, K.c.created, K.c.private_pem)
                            .where(K.c.cluster_arn == cluster_arn).order_by(K.c.created, K.c.kid))
        return [ClusterKey(r.kid, r.alg, r.state, r.created, r.private_pem) for r in rows]

    def rotate_keys(self, account_id: str, name: str, key_type: str | None = None) -> ClusterKey:
        """A new signing key; the previous ones stay published until retired."""
        if key_type is not None and key_type not in KEY_TYPES:
            raise AwsError(errors.INVALID_PARAMETER_EXCEPTION, f"Unsupported signing key type {key_type}; use one of {', '.join(KEY_TYPES)}.")
        with self.db.begin() as conn:
            cluster = self._row(conn, account_id, name)
            current = [k for k in self._keys(conn, cluster.arn) if k.state == "active"]
            kind = key_type or ("EC" if current and current[0].alg.startswith("ES") else "RSA")
            key = generate_signing_key(kind)  # type: ignore[arg-type]
            created = datetime.fromtimestamp(self.clock(), tz=timezone.utc)
            conn.execute(update(K).where(K.c.cluster_arn == cluster.arn, K.c.state == "active").values(state="published"))
            conn.execute(insert(K).values(cluster_arn=cluster.arn, kid=key.kid, alg=key.alg, private_pem=key.private_pem().decode(),
                                          state="active", created=created))
        self.on_keys_changed(cluster.issuer)
        return ClusterKey(key.kid, key.alg, "active", created, key.private_pem().decode())

    def retire_key(self, account_id: str, name: str, kid: str) -> None:
        """Remove a published key from the JWKS; tokens it signed stop verifying. The signing key cannot be retired."""
        with self.db.begin() as conn:
            cluster = self._row(conn, account_id, name)
            keys = {k.kid: k for k in self._keys(conn, cluster.arn)}
            if kid not in keys:
                raise AwsError(errors.RESOURCE_NOT_FOUND, f"No key {kid} found for cluster: {name}.")
            if keys[kid].state == "active":
                raise AwsError(errors.INVALID_REQUEST_EXCEPTION,
                               f"Key {kid} signs the cluster's tokens; rotate the keys before retiring it.")
            conn.execute(delete(K).where(K.c.cluster_arn == cluster.arn, K.c.kid == kid))
        self.on_keys_changed(cluster.issuer)

    def _signing_key(self, key: ClusterKey) -> SigningKey:
        with self._lock:
            found = self._key_cache.get(key.kid)
        if found is None:
            found = key.signing_key()
            with self._lock:
                self._key_cache[key.kid] = found
        return found

    # ------------------------------------------------------------------ issuer documents
    def issuer_documents(self, issuer: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(discovery document, JWKS) for an issuer URL served here, or ``None``."""
        with self.db.read() as conn:
            arn = conn.execute(select(C.c.arn).where(C.c.issuer_url == issuer)).scalar_one_or_none()
            if arn is None:
                return None
            keys = [self._signing_key(k) for k in self._keys(conn, arn)]
        discovery = discovery_document(issuer, f"{issuer}/keys", keys, extended=True)
        return discovery, jwks_document(keys)

    # ------------------------------------------------------------------ service accounts
    def _cluster_for_kube(self, conn: Any, account_id: str, name: str) -> Cluster:
        try:
            return self._row(conn, account_id, name)
        except AwsError:
            raise KubeError(404, "NotFound", f'clusters "{name}" not found') from None

    @staticmethod
    def _sa_where(cluster_arn: str, namespace: str, name: str) -> tuple[Any, ...]:
        return (S.c.cluster_arn == cluster_arn, S.c.namespace == namespace, S.c.name == name)

    def _sa_row(self, conn: Any, cluster_arn: str, namespace: str, name: str) -> Any:
        row = conn.execute(select(S).where(*self._sa_where(cluster_arn, namespace, name))).first()
        if row is None:
            raise KubeError(404, "NotFound", f'serviceaccounts "{name}" not found')
        return row

    @staticmethod
    def _sa_object(row: Any) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": row.name, "namespace": row.namespace, "uid": row.uid,
                                    "resourceVersion": str(row.resource_version),
                                    "creationTimestamp": row.created.strftime("%Y-%m-%dT%H:%M:%SZ")}
        annotations, labels = json.loads(row.annotations), json.loads(row.labels)
        if annotations:
            metadata["annotations"] = annotations
        if labels:
            metadata["labels"] = labels
        return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata}

    @staticmethod
    def _check_names(namespace: str, name: str | None) -> None:
        if not _DNS_LABEL.match(namespace or ""):
            raise KubeError(422, "Invalid", f'namespace "{namespace}" is invalid: a lowercase RFC 1123 label must consist of lower case '
                            "alphanumeric characters or '-', and must start and end with an alphanumeric character")
        if name is not None and (len(name) > 253 or not _DNS_SUBDOMAIN.match(name)):
            raise KubeError(422, "Invalid", f'ServiceAccount "{name}" is invalid: metadata.name: Invalid value: "{name}": a lowercase '
                            "RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start "
                            "and end with an alphanumeric character")

    @staticmethod
    def _string_map(value: object, what: str, name: str) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise KubeError(400, "BadRequest", f"metadata.{what} of ServiceAccount {name} must map strings to strings")
        if len(json.dumps(value)) > MAX_ANNOTATION_BYTES:
            raise KubeError(422, "Invalid", f'ServiceAccount "{name}" is invalid: metadata.{what}: Too long: must have at most {MAX_ANNOTATION_BYTES} bytes')
        return dict(value)

    def create_service_account(self, account_id: str, cluster: str, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]:
        metadata = body.get("metadata") if isinstance(body, Mapping) else None
        if not isinstance(metadata, Mapping) or not isinstance(metadata.get("name"), str):
            raise KubeError(400, "BadRequest", "a ServiceAccount needs metadata.name")
        name = metadata["name"]
        if metadata.get("namespace") not in (None, namespace):
            raise KubeError(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
        self._check_names(namespace, name)
        annotations = self._string_map(metadata.get("annotations"), "annotations", name)
        labels = self._string_map(metadata.get("labels"), "labels", name)
        with self.db.begin() as conn:
            c = self._cluster_for_kube(conn, account_id, cluster)
            found = conn.execute(select(S.c.name).where(*self._sa_where(c.arn, namespace, name))).first()
            if found is not None:
                raise KubeError(409, "AlreadyExists", f'serviceaccounts "{name}" already exists')
            conn.execute(insert(S).values(cluster_arn=c.arn, namespace=namespace, name=name, uid=str(uuid.uuid4()),
                                          annotations=json.dumps(annotations, sort_keys=True), labels=json.dumps(labels, sort_keys=True),
                                          resource_version=1, created=datetime.fromtimestamp(self.clock(), tz=timezone.utc)))
            row = self._sa_row(conn, c.arn, namespace, name)
        return self._sa_object(row)

    def get_service_account(self, account_id: str, cluster: str, namespace: str, name: str) -> dict[str, Any]:
        self._check_names(namespace, name)
        with self.db.read() as conn:
            c = self._cluster_for_kube(conn, account_id, cluster)
            return self._sa_object(self._sa_row(conn, c.arn, namespace, name))

    def list_service_accounts(self, account_id: str, cluster: str, namespace: str | None) -> dict[str, Any]:
        if namespace is not None:
            self._check_names(namespace, None)
        with self.db.read() as conn:
            c = self._cluster_for_kube(conn, account_id, cluster)
            query = select(S).where(S.c.cluster_arn == c.arn)
            if namespace is not None:
                query = query.where(S.c.namespace == namespace)
            rows = conn.execute(query.order_by(S.c.namespace, S.c.name)).all()
        return {"apiVersion": "v1", "kind": "ServiceAccountList", "metadata": {}, "items": [self._sa_object(r) for r in rows]}

    def annotate_service_account(self, account_id: str, cluster: str, namespace: str, name: str,
                                 set_annotations: Mapping[str, str], remove: Sequence[str] = (), overwrite: bool = False,
                                 set_labels: Mapping[str, str] | None = None) -> dict[str, Any]:
        """``kubectl annotate`` (and ``kubectl label``) semantics: an existing key is changed only with ``overwrite``."""
        self._check_names(namespace, name)
        with self.db.begin() as conn:
            c = self._cluster_for_kube(conn, account_id, cluster)
            row = self._sa_row(conn, c.arn, namespace, name)
            annotations, labels = json.loads(row.annotations), json.loads(row.labels)
            for target, changes in ((annotations, set_annotations), (labels, set_labels or {})):
                for key, value in changes.items():
                    if key in target and target[key] != value and not overwrite:
                        raise KubeError(409, "Conflict", f"'{key}' already has a value ({target[key]}), and overwrite is false")
                    target[key] = value
            for key in remove:
                annotations.pop(key, None)
            annotations = self._string_map(annotations, "annotations", name)
            labels = self._string_map(labels, "labels", name)
            conn.execute(update(S).where(*self._sa_where(c.arn, namespace, name)).values(
                annotations=json.dumps(annotations, sort_keys=True), labels=json.dumps(labels, sort_keys=True),
                resource_version=row.resource_version + 1))
            return self._sa_object(self._sa_row(conn, c.arn, namespace, name))

    def delete_service_account(self, account_id: str, cluster: str, namespace: str, name: str) -> dict[str, Any]:
        self._check_names(namespace, name)
        with self.db.begin() as conn:
            c = self._cluster_for_kube(conn, account_id, cluster)
            row = self._sa_row(conn, c.arn, namespace, name)
            conn.execute(delete(S).where(*self._sa_where(c.arn, namespace, name)))
        return self._sa_object(row)

    # ------------------------------------------------------------------ tokens
    def create_token(self, account_id: str, cluster: str, namespace: str, name: str, *, audiences: Sequence[str] = (),
                     expiration_seconds: int | None = None, pod: ObjectRef | None = None,
                     node: ObjectRef | None = None) -> tuple[str, datetime]:
        """A projected service-account token, as the TokenRequest API returns it: (token, expiration)."""
        self._check_names(namespace, name)
        seconds = DEFAULT_EXPIRATION_SECONDS if expiration_seconds is None else expiration_seconds
        if not isinstance(seconds, int) or isinstance(seconds, bool):
            raise KubeError(400, "BadRequest", "spec.expirationSeconds must be an integer")
        if seconds < MIN_EXPIRATION_SECONDS:
            raise KubeError(422, "Invalid", f'TokenRequest.authentication.k8s.io "{name}" is invalid: spec.expirationSeconds: '
                            f"Invalid value: {seconds}: may not specify a duration less than 10 minutes")
        if any(not isinstance(a, str) or not a for a in audiences):
            raise KubeError(400, "BadRequest", "spec.audiences must be non-empty strings")
        with self.db.read() as conn:
            c = self._cluster_for_kube(conn, account_id, cluster)
            row = self._sa_row(conn, c.arn, namespace, name)
            active = [k for k in self._keys(conn, c.arn) if k.state == "active"]
        key = self._signing_key(active[0])
        now = self.clock()
        try:
            token = mint_service_account_token(
                key, issuer=c.issuer, namespace=namespace, service_account=name, service_account_uid=row.uid,
                audiences=list(audiences), expiration_seconds=seconds, max_expiration_seconds=self.max_token_expiration,
                pod=pod, node=node, api_audiences=[c.issuer], now=now,
            )
        except ValueError as exc:
            raise KubeError(422, "Invalid", f'TokenRequest.authentication.k8s.io "{name}" is invalid: {exc}') from None
        exp = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==="))["exp"]
        return token, datetime.fromtimestamp(exp, tz=timezone.utc)
