"""An issuer change without downtime: the role trusts the old and the new provider at once.

Changing ``--service-account-issuer`` instantly breaks every pod whose token carries the old ``iss`` if the
role trusts only one provider (reference issuer-cli-and-doctor.md §2.5, k3s benchmark: "instant fail for ALL
existing IRSA pods"). kops' migration (§1.11) keeps both issuers accepted in the cluster for 24 h; on the
IAM side the matching step is a trust policy with one statement per provider, each the eksctl shape (§3.3):
``Principal.Federated`` = the provider ARN, ``sts:AssumeRoleWithWebIdentity``, and ``StringEquals`` on
``<host/path>:sub`` and ``<host/path>:aud``. After the move (and the 24 h wait), drop the old statement.

``apply_trust_policy`` calls IAM ``GetRole`` + ``UpdateAssumeRolePolicy`` through botocore, against whatever
endpoint and credentials the environment configures (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ...).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import BotoCoreError, ClientError

from irsa.arn import oidc_provider_arn, parse_arn, sts_audience
from irsa.oidc.tokens import service_account_subject
from irsa.selfhosted.issuer_url import check_issuer_url, host_path

WEB_IDENTITY_ACTION = "sts:AssumeRoleWithWebIdentity"
MAX_NAME_CHARS = 253  # Kubernetes DNS-1123 subdomain (service account names); namespaces are labels (63)
MAX_NAMESPACE_CHARS = 63
_DNS_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-.")


class MigrationError(Exception):
    """Bad input or a failed IAM call; the message says which."""


def _check_dns_name(kind: str, value: str, max_chars: int, dots: bool) -> None:
    allowed = _DNS_CHARS if dots else _DNS_CHARS - {"."}
    dot = ", '.'" if dots else ""
    if not value or len(value) > max_chars or not set(value) <= allowed or not value[0].isalnum() or not value[-1].isalnum():
        raise MigrationError(
            f"{kind} {value!r} is not a valid Kubernetes name (lower-case letters, digits, '-'"
            f"{dot}; starts and ends alphanumeric; at most {max_chars} characters)"
        )


def _check_account(account_id: str) -> None:
    if not (len(account_id) == 12 and account_id.isdigit()):
        raise MigrationError(f"an account id is 12 digits, got {account_id!r}")


def web_identity_statement(
    sid: str, provider_arn: str, issuer: str, namespace: str, service_account: str, audience: str
) -> dict[str, Any]:
    prefix = host_path(issuer)
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": WEB_IDENTITY_ACTION,
        "Condition": {
            "StringEquals": {
                f"{prefix}:sub": service_account_subject(namespace, service_account),
                f"{prefix}:aud": audience,
            }
        },
    }


def migration_trust_policy(
    *,
    old_issuer: str,
    new_issuer: str,
    namespace: str,
    service_account: str,
    account_id: str,
    partition: str = "aws",
    audience: str | None = None,
) -> dict[str, Any]:
    """The two-statement trust policy (old provider first). Raises ``MigrationError`` on bad input."""
    for name, url in (("--old-issuer", old_issuer), ("--new-issuer", new_issuer)):
        try:
            check_issuer_url(url)
        except ValueError as exc:
            raise MigrationError(f"{name}: {exc}") from None
    if host_path(old_issuer) == host_path(new_issuer):
        raise MigrationError("--old-issuer and --new-issuer are the same provider")
    _check_account(account_id)
    _check_dns_name("namespace", namespace, MAX_NAMESPACE_CHARS, dots=False)
    _check_dns_name("service account", service_account, MAX_NAME_CHARS, dots=True)
    aud = audience or sts_audience(partition)
    statements = [
        web_identity_statement(
            sid, oidc_provider_arn(partition, account_id, host_path(url)), url, namespace, service_account, aud
        )
        for sid, url in (("TrustOldIssuer", old_issuer), ("TrustNewIssuer", new_issuer))
    ]
    return {"Version": "2012-10-17", "Statement": statements}


@dataclass(frozen=True)
class AppliedPolicy:
    role_arn: str
    previous: Any  # the trust policy that was replaced (parsed JSON), for rolling back
    policy: dict[str, Any]
    missing_providers: list[str]


def role_account(iam: Any, role_name: str) -> tuple[str, str, Any]:
    """(account id, partition, current trust policy) of a role, from IAM GetRole."""
    role = _call(iam, "get_role", RoleName=role_name)["Role"]
    arn = parse_arn(role["Arn"])
    if arn is None:
        raise MigrationError(f"IAM returned an unparseable role ARN {role['Arn']!r}")
    return arn.account, arn.partition, _policy_json(role.get("AssumeRolePolicyDocument"))


def apply_trust_policy(iam: Any, role_name: str, policy: Mapping[str, Any]) -> AppliedPolicy:
    """Replace the role's trust policy with ``policy``; also reports providers it names that do not exist."""
    role = _call(iam, "get_role", RoleName=role_name)["Role"]
    previous = _policy_json(role.get("AssumeRolePolicyDocument"))
    missing: list[str] = []
    for statement in policy["Statement"]:
        provider = statement["Principal"]["Federated"]
        try:
            iam.get_open_id_connect_provider(OpenIDConnectProviderArn=provider)
        except ClientError as exc:  # only NoSuchEntity means "missing"
            if _error_code(exc) == "NoSuchEntity":
                missing.append(provider)
            else:
                raise MigrationError(_describe(exc)) from None
        except BotoCoreError as exc:
            raise MigrationError(f"GetOpenIDConnectProvider failed: {exc}") from None
    _call(iam, "update_assume_role_policy", RoleName=role_name, PolicyDocument=json.dumps(policy))
    return AppliedPolicy(role["Arn"], previous, dict(policy), missing)


def _policy_json(document: Any) -> Any:
    # boto3 decodes the percent-encoded document into a dict; be tolerant of the raw string form as well
    if isinstance(document, str):
        try:
            return json.loads(unquote(document))
        except ValueError:
            return document
    return document


def _call(iam: Any, operation: str, **params: Any) -> Any:
    try:
        return getattr(iam, operation)(**params)
    except ClientError as exc:
        raise MigrationError(_describe(exc)) from None
    except BotoCoreError as exc:  # endpoint unreachable, no credentials, ...
        raise MigrationError(f"{operation} failed: {exc}") from None


def _error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None


def _describe(exc: Exception) -> str:
    response = getattr(exc, "response", {}) or {}
    err = response.get("Error", {})
    op = getattr(exc, "operation_name", "the IAM call")
    return f"An error occurred ({err.get('Code')}) when calling the {op} operation: {err.get('Message')}"
