"""Policy size as IAM counts it for quotas, and the quotas themselves (reference §1.6).

"IAM does not count white space when calculating the size of a policy": whitespace *outside* JSON strings is
not counted; every character inside a string (including spaces) is.
"""

from __future__ import annotations

from .. import errors
from ..errors import AwsError
from .document import PolicyKind

MANAGED_POLICY_MAX = 6144
ROLE_TRUST_POLICY_MAX = 2048  # default quota ACLSizePerRole (adjustable up to 4096)
SESSION_POLICY_MAX = 2048
INLINE_AGGREGATE_MAX = {"user": 2048, "group": 5120, "role": 10240}

_WHITESPACE = frozenset(" \t\n\r")


def policy_size(text: str) -> int:
    """Characters IAM counts: everything except whitespace outside string literals. Linear time."""
    size = 0
    in_string = False
    escaped = False
    for ch in text:
        if in_string:
            size += 1
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch in _WHITESPACE:
            continue
        else:
            size += 1
            if ch == '"':
                in_string = True
    return size


def check_size(text: str, kind: PolicyKind) -> None:
    """Raise IAM's LimitExceeded for a managed (identity/boundary) or trust policy over its quota.

    Inline-policy limits are per entity and aggregate: use ``inline_limit_message`` where they are summed.
    Session-policy length is a model constraint of STS (checked by the wire layer).
    """
    size = policy_size(text)
    if kind in (PolicyKind.IDENTITY, PolicyKind.BOUNDARY) and size > MANAGED_POLICY_MAX:
        raise AwsError(errors.LIMIT_EXCEEDED, f"Cannot exceed quota for PolicySize: {MANAGED_POLICY_MAX}")
    if kind == PolicyKind.TRUST and size > ROLE_TRUST_POLICY_MAX:
        raise AwsError(errors.LIMIT_EXCEEDED, f"Cannot exceed quota for ACLSizePerRole: {ROLE_TRUST_POLICY_MAX}")


def inline_limit_message(entity_type: str, name: str) -> str:
    """``Maximum policy size of 10240 bytes exceeded for role <name>`` (entity_type: user, group, role)."""
    return f"Maximum policy size of {INLINE_AGGREGATE_MAX[entity_type]} bytes exceeded for {entity_type} {name}"
