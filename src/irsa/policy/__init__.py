"""The IAM policy language: parse + validate, wildcard matching, condition operators, evaluation
(identity, resource/trust, boundary, session), explanation, simulator. Pure: no I/O except the lazily
loaded managed-policy data (``irsa.policy.managed``).
"""

from .compiled import CompiledPolicy, MatchedStatement, compile_policy, validate_policy
from .document import Finding, PolicyKind
from .evaluate import Decision, evaluate
from .limits import check_size, policy_size
from .request import Context, Principal, Request

__all__ = [
    "CompiledPolicy",
    "Context",
    "Decision",
    "Finding",
    "MatchedStatement",
    "PolicyKind",
    "Principal",
    "Request",
    "check_size",
    "compile_policy",
    "evaluate",
    "policy_size",
    "validate_policy",
]
