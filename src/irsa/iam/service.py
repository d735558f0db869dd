"""The IAM service: ``call(account, operation, params)`` for the wire layer, and lookups for STS.

Every operation takes and returns plain dicts shaped like botocore's input/output shapes. Each call runs
in ONE transaction: writes commit only when the handler returns, so a failed request changes nothing.
Writes first lock the caller's account row (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite's
``BEGIN IMMEDIATE`` already serialises writers), which makes count-then-insert quotas exact under
concurrency. Policy documents are returned as the submitted text; the wire layer percent-encodes them.

Lookups (``get_role_by_arn``, ``find_oidc_provider``, ``role_permission_policies``, ...) are one or two
prebuilt Core statements each; single-statement lookups run without BEGIN/ROLLBACK (``Database.autocommit``).
They go through a short-lived ``LookupCache`` (``irsa.iam.cache``): a write through this service clears it
at once, and a write by another replica is seen within its TTL (1 s by default), the same eventual
consistency that AWS documents for IAM. A lookup costs about 0.1-0.2 ms on SQLite and 0.3-0.9 ms on
loopback PostgreSQL (``benchmarks/iam_lookups.py``): more than everything else in AssumeRoleWithWebIdentity.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select, update

from irsa import errors
from irsa.errors import AwsError
from irsa.iam import lookups, policies, providers, roles, simulate
from irsa.iam.cache import DEFAULT_TTL_SECONDS, LookupCache
from irsa.iam.context import Ctx, Handler
from irsa.iam.models import OidcProvider, PolicyDocument, Role
from irsa.iam.validation import check_account_id
from irsa.store import schema
from irsa.store.db import Database

OPERATIONS: dict[str, tuple[Handler, bool]] = {
    **providers.OPERATIONS,
    **roles.OPERATIONS,
    **policies.OPERATIONS,
    **simulate.OPERATIONS,
}

R = schema.roles


def ensure_account_row(ctx: Ctx) -> None:
    """Create the account row if missing, then lock it for the rest of the transaction."""
    t = schema.accounts
    found = ctx.conn.execute(select(t.c.id).where(t.c.id == ctx.account_id).with_for_update()).first()
    if found is None:
        if ctx.conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            ctx.conn.execute(pg_insert(t).values(id=ctx.account_id, created=ctx.now).on_conflict_do_nothing())
            ctx.conn.execute(select(t.c.id).where(t.c.id == ctx.account_id).with_for_update())
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            ctx.conn.execute(sqlite_insert(t).values(id=ctx.account_id, created=ctx.now).on_conflict_do_nothing())


class IamService:
    """IAM operations over a ``Database``. Thread-safe; holds no per-request state."""

    def __init__(self, db: Database, partition: str = "aws", *, cache_ttl_seconds: float = DEFAULT_TTL_SECONDS) -> None:
        self.db = db
        self.partition = partition
        self.cache = LookupCache(cache_ttl_seconds)

    @staticmethod
    def operations() -> list[str]:
        return sorted(OPERATIONS)

    def call(self, account_id: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        entry = OPERATIONS.get(operation)
        if entry is None:
            raise AwsError(errors.INVALID_ACTION, f"Could not find operation {operation} for version 2010-05-08")
        check_account_id(account_id)
        handler, writes = entry
        now = datetime.now(timezone.utc)
        if writes:
            try:
                with self.db.begin() as conn:
                    ctx = Ctx(conn, account_id, self.partition, now)
                    ensure_account_row(ctx)
                    return handler(ctx, dict(params or {}))
            finally:
                self.cache.clear()
        with self.db.read() as conn:
            return handler(Ctx(conn, account_id, self.partition, now), dict(params or {}))

    # ------------------------------------------------------------------ lookups for STS / the authorizer
    def get_role_by_arn(self, arn: str) -> Role | None:
        """The role with exactly this ARN (path included, case-sensitive), with its tags; ``None`` if absent."""
        def load() -> Role | None:
            with self.db.autocommit() as conn:
                return lookups.role_by_arn(conn, arn)

        return self.cache.get(("role", arn), load)

    def get_role(self, account_id: str, name: str) -> Role | None:
        """The role by name (case-insensitive, as IAM), or ``None``."""
        with self.db.read() as conn:
            arn = conn.execute(
                select(schema.roles.c.arn).where(schema.roles.c.account_id == account_id, schema.roles.c.name_lower == name.lower())
            ).scalar_one_or_none()
            return None if arn is None else lookups.role_by_arn(conn, arn)

    def find_oidc_provider(self, account_id: str, issuer: str) -> OidcProvider | None:
        """The provider whose ``https://`` + URL equals ``issuer`` byte for byte, in that account."""
        def load() -> OidcProvider | None:
            with self.db.autocommit() as conn:
                return lookups.oidc_provider(conn, account_id, issuer)

        return self.cache.get(("provider", account_id, issuer), load)

    def role_permission_policies(self, role: Role) -> list[PolicyDocument]:
        """Inline policies (``role``) then attached managed ones (``user-managed`` / ``aws-managed``)."""
        def load() -> list[PolicyDocument]:
            with self.db.read() as conn:
                return lookups.role_permission_policies(conn, role, self.partition)

        return list(self.cache.get(("role-policies", role.arn, role.pk), load))

    def role_boundary_policy(self, role: Role) -> PolicyDocument | None:
        if role.permissions_boundary_arn is None:
            return None
        return self.managed_policy_document(role.account_id, role.permissions_boundary_arn)

    def managed_policy_document(self, account_id: str, arn: str) -> PolicyDocument | None:
        """The default version of a managed policy visible to ``account_id`` (its own or AWS managed)."""
        def load() -> PolicyDocument | None:
            with self.db.autocommit() as conn:
                return lookups.managed_policy_document(conn, account_id, arn, self.partition)

        return self.cache.get(("managed", account_id, arn), load)

    def record_role_used(self, arn: str, region: str | None, when: datetime | None = None) -> None:
        """Set ``RoleLastUsed`` (what GetRole reports). Optional for STS; one UPDATE."""
        with self.db.begin() as conn:
            conn.execute(
                update(R).where(R.c.arn == arn).values(last_used=when or datetime.now(timezone.utc), last_used_region=region)
            )
