"""Read models handed to STS and the authorizer (immutable snapshots of stored rows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping


@dataclass(frozen=True)
class Role:
    pk: int
    account_id: str
    name: str
    path: str
    role_id: str
    arn: str
    assume_role_policy_document: str  # the trust policy, as submitted
    description: str | None
    max_session_duration: int
    permissions_boundary_arn: str | None
    created: datetime
    tags: Mapping[str, str] = field(default_factory=dict)  # key (case kept) -> value, in tag order


@dataclass(frozen=True)
class OidcProvider:
    pk: int
    account_id: str
    url: str  # without "https://": the ARN suffix and the condition-key prefix
    arn: str
    client_ids: tuple[str, ...]
    thumbprints: tuple[str, ...]
    created: datetime
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return "https://" + self.url


@dataclass(frozen=True)
class PolicyDocument:
    """One permission policy of a role, ready to compile.

    ``policy_id`` is what the simulator reports as ``SourcePolicyId`` (the policy name, as AWS does for
    inline and managed policies); ``policy_type`` is ``role`` (inline), ``user-managed`` or ``aws-managed``.
    ``arn`` is set for managed policies. ``version_id`` is the managed policy's default version.
    """

    policy_id: str
    policy_type: str
    name: str
    document: str
    arn: str | None = None
    version_id: str | None = None
