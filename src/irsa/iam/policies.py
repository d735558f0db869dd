"""Managed policies: customer managed (stored, with versions) and AWS managed (the catalogue in
``irsa.policy.managed``, read-only, resolved by ARN).

Decisions:
- Not-found texts: ``Policy <arn> was not found.`` for Get/Delete/versions/Detach, and
  ``Policy <arn> does not exist or is not attachable.`` for Attach and permissions boundaries (IAM's texts).
  A missing version: ``Policy <arn> version <v> does not exist or is not attachable.``
- Writing to an AWS managed policy (CreatePolicyVersion, DeletePolicy...) is ``AccessDenied``, as IAM denies it.
- ``AttachmentCount`` / ``PermissionsBoundaryUsageCount`` count the caller's account only (AWS managed
  policies too), which is what IAM reports to an account.
- ListPolicies sorts by policy name (case-insensitive), AWS managed before customer on a tie.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update

from irsa import arn as arns
from irsa import errors
from irsa.errors import AwsError
from irsa.iam import limits
from irsa.iam.context import POLICY_TAGS, Ctx, count, merge_tags, page_flags, read_tags, tag_list
from irsa.iam.ids import new_policy_id
from irsa.iam.validation import (
    check_description,
    check_max_items,
    check_name,
    check_path_prefix,
    check_policy_path,
    check_tags,
    check_version_id,
    decode_marker,
    require_str,
    split_policy_arn,
)
from irsa.store import schema

MP = schema.managed_policies
PV = schema.policy_versions
A = schema.role_policy_attachments
R = schema.roles


# ---------------------------------------------------------------------------- the AWS managed catalogue
def _catalogue() -> Any:
    from irsa.policy import managed  # the policy engine owns the data

    return managed


def aws_managed_policy(arn: str, partition: str) -> Any | None:
    """The catalogue entry for an AWS managed policy ARN in our partition (path must match)."""
    if not arn.startswith(f"arn:{partition}:iam::aws:policy/"):
        return None
    return _catalogue().get_managed_policy(arn)


# ---------------------------------------------------------------------------- resolving a policy ARN
@dataclass(frozen=True)
class PolicyRef:
    arn: str
    local: Any | None = None  # a managed_policies row
    aws: Any | None = None  # an irsa.policy.managed.ManagedPolicy


def not_found(arn: str) -> AwsError:
    return AwsError(errors.NO_SUCH_ENTITY, f"Policy {arn} was not found.")


def not_attachable(arn: str) -> AwsError:
    return AwsError(errors.NO_SUCH_ENTITY, f"Policy {arn} does not exist or is not attachable.")


def resolve(ctx: Ctx, arn: str, *, attachable_message: bool = False) -> PolicyRef:
    account, _path, _name = split_policy_arn(arn, ctx.partition)
    missing = not_attachable(arn) if attachable_message else not_found(arn)
    if account == "aws":
        found = aws_managed_policy(arn, ctx.partition)
        if found is None:
            raise missing
        return PolicyRef(arn, aws=found)
    if account != ctx.account_id:
        raise missing
    row = ctx.conn.execute(select(MP).where(MP.c.arn == arn)).first()
    if row is None:
        raise missing
    return PolicyRef(arn, local=row)


def _local(ctx: Ctx, params: dict[str, Any]) -> Any:
    arn = require_str(params, "PolicyArn", "policyArn")
    ref = resolve(ctx, arn)
    if ref.local is None:
        raise AwsError(errors.ACCESS_DENIED, f"Cannot modify AWS managed policy {arn}.")
    return ref.local


# ---------------------------------------------------------------------------- output shapes
def _usage(ctx: Ctx, arn: str) -> tuple[int, int]:
    attached = count(ctx, A, A.c.account_id == ctx.account_id, A.c.policy_arn == arn)
    boundary = count(ctx, R, R.c.account_id == ctx.account_id, R.c.boundary_arn == arn)
    return attached, boundary


def _local_dict(
    ctx: Ctx, row: Any, *, with_description: bool, with_tags: bool, counts: tuple[int, int] | None = None
) -> dict[str, Any]:
    attached, boundary = counts if counts is not None else _usage(ctx, row.arn)
    out: dict[str, Any] = {
        "PolicyName": row.name,
        "PolicyId": row.policy_id,
        "Arn": row.arn,
        "Path": row.path,
        "DefaultVersionId": f"v{row.default_version}",
        "AttachmentCount": attached,
        "PermissionsBoundaryUsageCount": boundary,
        "IsAttachable": True,
        "CreateDate": row.created,
        "UpdateDate": row.updated,
    }
    if with_description and row.description is not None:
        out["Description"] = row.description
    if with_tags:
        tags = read_tags(ctx, POLICY_TAGS, row.pk)
        if tags:
            out["Tags"] = tag_list(tags)
    return out


def _aws_dict(ctx: Ctx, mp: Any, *, with_description: bool, counts: tuple[int, int] | None = None) -> dict[str, Any]:
    arn = mp.arn_in(ctx.partition)
    attached, boundary = counts if counts is not None else _usage(ctx, arn)
    out: dict[str, Any] = {
        "PolicyName": mp.name,
        "PolicyId": mp.policy_id,
        "Arn": arn,
        "Path": mp.path,
        "DefaultVersionId": mp.default_version_id,
        "AttachmentCount": attached,
        "PermissionsBoundaryUsageCount": boundary,
        "IsAttachable": True,
        "CreateDate": mp.create_date,
        "UpdateDate": mp.update_date,
    }
    if with_description and getattr(mp, "description", None):
        out["Description"] = mp.description
    return out


def _version_dict(document: str, version_id: str, is_default: bool, created: Any, *, with_document: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"VersionId": version_id, "IsDefaultVersion": is_default, "CreateDate": created}
    if with_document:
        out["Document"] = document
    return out


# ---------------------------------------------------------------------------- validation shared with roles
def check_permission_policy(text: str) -> None:
    from irsa.policy import PolicyKind, compile_policy

    compile_policy(text, PolicyKind.IDENTITY)


def check_managed_size(text: str) -> None:
    """Managed policy size quota (PolicySize 6144, as IAM counts it): the engine owns the number and text."""
    from irsa.policy import PolicyKind, check_size

    check_size(text, PolicyKind.IDENTITY)


# ---------------------------------------------------------------------------- operations
def create(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    name = check_name(require_str(params, "PolicyName", "policyName"), "policyName", 128)
    path = check_policy_path(params.get("Path") or "/")
    description = params.get("Description")
    if description is not None:
        check_description(description)
    document = require_str(params, "PolicyDocument", "policyDocument")
    tags = check_tags(params.get("Tags"))
    check_permission_policy(document)
    check_managed_size(document)
    if ctx.conn.execute(select(MP.c.pk).where(MP.c.account_id == ctx.account_id, MP.c.name_lower == name.lower())).first():
        raise AwsError(errors.ENTITY_ALREADY_EXISTS, f"A policy called {name} already exists. Duplicate names are not allowed.")
    arn = arns.policy_arn(ctx.partition, ctx.account_id, path, name)
    pk = ctx.conn.execute(
        insert(MP).values(
            account_id=ctx.account_id, name=name, name_lower=name.lower(), path=path, policy_id=new_policy_id(),
            arn=arn, description=description, default_version=1, next_version=2, created=ctx.now, updated=ctx.now,
        )
    ).inserted_primary_key[0]
    ctx.conn.execute(insert(PV).values(policy_pk=pk, version=1, document=document, created=ctx.now))
    merge_tags(ctx, POLICY_TAGS, pk, tags)
    row = ctx.conn.execute(select(MP).where(MP.c.pk == pk)).one()
    return {"Policy": _local_dict(ctx, row, with_description=True, with_tags=True)}


def get(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    ref = resolve(ctx, require_str(params, "PolicyArn", "policyArn"))
    if ref.local is not None:
        return {"Policy": _local_dict(ctx, ref.local, with_description=True, with_tags=True)}
    return {"Policy": _aws_dict(ctx, ref.aws, with_description=True)}


def delete_(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    row = _local(ctx, params)
    attached, boundary = _usage(ctx, row.arn)
    if attached or boundary:
        raise AwsError(errors.DELETE_CONFLICT, "Cannot delete a policy attached to entities.")
    if count(ctx, PV, PV.c.policy_pk == row.pk) > 1:
        raise AwsError(
            errors.DELETE_CONFLICT,
            "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. "
            "The default version is deleted with the policy.",
        )
    ctx.conn.execute(delete(MP).where(MP.c.pk == row.pk))
    return {}


def _missing_version(arn: str, version_id: str) -> AwsError:
    return AwsError(errors.NO_SUCH_ENTITY, f"Policy {arn} version {version_id} does not exist or is not attachable.")


def create_version(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    document = require_str(params, "PolicyDocument", "policyDocument")
    row = _local(ctx, params)
    check_permission_policy(document)
    check_managed_size(document)
    if count(ctx, PV, PV.c.policy_pk == row.pk) >= limits.POLICY_VERSIONS:
        raise AwsError(
            errors.LIMIT_EXCEEDED,
            "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.",
        )
    version = row.next_version
    make_default = bool(params.get("SetAsDefault"))
    ctx.conn.execute(insert(PV).values(policy_pk=row.pk, version=version, document=document, created=ctx.now))
    values: dict[str, Any] = {"next_version": version + 1, "updated": ctx.now}
    if make_default:
        values["default_version"] = version
    ctx.conn.execute(update(MP).where(MP.c.pk == row.pk).values(values))
    return {"PolicyVersion": _version_dict(document, f"v{version}", make_default, ctx.now, with_document=False)}


def get_version(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    arn = require_str(params, "PolicyArn", "policyArn")
    version_id = require_str(params, "VersionId", "versionId")
    number = check_version_id(version_id)
    ref = resolve(ctx, arn)
    if ref.aws is not None:
        if version_id != ref.aws.default_version_id:
            raise _missing_version(arn, version_id)
        return {"PolicyVersion": _version_dict(ref.aws.document, version_id, True, ref.aws.update_date)}
    found = None if number is None else ctx.conn.execute(
        select(PV).where(PV.c.policy_pk == ref.local.pk, PV.c.version == number)
    ).first()
    if found is None:
        raise _missing_version(arn, version_id)
    return {"PolicyVersion": _version_dict(found.document, version_id, number == ref.local.default_version, found.created)}


def list_versions(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    max_items = check_max_items(params)
    ref = resolve(ctx, require_str(params, "PolicyArn", "policyArn"))
    marker = decode_marker(params, 1)
    if ref.aws is not None:
        items = [] if marker is not None else [_version_dict("", ref.aws.default_version_id, True, ref.aws.update_date, with_document=False)]
        return {"Versions": items, "IsTruncated": False}
    query = select(PV.c.version, PV.c.created).where(PV.c.policy_pk == ref.local.pk)
    if marker is not None:
        query = query.where(PV.c.version < int(marker[0]))
    rows = ctx.conn.execute(query.order_by(PV.c.version.desc()).limit(max_items + 1)).all()
    out: dict[str, Any] = {
        "Versions": [
            _version_dict("", f"v{r.version}", r.version == ref.local.default_version, r.created, with_document=False)
            for r in rows[:max_items]
        ]
    }
    return page_flags(out, rows, max_items, lambda r: [r.version])


def delete_version(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    version_id = require_str(params, "VersionId", "versionId")
    number = check_version_id(version_id)
    row = _local(ctx, params)
    if number is None or ctx.conn.execute(select(PV.c.version).where(PV.c.policy_pk == row.pk, PV.c.version == number)).first() is None:
        raise _missing_version(row.arn, version_id)
    if number == row.default_version:
        raise AwsError(errors.DELETE_CONFLICT, "Cannot delete the default version of a policy.")
    ctx.conn.execute(delete(PV).where(PV.c.policy_pk == row.pk, PV.c.version == number))
    return {}


def set_default_version(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    version_id = require_str(params, "VersionId", "versionId")
    number = check_version_id(version_id)
    row = _local(ctx, params)
    if number is None or ctx.conn.execute(select(PV.c.version).where(PV.c.policy_pk == row.pk, PV.c.version == number)).first() is None:
        raise _missing_version(row.arn, version_id)
    ctx.conn.execute(update(MP).where(MP.c.pk == row.pk).values(default_version=number, updated=ctx.now))
    return {}


def list_(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    max_items = check_max_items(params)
    scope = params.get("Scope") or "All"
    if scope not in ("All", "AWS", "Local"):
        raise AwsError(
            errors.VALIDATION_ERROR,
            errors.validation_message("scope", scope, "Member must satisfy enum value set: [All, AWS, Local]"),
        )
    usage = params.get("PolicyUsageFilter")
    if usage not in (None, "PermissionsPolicy", "PermissionsBoundary"):
        raise AwsError(
            errors.VALIDATION_ERROR,
            errors.validation_message("policyUsageFilter", usage, "Member must satisfy enum value set: [PermissionsPolicy, PermissionsBoundary]"),
        )
    only_attached = bool(params.get("OnlyAttached"))
    prefix = check_policy_path(params["PathPrefix"], "pathPrefix") if params.get("PathPrefix") else "/"
    marker = decode_marker(params, 3)

    # Usage counts for the whole account in two grouped queries.
    attached = dict(
        ctx.conn.execute(
            select(A.c.policy_arn, func.count()).where(A.c.account_id == ctx.account_id).group_by(A.c.policy_arn)
        ).all()
    )
    bounded = dict(
        ctx.conn.execute(
            select(R.c.boundary_arn, func.count())
            .where(R.c.account_id == ctx.account_id, R.c.boundary_arn.is_not(None))
            .group_by(R.c.boundary_arn)
        ).all()
    )

    def wanted(arn: str, path: str) -> bool:
        if not path.startswith(prefix):
            return False
        a, b = attached.get(arn, 0), bounded.get(arn, 0)
        if usage == "PermissionsPolicy" and not a:
            return False if only_attached else True
        if usage == "PermissionsBoundary" and not b:
            return False if only_attached else True
        return not only_attached or bool(a or b)

    # (sort key, builder) pairs; the key [name_lower, source, path] is unique and short (marker <= 320).
    items: list[tuple[list[Any], Any]] = []
    if scope in ("All", "AWS"):
        for mp in _catalogue().list_managed_policies():
            arn = mp.arn_in(ctx.partition)
            if wanted(arn, mp.path):
                items.append(([mp.name.lower(), 0, mp.path], ("aws", mp, arn)))
    if scope in ("All", "Local"):
        for row in ctx.conn.execute(select(MP).where(MP.c.account_id == ctx.account_id)):
            if wanted(row.arn, row.path):
                items.append(([row.name_lower, 1, ""], ("local", row, row.arn)))
    items.sort(key=lambda kv: (kv[0][0], kv[0][1], kv[0][2]))
    if marker is not None:
        mk = (str(marker[0]), int(marker[1]), str(marker[2]))
        items = [kv for kv in items if (kv[0][0], kv[0][1], kv[0][2]) > mk]
    page = items[: max_items + 1]
    policies = []
    for _key, (kind, obj, arn) in page[:max_items]:
        counts = (attached.get(arn, 0), bounded.get(arn, 0))
        if kind == "aws":
            policies.append(_aws_dict(ctx, obj, with_description=False, counts=counts))
        else:
            policies.append(_local_dict(ctx, obj, with_description=False, with_tags=False, counts=counts))
    return page_flags({"Policies": policies}, page, max_items, lambda kv: kv[0])


def list_entities(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    max_items = check_max_items(params)
    ref = resolve(ctx, require_str(params, "PolicyArn", "policyArn"))
    entity_filter = params.get("EntityFilter")
    if entity_filter not in (None, "User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"):
        raise AwsError(
            errors.VALIDATION_ERROR,
            errors.validation_message(
                "entityFilter", entity_filter, "Member must satisfy enum value set: [User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]"
            ),
        )
    usage = params.get("PolicyUsageFilter")
    prefix = check_path_prefix(params["PathPrefix"]) if params.get("PathPrefix") else "/"
    marker = decode_marker(params, 1)
    out: dict[str, Any] = {"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": []}
    # Users and groups are not modelled: only roles can hold policies here.
    if entity_filter in ("User", "Group"):
        out["IsTruncated"] = False
        return out
    conditions = []
    if usage in (None, "PermissionsPolicy"):
        conditions.append(R.c.pk.in_(select(A.c.role_pk).where(A.c.account_id == ctx.account_id, A.c.policy_arn == ref.arn)))
    if usage in (None, "PermissionsBoundary"):
        conditions.append(R.c.boundary_arn == ref.arn)
    query = select(R.c.name, R.c.name_lower, R.c.role_id, R.c.path).where(R.c.account_id == ctx.account_id, or_(*conditions))
    if marker is not None:
        query = query.where(R.c.name_lower > str(marker[0]))
    rows = [r for r in ctx.conn.execute(query.order_by(R.c.name_lower)) if r.path.startswith(prefix)]
    rows = rows[: max_items + 1]
    out["PolicyRoles"] = [{"RoleName": r.name, "RoleId": r.role_id} for r in rows[:max_items]]
    return page_flags(out, rows, max_items, lambda r: [r.name_lower])


OPERATIONS = {
    "CreatePolicy": (create, True),
    "GetPolicy": (get, False),
    "ListPolicies": (list_, False),
    "DeletePolicy": (delete_, True),
    "CreatePolicyVersion": (create_version, True),
    "GetPolicyVersion": (get_version, False),
    "ListPolicyVersions": (list_versions, False),
    "DeletePolicyVersion": (delete_version, True),
    "SetDefaultPolicyVersion": (set_default_version, True),
    "ListEntitiesForPolicy": (list_entities, False),
}
