"""IAM's policy simulator (SimulateCustomPolicy / SimulatePrincipalPolicy) on top of ``evaluate``.

Output mode (reference §4.2, decided): the *per (action, resource)* mode that AWS used until 2026-07 and that
existing clients and recordings expect — one ``EvaluationResult`` per action × resource, in action-major
order, with the concrete resource ARN as ``EvalResourceName``. When resources other than ``*`` are simulated,
each result also carries one ``ResourceSpecificResults`` entry mirroring it, the missing context keys are
listed there (the top-level list is then empty) and ``EvalDecisionDetails`` is ``{}``, as in the recorded AWS
responses. Results are plain dicts shaped like botocore's ``EvaluationResult``.

Policy ids for documents passed as text: ``PolicyInputList.N`` (1-based, as AWS reports), likewise
``PermissionsBoundaryPolicyInputList.N``, ``ResourcePolicy`` and ``SessionPolicy.N``. ``SourcePolicyType`` is
the compiled policy's ``policy_type``; for text inputs ``"IAM Policy"`` (the value AWS returned in the
recording; the model's enum differs, reference §6 item 6) and ``"resource"`` for the resource policy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import errors
from ..errors import AwsError
from .compiled import CompiledPolicy, MatchedStatement, compile_policy
from .document import PolicyKind
from .evaluate import Decision, evaluate
from .request import CONTEXT_TYPES, Context, Principal, Request

DEFAULT_POLICY_TYPE = "IAM Policy"
RESOURCE_POLICY_TYPE = "resource"

PolicyInput = str | CompiledPolicy


def _compile(item: PolicyInput, kind: PolicyKind, policy_id: str, policy_type: str) -> CompiledPolicy:
    if isinstance(item, CompiledPolicy):
        return item
    try:
        return compile_policy(item, kind, policy_id, policy_type)
    except AwsError as exc:
        # SimulateCustomPolicy/SimulatePrincipalPolicy report bad input documents as InvalidInput.
        raise AwsError(errors.INVALID_INPUT, exc.message) from None


def principal_from_arn(arn: str | None, default_account: str = "") -> Principal:
    """The caller a ``CallerArn`` names: IAM user, role (as a session of it), assumed-role session, account root;
    with no ARN, an unnamed IAM user of ``default_account``."""
    if not arn:
        return Principal("", default_account, kind="user")
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise AwsError(errors.INVALID_INPUT, f"Invalid ARN: {arn}")
    partition, service, account, resource = parts[1], parts[2], parts[4], parts[5]
    if service == "iam" and resource == "root":
        return Principal(arn, account, kind="root")
    if service == "iam" and resource.startswith("user/"):
        return Principal(arn, account, kind="user")
    if service == "iam" and resource.startswith("role/"):
        # simulating a role (SimulatePrincipalPolicy on a role): its calls are made by sessions of the role
        return Principal(arn, account, kind="role-session", role_arn=arn)
    if service == "sts" and resource.startswith("assumed-role/"):
        pieces = resource.split("/")
        if len(pieces) >= 3:
            role = f"arn:{partition}:iam::{account}:role/{pieces[1]}"
            return Principal(arn, account, kind="role-session", role_arn=role, session_arn=arn)
    raise AwsError(errors.INVALID_INPUT, f"Invalid CallerArn: {arn}")


def context_from_entries(entries: Sequence[Mapping[str, Any]] | None) -> Context:
    """``ContextEntries`` ({ContextKeyName, ContextKeyValues, ContextKeyType}) as a typed Context."""
    ctx = Context()
    for entry in entries or ():
        name = entry.get("ContextKeyName")
        values = list(entry.get("ContextKeyValues") or [])
        ctype = entry.get("ContextKeyType") or ("stringList" if len(values) > 1 else "string")
        if not name or ctype not in CONTEXT_TYPES:
            raise AwsError(errors.INVALID_INPUT, f"Invalid context entry: {name!r} of type {ctype!r}")
        ctx.add(name, values, ctype)
    return ctx


def statement_dict(m: MatchedStatement) -> dict[str, Any]:
    out: dict[str, Any] = {"SourcePolicyId": m.policy_id}
    if m.policy_type:
        out["SourcePolicyType"] = m.policy_type
    out["StartPosition"] = {"Line": m.start[0], "Column": m.start[1]}
    out["EndPosition"] = {"Line": m.end[0], "Column": m.end[1]}
    return out


def _result(action: str, resource: str, decision: Decision, with_boundary: bool) -> dict[str, Any]:
    matched = [statement_dict(m) for m in decision.matched_statements]
    result: dict[str, Any] = {
        "EvalActionName": action,
        "EvalResourceName": resource,
        "EvalDecision": decision.result,
        "MatchedStatements": matched,
        "MissingContextValues": list(decision.missing_context_values) if resource == "*" else [],
    }
    if with_boundary:
        result["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": bool(decision.allowed_by_boundary)}
    if resource != "*":
        result["EvalDecisionDetails"] = {}
        specific: dict[str, Any] = {
            "EvalResourceName": resource,
            "EvalResourceDecision": decision.result,
            "MatchedStatements": [dict(m) for m in matched],
            "MissingContextValues": list(decision.missing_context_values),
            "EvalDecisionDetails": {},
        }
        if with_boundary:
            specific["PermissionsBoundaryDecisionDetail"] = dict(result["PermissionsBoundaryDecisionDetail"])
        result["ResourceSpecificResults"] = [specific]
    return result


def simulate(
    policy_input_list: Sequence[PolicyInput],
    action_names: Sequence[str],
    *,
    resource_arns: Sequence[str] | None = None,
    resource_policy: PolicyInput | None = None,
    resource_owner: str | None = None,
    caller_arn: str | None = None,
    context_entries: Sequence[Mapping[str, Any]] | None = None,
    permissions_boundary_policy_input_list: Sequence[PolicyInput] = (),
    session_policies: Sequence[PolicyInput] = (),
    policy_type: str = DEFAULT_POLICY_TYPE,
) -> list[dict[str, Any]]:
    """EvaluationResults for every action × resource (see the module docstring for the output mode).

    Text inputs are compiled (identity kind; boundary kind; resource kind; session kind). A malformed input
    raises ``AwsError(InvalidInput, <IAM's MalformedPolicyDocument message>)``. Several boundary inputs
    are treated as one boundary set (any Allow, no Deny), as AWS's list parameter implies.
    """
    identity = [
        _compile(p, PolicyKind.IDENTITY, f"PolicyInputList.{i}", policy_type)
        for i, p in enumerate(policy_input_list, 1)
    ]
    boundaries = [
        _compile(p, PolicyKind.BOUNDARY, f"PermissionsBoundaryPolicyInputList.{i}", policy_type)
        for i, p in enumerate(permissions_boundary_policy_input_list, 1)
    ]
    sessions = [
        _compile(p, PolicyKind.SESSION, f"SessionPolicy.{i}", policy_type) for i, p in enumerate(session_policies, 1)
    ]
    rp = (
        _compile(resource_policy, PolicyKind.RESOURCE, "ResourcePolicy", RESOURCE_POLICY_TYPE)
        if resource_policy is not None
        else None
    )
    principal = principal_from_arn(caller_arn, resource_owner or "")
    ctx = context_from_entries(context_entries)
    resources = list(resource_arns) if resource_arns else ["*"]
    results: list[dict[str, Any]] = []
    for action in action_names:
        for resource in resources:
            req = Request(principal, action, resource, ctx)
            decision = _evaluate_with_boundaries(req, identity, rp, boundaries, sessions)
            results.append(_result(action, resource, decision, bool(boundaries)))
    return results


def _evaluate_with_boundaries(
    req: Request,
    identity: list[CompiledPolicy],
    rp: CompiledPolicy | None,
    boundaries: list[CompiledPolicy],
    sessions: list[CompiledPolicy],
) -> Decision:
    if len(boundaries) <= 1:
        return evaluate(req, identity=identity, resource_policy=rp, boundary=boundaries[0] if boundaries else None,
                        session=sessions or None)
    # Several boundary documents: the boundary allows when one of them allows and none denies.
    best: Decision | None = None
    for b in boundaries:
        d = evaluate(req, identity=identity, resource_policy=rp, boundary=b, session=sessions or None)
        if d.result == "explicitDeny":
            return d
        if best is None or (d.allowed and not best.allowed):
            best = d
    assert best is not None
    return best


def context_keys(policies: Sequence[PolicyInput], kind: PolicyKind = PolicyKind.IDENTITY) -> list[str]:
    """GetContextKeysForCustomPolicy: every condition key and policy-variable key the documents reference."""
    seen: dict[str, str] = {}
    for i, p in enumerate(policies, 1):
        for key in _compile(p, kind, f"PolicyInputList.{i}", DEFAULT_POLICY_TYPE).context_keys():
            seen.setdefault(key.lower(), key)
    return sorted(seen.values(), key=str.lower)
