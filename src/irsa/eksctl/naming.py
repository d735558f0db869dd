"""Pure facts of eksctl's IRSA workflow (reference issuer-cli-and-doctor.md §3): names, tags, the trust
policy, the ServiceAccount object. No I/O here."""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from irsa import arn

ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
# eksctl labels the SAs it touches `app.kubernetes.io/managed-by=eksctl` (§3.2). We keep its value, so label
# selectors users already have (`kubectl get sa -l app.kubernetes.io/managed-by=eksctl`) keep finding them.
MANAGED_BY_VALUE = "eksctl"

# Role tags. The two eksctl tags (§3.4; eksctl puts them on the stack, CloudFormation propagates them to the
# role) say which SA a role is for; OWNER_TAG is ours: only a role carrying it was created by this tool, and
# only such a role is ever deleted by `delete iamserviceaccount`. An eksctl-made role has the eksctl tags but
# not ours, so we never delete a role out from under its CloudFormation stack.
SA_NAME_TAG = "alpha.eksctl.io/iamserviceaccount-name"
CLUSTER_NAME_TAG = "alpha.eksctl.io/cluster-name"
OWNER_TAG = "irsa:created-by"
OWNER_VALUE = "irsa create iamserviceaccount"
RESERVED_TAGS = frozenset({SA_NAME_TAG, CLUSTER_NAME_TAG, OWNER_TAG})
DESCRIPTION_PREFIX = "IAM role for serviceaccount "

MAX_ROLE_NAME = 64
_CFN_SUFFIX_ALPHABET = string.ascii_uppercase + string.digits
_CFN_SUFFIX_LENGTH = 13

# Kubernetes: a namespace is a DNS-1123 label, a ServiceAccount name a DNS-1123 subdomain (linear regexes).
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN_PART = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
# EKS cluster names (CreateCluster's model pattern), at most 100 characters
_CLUSTER_NAME = re.compile(r"[0-9A-Za-z][A-Za-z0-9\-_]*")


class EksctlError(Exception):
    """A user-facing failure: the message is printed as is and the command exits 1."""


def check_cluster_name(name: str) -> None:
    if not name or len(name) > 100 or not _CLUSTER_NAME.fullmatch(name):
        raise EksctlError(f"invalid cluster name {name!r}: letters, digits, '-' and '_', starting with a letter or digit, at most 100")


def check_namespace(namespace: str) -> None:
    if not _DNS_LABEL.fullmatch(namespace or ""):
        raise EksctlError(f"invalid namespace {namespace!r}: a lowercase RFC 1123 label (a-z, 0-9, '-', at most 63)")


def check_service_account_name(name: str) -> None:
    if not name or len(name) > 253 or not all(_DNS_SUBDOMAIN_PART.fullmatch(p) for p in name.split(".")):
        raise EksctlError(f"invalid serviceaccount name {name!r}: a lowercase RFC 1123 subdomain (a-z, 0-9, '-', '.', at most 253)")


@dataclass(frozen=True)
class Issuer:
    """An OIDC issuer URL and the names IAM derives from it."""

    url: str

    @property
    def host_path(self) -> str:
        """``Hostname() + Path``: no scheme, no port (eksctl's condition-key prefix and provider ARN suffix, §3.3)."""
        parts = urlsplit(self.url)
        return (parts.hostname or "") + parts.path

    @property
    def iam_url_key(self) -> str:
        """What an IAM OIDC provider's ARN ends with: the URL without ``https://``, as given (IAM keeps an
        explicit port, so an issuer on a non-default port, like ``irsa up``'s, has it in the ARN and in the
        condition keys; eksctl's ``Hostname()+Path`` would drop it. EKS issuers have no port, so both agree)."""
        return self.url[len("https://"):]

    def provider_arn(self, partition: str, account: str) -> str:
        return arn.oidc_provider_arn(partition, account, self.iam_url_key)


def parse_issuer(url: str) -> Issuer:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise EksctlError(f"the cluster's OIDC issuer {url!r} is not an https URL")
    return Issuer(url)


def condition_prefix(issuer: Issuer, provider_arn: str) -> str:
    """The prefix of the ``:sub`` / ``:aud`` condition keys: the provider ARN's URL part, which IAM uses as
    the key prefix (equal to eksctl's ``Hostname()+Path`` whenever the issuer has no explicit port)."""
    return provider_arn.split(":oidc-provider/", 1)[1] if ":oidc-provider/" in provider_arn else issuer.host_path


def trust_policy(provider_arn: str, prefix: str, namespace: str, name: str, audience: str) -> dict[str, Any]:
    """``MakeAssumeRolePolicyDocumentWithServiceAccountConditions`` (§3.3): StringEquals on ``:sub`` and ``:aud``."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["sts:AssumeRoleWithWebIdentity"],
            "Principal": {"Federated": provider_arn},
            "Condition": {"StringEquals": {
                f"{prefix}:aud": audience,
                f"{prefix}:sub": f"system:serviceaccount:{namespace}:{name}",
            }},
        }],
    }


def stack_name(cluster: str, namespace: str, name: str) -> str:
    """eksctl's stack name for one SA (§3.4)."""
    return f"eksctl-{cluster}-addon-iamserviceaccount-{namespace}-{name}"


def default_role_name(cluster: str, namespace: str, name: str, suffix: str | None = None) -> str:
    """The name CloudFormation gives eksctl's ``Role1`` when no ``--role-name`` is set:
    ``<stack name>-Role1-<13 random upper-case letters/digits>``, the stack-name part truncated so the whole
    stays within IAM's 64 characters (as CloudFormation does for generated physical names)."""
    suffix = suffix if suffix is not None else "".join(secrets.choice(_CFN_SUFFIX_ALPHABET) for _ in range(_CFN_SUFFIX_LENGTH))
    tail = f"-Role1-{suffix}"
    head = stack_name(cluster, namespace, name)[: MAX_ROLE_NAME - len(tail)].rstrip("-")
    return head + tail


def role_description(namespace: str, name: str) -> str:
    return f'{DESCRIPTION_PREFIX}"{namespace}/{name}" [created and managed by irsa]'


def sa_tag_value(namespace: str, name: str) -> str:
    return f"{namespace}/{name}"


def parse_tags(text: str | None) -> dict[str, str]:
    """``k1=v1,k2=v2`` (eksctl's ``--tags``); keys unique, not one of the tags this tool sets itself."""
    out: dict[str, str] = {}
    if not text:
        return out
    for item in text.split(","):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise EksctlError(f"--tags: expected KEY=VALUE[,KEY=VALUE...], got {item!r}")
        if key in out:
            raise EksctlError(f"--tags: duplicate key {key!r}")
        if key in RESERVED_TAGS:
            raise EksctlError(f"--tags: {key!r} is set by this command and cannot be given")
        out[key] = value.strip()
    return out


def role_tags(cluster: str, namespace: str, name: str, user_tags: Mapping[str, str]) -> list[dict[str, str]]:
    tags = {**user_tags, SA_NAME_TAG: sa_tag_value(namespace, name), CLUSTER_NAME_TAG: cluster, OWNER_TAG: OWNER_VALUE}
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def owned_by_us(tags: Mapping[str, str], cluster: str, namespace: str, name: str) -> bool:
    """A role this tool created for exactly this cluster and SA."""
    return (tags.get(OWNER_TAG) == OWNER_VALUE and tags.get(CLUSTER_NAME_TAG) == cluster
            and tags.get(SA_NAME_TAG) == sa_tag_value(namespace, name))


def service_account_object(namespace: str, name: str, role_arn: str) -> dict[str, Any]:
    """The ServiceAccount eksctl creates (§3.2): label ``managed-by``, annotation ``role-arn``."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {MANAGED_BY_LABEL: MANAGED_BY_VALUE},
            "annotations": {ROLE_ARN_ANNOTATION: role_arn},
        },
    }


def merged_metadata(existing: Mapping[str, Any], role_arn: str) -> tuple[dict[str, str], dict[str, str], bool]:
    """eksctl's merge-update of an existing SA (§3.2): keep its labels and annotations, add ours.
    Returns (labels, annotations, changed)."""
    metadata = existing.get("metadata") or {}
    labels = dict(metadata.get("labels") or {})
    annotations = dict(metadata.get("annotations") or {})
    changed = labels.get(MANAGED_BY_LABEL) != MANAGED_BY_VALUE or annotations.get(ROLE_ARN_ANNOTATION) != role_arn
    labels[MANAGED_BY_LABEL] = MANAGED_BY_VALUE
    annotations[ROLE_ARN_ANNOTATION] = role_arn
    return labels, annotations, changed


def policy_arn_problem(value: str, partition: str) -> str | None:
    """Why ``value`` cannot be a managed-policy ARN in ``partition`` (``None`` when it can)."""
    parsed = arn.parse_arn(value)
    if parsed is None or parsed.service != "iam" or not parsed.resource.startswith("policy/"):
        return f"{value!r} is not an IAM policy ARN (arn:{partition}:iam::<account|aws>:policy/<name>)"
    if parsed.partition != partition:
        return f"{value!r} is in partition {parsed.partition!r}, the cluster is in {partition!r}"
    return None


def role_arn_problem(value: str) -> str | None:
    parsed = arn.parse_arn(value)
    if parsed is None or parsed.service != "iam" or not parsed.resource.startswith("role/"):
        return f"{value!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
    return None


def role_name_from_arn(role_arn: str) -> str:
    return role_arn.rsplit("/", 1)[-1]


def unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))
