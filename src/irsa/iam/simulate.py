"""SimulateCustomPolicy and SimulatePrincipalPolicy (policy-evaluation.md §4), via ``irsa.policy.simulate``.

The engine decides the output mode (one result per action x resource) and the policy ids of text inputs
(``PolicyInputList.N``). This module gathers a role's own policies for SimulatePrincipalPolicy: inline
policies (``SourcePolicyType`` ``role``, id = policy name) and attached managed policies (``user-managed`` /
``aws-managed``, id = policy name), plus its permissions boundary unless
``PermissionsBoundaryPolicyInputList`` replaces it. The trust policy takes no part (as in IAM).

Only roles can be simulated principals: a user or group ARN is ``NoSuchEntity`` (we have none).
``PolicyExclusionList`` entries drop inline policies (by name, role attachment), managed policies (by ARN)
or the boundary (``permission-boundary``) from the simulation. Results are paginated by index
(``MaxItems``/``Marker``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from irsa import errors
from irsa.errors import AwsError
from irsa.iam import lookups
from irsa.iam.context import Ctx, no_such_role, page_flags
from irsa.iam.models import Role
from irsa.iam.validation import check_max_items, decode_marker, parse_iam_arn, require_str
from irsa.store import schema


def _string_list(params: dict[str, Any], key: str, member: str, *, required: bool) -> list[str]:
    value = params.get(key)
    if value is None:
        if required:
            raise AwsError(errors.VALIDATION_ERROR, errors.validation_message(member, "null", "Member must not be null"))
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AwsError(errors.INVALID_INPUT, f"{key} must be a list of strings.")
    return value


def _paginate(results: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    max_items = check_max_items(params)
    marker = decode_marker(params, 1)
    start = int(marker[0]) if marker is not None else 0
    if start < 0 or start > len(results):
        raise AwsError(errors.VALIDATION_ERROR, "Invalid Marker.")
    page = [(i, r) for i, r in enumerate(results[start:], start)][: max_items + 1]
    out: dict[str, Any] = {"EvaluationResults": [r for _, r in page[:max_items]]}
    return page_flags(out, page, max_items, lambda item: [item[0] + 1])


def _common(params: dict[str, Any]) -> dict[str, Any]:
    resource_policy = params.get("ResourcePolicy")
    return {
        "resource_arns": _string_list(params, "ResourceArns", "resourceArns", required=False) or None,
        "resource_policy": resource_policy,
        "resource_owner": params.get("ResourceOwner"),
        "caller_arn": params.get("CallerArn"),
        "context_entries": params.get("ContextEntries"),
    }


def simulate_custom(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    from irsa.policy.simulate import simulate

    policies = _string_list(params, "PolicyInputList", "policyInputList", required=True)
    actions = _string_list(params, "ActionNames", "actionNames", required=True)
    boundaries = _string_list(params, "PermissionsBoundaryPolicyInputList", "permissionsBoundaryPolicyInputList", required=False)
    results = simulate(policies, actions, permissions_boundary_policy_input_list=boundaries, **_common(params))
    return _paginate(results, params)


def _exclusions(params: dict[str, Any]) -> tuple[set[str], set[str], bool]:
    """(inline policy names, managed policy ARNs, exclude boundary) from ``PolicyExclusionList``."""
    inline: set[str] = set()
    managed: set[str] = set()
    boundary = False
    for entry in params.get("PolicyExclusionList") or []:
        if not isinstance(entry, dict):
            raise AwsError(errors.INVALID_INPUT, "PolicyExclusionList entries must be structures.")
        kind = entry.get("PolicyType")
        if kind == "inline":
            ident = entry.get("InlinePolicyIdentifier") or {}
            if ident.get("AttachmentType", "role") == "role" and ident.get("PolicyName"):
                inline.add(ident["PolicyName"])
        elif kind in ("aws-managed", "user-managed") and entry.get("PolicyArn"):
            managed.add(entry["PolicyArn"])
        elif kind == "permission-boundary":
            boundary = True
    return inline, managed, boundary


def simulate_principal(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    from irsa.policy import PolicyKind, compile_policy
    from irsa.policy.simulate import simulate

    source = require_str(params, "PolicySourceArn", "policySourceArn")
    account, rest = _principal_arn(source, ctx.partition)
    name = rest.rsplit("/", 1)[-1]
    kind = rest.split("/", 1)[0]
    if kind != "role":
        raise AwsError(errors.NO_SUCH_ENTITY, f"The {kind} with name {name} cannot be found.")
    t = schema.roles
    row = None if account != ctx.account_id else ctx.conn.execute(select(t).where(t.c.arn == source)).first()
    if row is None:
        raise no_such_role(name)
    actions = _string_list(params, "ActionNames", "actionNames", required=True)
    extra = _string_list(params, "PolicyInputList", "policyInputList", required=False)
    boundary_inputs = _string_list(params, "PermissionsBoundaryPolicyInputList", "permissionsBoundaryPolicyInputList", required=False)
    skip_inline, skip_managed, skip_boundary = _exclusions(params)

    role = Role(
        pk=row.pk, account_id=row.account_id, name=row.name, path=row.path, role_id=row.role_id, arn=row.arn,
        assume_role_policy_document=row.trust_policy, description=row.description,
        max_session_duration=row.max_session_duration, permissions_boundary_arn=row.boundary_arn, created=row.created,
    )
    identity: list[Any] = []
    for doc in lookups.role_permission_policies(ctx.conn, role, ctx.partition):
        if (doc.policy_type == "role" and doc.name in skip_inline) or (doc.arn is not None and doc.arn in skip_managed):
            continue
        identity.append(compile_policy(doc.document, PolicyKind.IDENTITY, doc.policy_id, doc.policy_type))
    identity.extend(extra)
    boundaries: list[Any] = list(boundary_inputs)
    if not boundaries and not skip_boundary and role.permissions_boundary_arn is not None:
        doc = lookups.managed_policy_document(ctx.conn, role.account_id, role.permissions_boundary_arn, ctx.partition)
        if doc is not None:
            boundaries.append(compile_policy(doc.document, PolicyKind.BOUNDARY, doc.policy_id, doc.policy_type))
    results = simulate(identity, actions, permissions_boundary_policy_input_list=boundaries, **_common(params))
    return _paginate(results, params)


def _principal_arn(arn: str, partition: str) -> tuple[str, str]:
    for kind in ("role", "user", "group"):
        if arn.startswith(f"arn:{partition}:iam::") and f":{kind}/" in arn:
            account, rest = parse_iam_arn(arn, partition, kind)
            return account, f"{kind}/{rest}"
    raise AwsError(errors.INVALID_INPUT, f"ARN {arn} is not valid.")


OPERATIONS = {
    "SimulateCustomPolicy": (simulate_custom, False),
    "SimulatePrincipalPolicy": (simulate_principal, False),
}
