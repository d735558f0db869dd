"""The decision procedure (reference §1.1-1.3, AWS "policy evaluation logic", single account).

1. ``sts:GetCallerIdentity`` is always allowed (it needs no permission, even under an explicit Deny).
2. Any applicable Deny in identity, resource, boundary or session policies -> ``explicitDeny``; the
   matched statements are the Deny statements only ("the deny statement is the only entry").
3. A resource-policy (or trust-policy) Allow that names the caller *directly* (user ARN, role-session ARN,
   federated or service principal, ``*``) -> ``allowed`` (not limited by identity, boundary or session).
4. Otherwise an Allow must come from an identity policy or from a resource policy naming the caller's
   *role ARN*; a resource policy naming only the account delegates to identity policies. None -> implicitDeny.
5. A permissions boundary, when set, must allow -> else implicitDeny.
6. Session policies, when the caller is a role session and some were passed, must allow -> else implicitDeny.
7. The account root user is allowed unless explicitly denied (step 0 of AWS's procedure).

Trust evaluation for AssumeRole* is ``evaluate(req, resource_policy=trust)``: the trust policy alone must allow
(a trust policy naming only the account also needs the caller's identity policies, passed as ``identity``).
Out of scope: SCPs/RCPs, cross-account evaluation (the caller and the resource are taken to be in one account).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from .compiled import VIA_ACCOUNT, VIA_DIRECT, VIA_NONE, VIA_ROLE, CompiledPolicy, MatchedStatement
from .request import Request

Result = Literal["allowed", "explicitDeny", "implicitDeny"]

# The policy type named in "because no <type> policy allows the <action> action" / "explicit deny in a <type> policy".
IDENTITY_BASED = "identity-based"
RESOURCE_BASED = "resource-based"
PERMISSIONS_BOUNDARY = "permissions boundary"
SESSION = "session"


class Decision:
    """The outcome of ``evaluate``.

    ``matched_statements``: for ``allowed`` the Allow statements that matched (all of them, from every policy
    set that took part), for ``explicitDeny`` only the Deny statements, for ``implicitDeny`` none.
    ``missing_context_values``: condition (and policy-variable) keys that matching statements referenced but
    the request context lacked. ``reason``: for a denial, the policy type that denied or lacked an Allow
    ("identity-based", "resource-based", "permissions boundary", "session"), as in AWS's AccessDenied text.
    ``allowed_by_boundary``: None without a boundary, else whether it allows.
    """

    __slots__ = ("result", "matched_statements", "missing_context_values", "reason", "allowed_by_boundary")

    def __init__(
        self,
        result: Result,
        matched_statements: list[MatchedStatement] | None = None,
        missing_context_values: list[str] | None = None,
        reason: str | None = None,
        allowed_by_boundary: bool | None = None,
    ) -> None:
        self.result = result
        self.matched_statements = matched_statements if matched_statements is not None else []
        self.missing_context_values = missing_context_values if missing_context_values is not None else []
        self.reason = reason
        self.allowed_by_boundary = allowed_by_boundary

    @property
    def allowed(self) -> bool:
        return self.result == "allowed"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Decision):
            return NotImplemented
        return (self.result, self.matched_statements, self.missing_context_values, self.reason,
                self.allowed_by_boundary) == (other.result, other.matched_statements, other.missing_context_values,
                                              other.reason, other.allowed_by_boundary)

    def __repr__(self) -> str:
        return (f"Decision({self.result!r}, matched_statements={self.matched_statements!r}, "
                f"missing_context_values={self.missing_context_values!r}, reason={self.reason!r})")


_ALWAYS_ALLOWED = frozenset({"sts:getcalleridentity"})


def _scan(
    policy: CompiledPolicy, req: Request, missing: dict[str, str]
) -> tuple[list[tuple[MatchedStatement, str]], list[tuple[MatchedStatement, str]]]:
    """Matching (allow, deny) statements of one policy, each with how the caller was named (VIA_*)."""
    allow, deny = policy.candidates(req.action_lower, req.service)
    matched = policy.matched
    allows: list[tuple[MatchedStatement, str]] = []
    denies: list[tuple[MatchedStatement, str]] = []
    for st in deny:
        via = VIA_NONE if st.unconditional else st.applies_after_action(req, missing)
        if via is not None:
            denies.append((matched[st], via))
    for st in allow:
        via = VIA_NONE if st.unconditional else st.applies_after_action(req, missing)
        if via is not None:
            allows.append((matched[st], via))
    return allows, denies


def _keys(missing: dict[str, str]) -> list[str]:
    return sorted(missing.values(), key=str.lower) if missing else []


def evaluate(
    request: Request,
    *,
    identity: Sequence[CompiledPolicy] = (),
    resource_policy: CompiledPolicy | None = None,
    boundary: CompiledPolicy | None = None,
    session: Sequence[CompiledPolicy] | None = None,
) -> Decision:
    """Decide ``request`` against the given policies (see the module docstring for the procedure)."""
    action = request.action_lower
    if action in _ALWAYS_ALLOWED:
        return Decision("allowed", [], [])
    service = request.service
    missing: dict[str, str] = {}

    # identity policies: the hot path of enforcement, written out for speed
    id_allow: list[MatchedStatement] = []
    id_deny: list[MatchedStatement] = []
    for policy in identity:
        allow, deny = policy.candidates(action, service)
        if deny:
            for st in deny:
                if st.unconditional or st.applies_after_action(request, missing) is not None:
                    id_deny.append(policy.matched[st])
        if allow:
            for st in allow:
                if st.unconditional or st.applies_after_action(request, missing) is not None:
                    id_allow.append(policy.matched[st])

    if resource_policy is None and boundary is None and not session:
        keys = sorted(missing.values(), key=str.lower) if missing else []
        if id_deny:
            return Decision("explicitDeny", id_deny, keys, IDENTITY_BASED)
        if id_allow or request.principal.kind == "root":
            return Decision("allowed", id_allow, keys)
        return Decision("implicitDeny", [], keys, IDENTITY_BASED)

    rp_allow, rp_deny = _scan(resource_policy, request, missing) if resource_policy is not None else ([], [])
    b_allow, b_deny = _scan(boundary, request, missing) if boundary is not None else ([], [])
    s_allow: list[tuple[MatchedStatement, str]] = []
    s_deny: list[tuple[MatchedStatement, str]] = []
    has_session = bool(session) and request.principal.kind == "role-session"
    if has_session:
        for policy in session:  # type: ignore[union-attr]
            a, d = _scan(policy, request, missing)
            s_allow += a
            s_deny += d

    keys = _keys(missing)
    boundary_ok = None if boundary is None else bool(b_allow) and not b_deny

    if id_deny or rp_deny or b_deny or s_deny:
        reason = (
            IDENTITY_BASED if id_deny else RESOURCE_BASED if rp_deny else PERMISSIONS_BOUNDARY if b_deny else SESSION
        )
        matched = id_deny + [m for m, _ in rp_deny + b_deny + s_deny]
        return Decision("explicitDeny", matched, keys, reason, boundary_ok)

    direct = [m for m, via in rp_allow if via == VIA_DIRECT]
    if direct:
        return Decision("allowed", direct + id_allow, keys, None, boundary_ok)

    if request.principal.kind == "root":
        return Decision("allowed", id_allow + [m for m, _ in rp_allow], keys, None, boundary_ok)

    via_role = [m for m, via in rp_allow if via == VIA_ROLE]
    via_account = [m for m, via in rp_allow if via == VIA_ACCOUNT]
    if not id_allow and not via_role:
        reason = IDENTITY_BASED if identity or resource_policy is None else RESOURCE_BASED
        return Decision("implicitDeny", [], keys, reason, boundary_ok)
    if boundary is not None and not b_allow:
        return Decision("implicitDeny", [], keys, PERMISSIONS_BOUNDARY, boundary_ok)
    if has_session and not s_allow:
        return Decision("implicitDeny", [], keys, SESSION, boundary_ok)
    granted = id_allow + via_role + (via_account if id_allow else [])
    granted += [m for m, _ in b_allow + s_allow]
    return Decision("allowed", granted, keys, None, boundary_ok)
