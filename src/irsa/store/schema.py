"""The tables (SQLAlchemy Core). One definition of every column; migrations create them.

Conventions:
- Surrogate integer keys (``pk``) for entities that own child rows, so children cascade on delete.
- Names that IAM treats case-insensitively (role and managed-policy names, tag keys) carry a ``*_lower``
  column with the unique constraint; the name is kept as submitted.
- Small ordered string lists (client IDs, thumbprints) are JSON text in the owning row: they are read and
  written whole and never queried by element.
- Times are timezone-aware UTC datetimes (``UtcDateTime``), except the lead's ``sealing_keys`` which keep
  epoch seconds as the sealing ring does.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Stores UTC; always returns an aware UTC datetime (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied", UtcDateTime, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(12), primary_key=True),
    Column("created", UtcDateTime, nullable=False),
)

access_keys = Table(
    "access_keys",
    metadata,
    Column("access_key_id", String(128), primary_key=True),
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("secret", String(128), nullable=False),
    Column("principal_arn", String(2048), nullable=False),
    Column("status", String(16), nullable=False),  # Active | Inactive
    Column("created", UtcDateTime, nullable=False),
)

oidc_providers = Table(
    "oidc_providers",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("url", String(255), nullable=False),  # without "https://", exactly as submitted
    Column("arn", String(2048), nullable=False, unique=True),
    Column("client_ids", Text, nullable=False),  # JSON list, order kept
    Column("thumbprints", Text, nullable=False),  # JSON list, order kept
    Column("created", UtcDateTime, nullable=False),
    UniqueConstraint("account_id", "url", name="uq_oidc_providers_account_url"),
)

oidc_provider_tags = Table(
    "oidc_provider_tags",
    metadata,
    Column("provider_pk", Integer, ForeignKey("oidc_providers.pk", ondelete="CASCADE"), primary_key=True),
    Column("key_lower", String(512), primary_key=True),
    Column("key", String(512), nullable=False),
    Column("value", String(1024), nullable=False),
    Column("seq", Integer, nullable=False),
)

roles = Table(
    "roles",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("name_lower", String(64), nullable=False),
    Column("path", String(512), nullable=False),
    Column("role_id", String(32), nullable=False, unique=True),
    Column("arn", String(2048), nullable=False, unique=True),
    Column("trust_policy", Text, nullable=False),  # as submitted
    Column("description", Text, nullable=True),
    Column("max_session_duration", Integer, nullable=False),
    Column("boundary_arn", String(2048), nullable=True),
    Column("created", UtcDateTime, nullable=False),
    Column("last_used", UtcDateTime, nullable=True),
    Column("last_used_region", String(64), nullable=True),
    UniqueConstraint("account_id", "name_lower", name="uq_roles_account_name"),
)

role_tags = Table(
    "role_tags",
    metadata,
    Column("role_pk", Integer, ForeignKey("roles.pk", ondelete="CASCADE"), primary_key=True),
    Column("key_lower", String(512), primary_key=True),
    Column("key", String(512), nullable=False),
    Column("value", String(1024), nullable=False),
    Column("seq", Integer, nullable=False),
)

role_inline_policies = Table(
    "role_inline_policies",
    metadata,
    Column("role_pk", Integer, ForeignKey("roles.pk", ondelete="CASCADE"), primary_key=True),
    Column("name", String(128), primary_key=True),
    Column("document", Text, nullable=False),
    Column("size", Integer, nullable=False),  # as IAM counts it (policy_size), for the aggregate quota
)

managed_policies = Table(
    "managed_policies",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("name_lower", String(128), nullable=False),
    Column("path", String(512), nullable=False),
    Column("policy_id", String(32), nullable=False, unique=True),
    Column("arn", String(2048), nullable=False, unique=True),
    Column("description", Text, nullable=True),
    Column("default_version", Integer, nullable=False),
    Column("next_version", Integer, nullable=False),
    Column("created", UtcDateTime, nullable=False),
    Column("updated", UtcDateTime, nullable=False),
    UniqueConstraint("account_id", "name_lower", name="uq_managed_policies_account_name"),
)

managed_policy_tags = Table(
    "managed_policy_tags",
    metadata,
    Column("policy_pk", Integer, ForeignKey("managed_policies.pk", ondelete="CASCADE"), primary_key=True),
    Column("key_lower", String(512), primary_key=True),
    Column("key", String(512), nullable=False),
    Column("value", String(1024), nullable=False),
    Column("seq", Integer, nullable=False),
)

policy_versions = Table(
    "policy_versions",
    metadata,
    Column("policy_pk", Integer, ForeignKey("managed_policies.pk", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("document", Text, nullable=False),
    Column("created", UtcDateTime, nullable=False),
)

# Attachment of a managed policy to a role. ``policy_pk`` is set for customer managed policies (so a
# policy cannot vanish under an attachment) and NULL for AWS managed ones, which live in the catalogue.
role_policy_attachments = Table(
    "role_policy_attachments",
    metadata,
    Column("role_pk", Integer, ForeignKey("roles.pk", ondelete="CASCADE"), primary_key=True),
    Column("policy_arn", String(2048), primary_key=True),
    Column("policy_pk", Integer, ForeignKey("managed_policies.pk"), nullable=True, index=True),
    Column("account_id", String(12), nullable=False),
    Column("seq", Integer, nullable=False),
    Index("ix_role_policy_attachments_account_arn", "account_id", "policy_arn"),
)

# For the lead (STS session sealing): key ids and keys are raw bytes, times epoch seconds.
sealing_keys = Table(
    "sealing_keys",
    metadata,
    Column("key_id", LargeBinary(64), primary_key=True),
    Column("key", LargeBinary(64), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("retired", BigInteger, nullable=True),
)

kv = Table(
    "kv",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("value", Text, nullable=False),
)

# EKS clusters known to this account (migration 2): what ``aws eks describe-cluster`` returns. The full
# botocore ``Cluster`` structure is kept as JSON text; the columns are what is looked up or listed.
eks_clusters = Table(
    "eks_clusters",
    metadata,
    Column("account_id", String(12), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("region", String(32), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("arn", String(2048), nullable=False, unique=True),
    Column("issuer_url", String(255), nullable=True),
    Column("document", Text, nullable=False),
    Column("created", UtcDateTime, nullable=False),
)

# Signing keys of local clusters (migration 3). ``state`` is ``active`` (signs new tokens; exactly one per
# cluster) or ``published`` (still in the JWKS, verifies tokens it signed). A retired key is deleted.
cluster_keys = Table(
    "cluster_keys",
    metadata,
    Column("cluster_arn", String(2048), ForeignKey("eks_clusters.arn", ondelete="CASCADE"), primary_key=True),
    Column("kid", String(64), primary_key=True),
    Column("alg", String(8), nullable=False),
    Column("private_pem", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("created", UtcDateTime, nullable=False),
)

# The ServiceAccount registry of local clusters (migration 3): what a token request is checked against.
cluster_service_accounts = Table(
    "cluster_service_accounts",
    metadata,
    Column("cluster_arn", String(2048), ForeignKey("eks_clusters.arn", ondelete="CASCADE"), primary_key=True),
    Column("namespace", String(63), primary_key=True),
    Column("name", String(253), primary_key=True),
    Column("uid", String(36), nullable=False),
    Column("annotations", Text, nullable=False),  # JSON object
    Column("labels", Text, nullable=False),  # JSON object
    Column("resource_version", Integer, nullable=False),
    Column("created", UtcDateTime, nullable=False),
)

# Tables created by migration 1, in dependency order.
V1_TABLES = [
    accounts,
    access_keys,
    oidc_providers,
    oidc_provider_tags,
    roles,
    role_tags,
    role_inline_policies,
    managed_policies,
    managed_policy_tags,
    policy_versions,
    role_policy_attachments,
    sealing_keys,
    kv,
]
