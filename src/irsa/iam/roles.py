"""Roles: CRUD, trust policy, permissions boundary, tags, inline policies, managed-policy attachments.

Decisions:
- Role names are unique per account regardless of case and looked up case-insensitively (IAM: "Role
  names are not distinguished by case"); the name is returned as created.
- Inline policy names are case-sensitive keys within a role.
- The trust policy is checked with ``compile_policy(kind=TRUST)`` and then its size as IAM counts it
  (``policy_size``) against ACLSizePerRole 2048. Trust-policy principals naming roles/users that do not
  exist are not rejected (IAM does; we have no users and roles may be created in any order).
- ListRoles omits ``Tags``, ``PermissionsBoundary`` and ``RoleLastUsed`` as IAM's list calls do; GetRole
  includes them (``RoleLastUsed`` is ``{}`` until STS records a use).
- Tag quota breach on TagRole: ``LimitExceeded`` ``Cannot exceed quota for TagsPerRole: 50``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select, update

from irsa import arn as arns
from irsa import errors
from irsa.errors import AwsError
from irsa.iam import limits, policies
from irsa.iam.context import (
    ROLE_TAGS,
    Ctx,
    count,
    list_tags_page,
    merge_tags,
    page_flags,
    read_tags,
    remove_tags,
    role_row,
    tag_list,
)
from irsa.iam.ids import new_role_id
from irsa.iam.validation import (
    check_description,
    check_max_items,
    check_max_session_duration,
    check_name,
    check_path_prefix,
    check_policy_path,
    check_role_path,
    check_tag_keys,
    check_tags,
    decode_marker,
    require_str,
    split_policy_arn,
)
from irsa.store import schema

R = schema.roles
IP = schema.role_inline_policies
A = schema.role_policy_attachments


def _role_name(params: dict[str, Any]) -> str:
    return check_name(require_str(params, "RoleName", "roleName"), "roleName", 64)


def check_trust_policy(text: str) -> None:
    """Valid trust policy, then its size (ACLSizePerRole 2048 as IAM counts it; the engine owns the quota)."""
    from irsa.policy import PolicyKind, check_size, compile_policy

    compile_policy(text, PolicyKind.TRUST)
    check_size(text, PolicyKind.TRUST)


def role_dict(ctx: Ctx, row: Any, *, detail: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Path": row.path,
        "RoleName": row.name,
        "RoleId": row.role_id,
        "Arn": row.arn,
        "CreateDate": row.created,
        "AssumeRolePolicyDocument": row.trust_policy,
    }
    if row.description is not None:
        out["Description"] = row.description
    out["MaxSessionDuration"] = row.max_session_duration
    if detail:
        if row.boundary_arn is not None:
            out["PermissionsBoundary"] = {
                "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
                "PermissionsBoundaryArn": row.boundary_arn,
            }
        tags = read_tags(ctx, ROLE_TAGS, row.pk)
        if tags:
            out["Tags"] = tag_list(tags)
        last: dict[str, Any] = {}
        if row.last_used is not None:
            last["LastUsedDate"] = row.last_used
            if row.last_used_region:
                last["Region"] = row.last_used_region
        out["RoleLastUsed"] = last
    return out


def _boundary_arn(ctx: Ctx, value: Any) -> str:
    if not isinstance(value, str):
        raise AwsError(errors.VALIDATION_ERROR, errors.validation_message("permissionsBoundary", value, "Member must not be null"))
    return policies.resolve(ctx, value, attachable_message=True).arn


# ---------------------------------------------------------------------------- roles
def create(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    name = _role_name(params)
    path = check_role_path(params.get("Path") or "/")
    trust = require_str(params, "AssumeRolePolicyDocument", "assumeRolePolicyDocument")
    description = params.get("Description")
    if description is not None:
        check_description(description)
    duration = params.get("MaxSessionDuration")
    duration = limits.DEFAULT_SESSION_DURATION if duration is None else check_max_session_duration(duration)
    tags = check_tags(params.get("Tags"))
    check_trust_policy(trust)
    if ctx.conn.execute(select(R.c.pk).where(R.c.account_id == ctx.account_id, R.c.name_lower == name.lower())).first():
        raise AwsError(errors.ENTITY_ALREADY_EXISTS, f"Role with name {name} already exists.")
    boundary = _boundary_arn(ctx, params["PermissionsBoundary"]) if params.get("PermissionsBoundary") is not None else None
    pk = ctx.conn.execute(
        insert(R).values(
            account_id=ctx.account_id, name=name, name_lower=name.lower(), path=path, role_id=new_role_id(),
            arn=arns.role_arn(ctx.partition, ctx.account_id, path, name), trust_policy=trust, description=description,
            max_session_duration=duration, boundary_arn=boundary, created=ctx.now,
        )
    ).inserted_primary_key[0]
    merge_tags(ctx, ROLE_TAGS, pk, tags)
    row = ctx.conn.execute(select(R).where(R.c.pk == pk)).one()
    out = role_dict(ctx, row, detail=True)
    out.pop("RoleLastUsed")
    return {"Role": out}


def get(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    return {"Role": role_dict(ctx, role_row(ctx, _role_name(params)), detail=True)}


def list_(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    max_items = check_max_items(params)
    prefix = check_path_prefix(params["PathPrefix"]) if params.get("PathPrefix") else "/"
    marker = decode_marker(params, 1)
    query = select(R).where(R.c.account_id == ctx.account_id)
    if prefix != "/":
        query = query.where(func.substr(R.c.path, 1, len(prefix)) == prefix)
    if marker is not None:
        query = query.where(R.c.name_lower > str(marker[0]))
    rows = ctx.conn.execute(query.order_by(R.c.name_lower).limit(max_items + 1)).all()
    out: dict[str, Any] = {"Roles": [role_dict(ctx, r, detail=False) for r in rows[:max_items]]}
    return page_flags(out, rows, max_items, lambda r: [r.name_lower])


def delete_(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    row = role_row(ctx, _role_name(params))
    if count(ctx, A, A.c.role_pk == row.pk):
        raise AwsError(errors.DELETE_CONFLICT, "Cannot delete entity, must detach all policies first.")
    if count(ctx, IP, IP.c.role_pk == row.pk):
        raise AwsError(errors.DELETE_CONFLICT, "Cannot delete entity, must delete policies first.")
    ctx.conn.execute(delete(R).where(R.c.pk == row.pk))
    return {}


def update_(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    row = role_row(ctx, _role_name(params))
    values: dict[str, Any] = {}
    if params.get("Description") is not None:
        values["description"] = check_description(params["Description"])
    if params.get("MaxSessionDuration") is not None:
        values["max_session_duration"] = check_max_session_duration(params["MaxSessionDuration"])
    if values:
        ctx.conn.execute(update(R).where(R.c.pk == row.pk).values(values))
    return {}


def update_description(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    description = check_description(require_str(params, "Description", "description"))
    row = role_row(ctx, _role_name(params))
    ctx.conn.execute(update(R).where(R.c.pk == row.pk).values(description=description))
    row = ctx.conn.execute(select(R).where(R.c.pk == row.pk)).one()
    return {"Role": role_dict(ctx, row, detail=True)}


def update_assume_role_policy(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    document = require_str(params, "PolicyDocument", "policyDocument")
    row = role_row(ctx, _role_name(params))
    check_trust_policy(document)
    ctx.conn.execute(update(R).where(R.c.pk == row.pk).values(trust_policy=document))
    return {}


def put_boundary(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    row = role_row(ctx, _role_name(params))
    arn = _boundary_arn(ctx, params.get("PermissionsBoundary"))
    ctx.conn.execute(update(R).where(R.c.pk == row.pk).values(boundary_arn=arn))
    return {}


def delete_boundary(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    row = role_row(ctx, _role_name(params))
    ctx.conn.execute(update(R).where(R.c.pk == row.pk).values(boundary_arn=None))
    return {}


def tag(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    tags = check_tags(params.get("Tags") if params.get("Tags") is not None else [])
    row = role_row(ctx, _role_name(params))
    merge_tags(ctx, ROLE_TAGS, row.pk, tags)
    return {}


def untag(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    keys = check_tag_keys(params.get("TagKeys"))
    row = role_row(ctx, _role_name(params))
    remove_tags(ctx, ROLE_TAGS, row.pk, keys)
    return {}


def list_tags(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    max_items = check_max_items(params)
    row = role_row(ctx, _role_name(params))
    return list_tags_page(ctx, ROLE_TAGS, row.pk, params, max_items)


# ---------------------------------------------------------------------------- inline policies
def _policy_name(params: dict[str, Any]) -> str:
    return check_name(require_str(params, "PolicyName", "policyName"), "policyName", 128)


def _no_such_inline(name: str) -> AwsError:
    return AwsError(errors.NO_SUCH_ENTITY, f"The role policy with name {name} cannot be found.")


def put_policy(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    from irsa.policy import policy_size
    from irsa.policy.limits import INLINE_AGGREGATE_MAX, inline_limit_message

    policy_name = _policy_name(params)
    document = require_str(params, "PolicyDocument", "policyDocument")
    row = role_row(ctx, _role_name(params))
    policies.check_permission_policy(document)
    size = policy_size(document)
    others = ctx.conn.execute(
        select(func.coalesce(func.sum(IP.c.size), 0)).where(IP.c.role_pk == row.pk, IP.c.name != policy_name)
    ).scalar_one()
    if int(others) + size > INLINE_AGGREGATE_MAX["role"]:
        raise AwsError(errors.LIMIT_EXCEEDED, inline_limit_message("role", row.name))
    done = ctx.conn.execute(
        update(IP).where(IP.c.role_pk == row.pk, IP.c.name == policy_name).values(document=document, size=size)
    ).rowcount
    if not done:
        ctx.conn.execute(insert(IP).values(role_pk=row.pk, name=policy_name, document=document, size=size))
    return {}


def get_policy(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    policy_name = _policy_name(params)
    row = role_row(ctx, _role_name(params))
    doc = ctx.conn.execute(select(IP.c.document).where(IP.c.role_pk == row.pk, IP.c.name == policy_name)).scalar_one_or_none()
    if doc is None:
        raise _no_such_inline(policy_name)
    return {"RoleName": row.name, "PolicyName": policy_name, "PolicyDocument": doc}


def list_policies(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    max_items = check_max_items(params)
    row = role_row(ctx, _role_name(params))
    marker = decode_marker(params, 1)
    query = select(IP.c.name).where(IP.c.role_pk == row.pk)
    if marker is not None:
        query = query.where(IP.c.name > str(marker[0]))
    rows = ctx.conn.execute(query.order_by(IP.c.name).limit(max_items + 1)).all()
    return page_flags({"PolicyNames": [r.name for r in rows[:max_items]]}, rows, max_items, lambda r: [r.name])


def delete_policy(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    policy_name = _policy_name(params)
    row = role_row(ctx, _role_name(params))
    if not ctx.conn.execute(delete(IP).where(IP.c.role_pk == row.pk, IP.c.name == policy_name)).rowcount:
        raise _no_such_inline(policy_name)
    return {}


# ---------------------------------------------------------------------------- attachments
def attach(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    arn = require_str(params, "PolicyArn", "policyArn")
    row = role_row(ctx, _role_name(params))
    ref = policies.resolve(ctx, arn, attachable_message=True)
    if ctx.conn.execute(select(A.c.seq).where(A.c.role_pk == row.pk, A.c.policy_arn == arn)).first() is not None:
        return {}  # already attached: IAM succeeds without change
    seqs = ctx.conn.execute(select(func.count(), func.coalesce(func.max(A.c.seq), 0)).where(A.c.role_pk == row.pk)).one()
    if int(seqs[0]) >= limits.MANAGED_POLICIES_PER_ROLE:
        raise AwsError(errors.LIMIT_EXCEEDED, limits.quota_message("PoliciesPerRole", limits.MANAGED_POLICIES_PER_ROLE))
    ctx.conn.execute(
        insert(A).values(
            role_pk=row.pk, policy_arn=arn, policy_pk=ref.local.pk if ref.local is not None else None,
            account_id=ctx.account_id, seq=int(seqs[1]) + 1,
        )
    )
    return {}


def detach(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    arn = require_str(params, "PolicyArn", "policyArn")
    row = role_row(ctx, _role_name(params))
    split_policy_arn(arn, ctx.partition)  # malformed -> InvalidInput
    if not ctx.conn.execute(delete(A).where(A.c.role_pk == row.pk, A.c.policy_arn == arn)).rowcount:
        raise policies.not_found(arn)
    return {}


def list_attached(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    max_items = check_max_items(params)
    prefix = check_policy_path(params["PathPrefix"], "pathPrefix") if params.get("PathPrefix") else "/"
    row = role_row(ctx, _role_name(params))
    marker = decode_marker(params, 1)
    query = select(A.c.policy_arn, A.c.seq).where(A.c.role_pk == row.pk)
    if marker is not None:
        query = query.where(A.c.seq > int(marker[0]))
    items = []
    for r in ctx.conn.execute(query.order_by(A.c.seq)):
        _account, path, name = split_policy_arn(r.policy_arn, ctx.partition)
        if path.startswith(prefix):
            items.append((r, name))
    page = items[: max_items + 1]
    out: dict[str, Any] = {"AttachedPolicies": [{"PolicyName": n, "PolicyArn": r.policy_arn} for r, n in page[:max_items]]}
    return page_flags(out, page, max_items, lambda item: [item[0].seq])


OPERATIONS = {
    "CreateRole": (create, True),
    "GetRole": (get, False),
    "ListRoles": (list_, False),
    "DeleteRole": (delete_, True),
    "UpdateRole": (update_, True),
    "UpdateRoleDescription": (update_description, True),
    "UpdateAssumeRolePolicy": (update_assume_role_policy, True),
    "PutRolePermissionsBoundary": (put_boundary, True),
    "DeleteRolePermissionsBoundary": (delete_boundary, True),
    "TagRole": (tag, True),
    "UntagRole": (untag, True),
    "ListRoleTags": (list_tags, False),
    "PutRolePolicy": (put_policy, True),
    "GetRolePolicy": (get_policy, False),
    "ListRolePolicies": (list_policies, False),
    "DeleteRolePolicy": (delete_policy, True),
    "AttachRolePolicy": (attach, True),
    "DetachRolePolicy": (detach, True),
    "ListAttachedRolePolicies": (list_attached, False),
}
