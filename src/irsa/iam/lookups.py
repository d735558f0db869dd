"""Read queries shared by the service's lookups (STS hot path) and the simulator.

Each function runs on a given connection, so callers choose the transaction. One or two Core queries each.
"""

from __future__ import annotations

import json

from sqlalchemy import Connection, bindparam, select

from irsa.iam import policies
from irsa.iam.models import OidcProvider, PolicyDocument, Role
from irsa.store import schema

R = schema.roles
RT = schema.role_tags
P = schema.oidc_providers
PT = schema.oidc_provider_tags
IP = schema.role_inline_policies
A = schema.role_policy_attachments
MP = schema.managed_policies
PV = schema.policy_versions


# Statements are built once (bound parameters), so each lookup is a compiled-cache hit.
_ROLE_BY_ARN = (
    select(R, RT.c.key.label("tag_key"), RT.c.value.label("tag_value"))
    .select_from(R.outerjoin(RT, RT.c.role_pk == R.c.pk))
    .where(R.c.arn == bindparam("arn"))
    .order_by(RT.c.seq)
)
_PROVIDER_BY_URL = (
    select(P, PT.c.key.label("tag_key"), PT.c.value.label("tag_value"))
    .select_from(P.outerjoin(PT, PT.c.provider_pk == P.c.pk))
    .where(P.c.account_id == bindparam("account"), P.c.url == bindparam("url"))
    .order_by(PT.c.seq)
)
_INLINE = select(IP.c.name, IP.c.document).where(IP.c.role_pk == bindparam("role_pk")).order_by(IP.c.name)
_ATTACHED = (
    select(A.c.policy_arn, MP.c.name, MP.c.default_version, PV.c.document)
    .select_from(
        A.outerjoin(MP, MP.c.pk == A.c.policy_pk).outerjoin(PV, (PV.c.policy_pk == MP.c.pk) & (PV.c.version == MP.c.default_version))
    )
    .where(A.c.role_pk == bindparam("role_pk"))
    .order_by(A.c.seq)
)
_MANAGED_DEFAULT = (
    select(MP.c.name, MP.c.arn, MP.c.default_version, PV.c.document)
    .select_from(MP.join(PV, (PV.c.policy_pk == MP.c.pk) & (PV.c.version == MP.c.default_version)))
    .where(MP.c.arn == bindparam("arn"))
)


def role_by_arn(conn: Connection, arn: str) -> Role | None:
    """The role with exactly this ARN (path included), with its tags, in one query."""
    rows = [r for r in conn.execute(_ROLE_BY_ARN, {"arn": arn}).all() if r.arn == arn]
    if not rows:
        return None
    r = rows[0]
    return Role(
        pk=r.pk, account_id=r.account_id, name=r.name, path=r.path, role_id=r.role_id, arn=r.arn,
        assume_role_policy_document=r.trust_policy, description=r.description,
        max_session_duration=r.max_session_duration, permissions_boundary_arn=r.boundary_arn,
        created=r.created, tags={row.tag_key: row.tag_value for row in rows if row.tag_key is not None},
    )


def oidc_provider(conn: Connection, account_id: str, issuer: str) -> OidcProvider | None:
    """The provider whose ``https://`` + URL equals ``issuer`` byte for byte, in that account."""
    if not issuer.startswith("https://"):
        return None
    url = issuer[len("https://"):]
    # Compare again in Python, in case a backend collation is case- or accent-insensitive.
    rows = [r for r in conn.execute(_PROVIDER_BY_URL, {"account": account_id, "url": url}).all() if r.url == url]
    if not rows:
        return None
    r = rows[0]
    return OidcProvider(
        pk=r.pk, account_id=r.account_id, url=r.url, arn=r.arn, client_ids=tuple(json.loads(r.client_ids)),
        thumbprints=tuple(json.loads(r.thumbprints)), created=r.created,
        tags={row.tag_key: row.tag_value for row in rows if row.tag_key is not None},
    )


def role_permission_policies(conn: Connection, role: Role, partition: str) -> list[PolicyDocument]:
    """Inline policies (type ``role``, by name) then attached managed policies in attachment order
    (``user-managed`` at their default version, ``aws-managed`` from the catalogue)."""
    inline = conn.execute(_INLINE, {"role_pk": role.pk}).all()
    attached = conn.execute(_ATTACHED, {"role_pk": role.pk}).all()
    out = [PolicyDocument(policy_id=r.name, policy_type="role", name=r.name, document=r.document) for r in inline]
    for r in attached:
        if r.document is not None:
            out.append(
                PolicyDocument(
                    policy_id=r.name, policy_type="user-managed", name=r.name, document=r.document,
                    arn=r.policy_arn, version_id=f"v{r.default_version}",
                )
            )
            continue
        mp = policies.aws_managed_policy(r.policy_arn, partition)
        if mp is not None:
            out.append(
                PolicyDocument(
                    policy_id=mp.name, policy_type="aws-managed", name=mp.name, document=mp.document,
                    arn=r.policy_arn, version_id=mp.default_version_id,
                )
            )
    return out


def managed_policy_document(conn: Connection, account_id: str, arn: str, partition: str) -> PolicyDocument | None:
    """The default version of a managed policy visible to ``account_id`` (its own, or AWS managed)."""
    if arn.startswith(f"arn:{partition}:iam::aws:policy/"):
        mp = policies.aws_managed_policy(arn, partition)
        if mp is None:
            return None
        return PolicyDocument(
            policy_id=mp.name, policy_type="aws-managed", name=mp.name, document=mp.document, arn=arn,
            version_id=mp.default_version_id,
        )
    if not arn.startswith(f"arn:{partition}:iam::{account_id}:policy/"):
        return None
    r = conn.execute(_MANAGED_DEFAULT, {"arn": arn}).first()
    if r is None or r.arn != arn:
        return None
    return PolicyDocument(
        policy_id=r.name, policy_type="user-managed", name=r.name, document=r.document, arn=arn,
        version_id=f"v{r.default_version}",
    )
