"""Compiled policies: matchers built once per document, indexed by service prefix, cached by content hash.

A ``CompiledPolicy`` is a light handle (policy id and type, as the caller names the policy) around a shared,
immutable ``PolicyBody`` (the statements and their index), so the same document attached under different
names compiles once. The body cache is an LRU guarded by a lock; everything reachable from a body is
read-only after construction, so concurrent evaluations need no locking.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

from .. import errors
from ..errors import AwsError
from .conditions import Condition, split_operator
from .document import Finding, ParsedPolicy, ParsedStatement, PolicyKind, parse_document
from .glob import Part, alternation, arn_regex_source, compile_arn, glob_regex_source, has_wildcard
from .request import Context, Principal, Request
from .variables import Piece, Variable, parse_template, resolve

# Hard bound on raw document text (parsing is linear; this only caps memory). API-level limits (6,144 managed,
# 2,048 trust, 131,072 simulator input) are enforced by limits.check_size and the wire layer's model checks.
# AWS's own managed policies are larger than any customer quota (ReadOnlyAccess: ~190 KB pretty-printed).
MAX_POLICY_CHARS = 1_048_576
_CACHE_SIZE = 2048
_ACTION_MEMO = 4096

# how a resource/trust policy statement named the caller (reference §1.1 step 4)
VIA_DIRECT = "direct"  # user ARN, session ARN, federated/service principal, or "*": a grant to the caller
VIA_ROLE = "role"  # the role ARN of a role session: limited by boundary and session policies
VIA_ACCOUNT = "account"  # the account: a delegation, the caller's identity policies must also allow
VIA_NONE = ""  # identity-like policies: no Principal element


class ActionMatcher:
    """``Action``/``NotAction`` patterns: literal ``svc:name`` set plus one glob regex per service."""

    __slots__ = ("any", "literals", "globs", "services")

    def __init__(self, patterns: list[str]) -> None:
        self.any = False
        literals: set[str] = set()
        globs: dict[str, list[str]] = {}
        for pattern in patterns:
            lower = pattern.lower()
            if lower == "*":
                self.any = True
                continue
            svc, _, name = lower.partition(":")
            if has_wildcard(name):
                globs.setdefault(svc, []).append(glob_regex_source([(True, name)]))
            else:
                literals.add(lower)
        self.literals = frozenset(literals)
        self.globs = {svc: alternation(sources) for svc, sources in globs.items()}
        self.services = frozenset({a.partition(":")[0] for a in literals} | set(globs))

    def matches(self, action_lower: str, service: str) -> bool:
        if self.any or action_lower in self.literals:
            return True
        rx = self.globs.get(service)
        return rx is not None and rx.fullmatch(action_lower[len(service) + 1 :]) is not None


class _ResourcePattern:
    __slots__ = ("regex", "template", "service_wide")

    def __init__(self, text: str, substitute: bool) -> None:
        self.template: tuple[Piece, ...] | None = None
        self.regex: re.Pattern[str] | None = None
        parts = text.split(":", 5)
        if substitute and len(parts) == 6:
            tail = parse_template(parts[5])
            if tail is not None:
                self.template = (":".join(parts[:5]) + ":",) + tail
        if self.template is None:
            self.regex = compile_arn(text)
        # "arn:<partition>:<svc>:<''|*>:<''|*>:*": all resources of one service (decides reference §6 item 1)
        self.service_wide: str | None = None
        if len(parts) == 6 and parts[3] in ("", "*") and parts[4] in ("", "*") and parts[5] == "*":
            self.service_wide = parts[2].lower()

    def matches(self, resource: str, service: str, ctx: Context) -> bool:
        if resource == "*":
            # A wildcard-only action (no resource type): "*" matches, and so does a pattern covering every
            # resource of the action's service (AWS grants s3:ListAllMyBuckets with "arn:aws:s3:::*").
            return self.service_wide == service
        if self.regex is not None:
            return self.regex.fullmatch(resource) is not None
        assert self.template is not None
        parts = resolve(self.template, ctx.single)
        if parts is None:
            return False  # an unresolved variable in Resource matches nothing
        return _compiled_arn_parts(tuple(parts)).fullmatch(resource) is not None


_ARN_PARTS_CACHE: OrderedDict[tuple[Part, ...], re.Pattern[str]] = OrderedDict()
_ARN_PARTS_LOCK = threading.Lock()


def _compiled_arn_parts(parts: tuple[Part, ...]) -> re.Pattern[str]:
    with _ARN_PARTS_LOCK:
        rx = _ARN_PARTS_CACHE.get(parts)
        if rx is not None:
            _ARN_PARTS_CACHE.move_to_end(parts)
            return rx
    rx = re.compile(arn_regex_source(parts), re.DOTALL)
    with _ARN_PARTS_LOCK:
        _ARN_PARTS_CACHE[parts] = rx
        if len(_ARN_PARTS_CACHE) > 4096:
            _ARN_PARTS_CACHE.popitem(last=False)
    return rx


class ResourceMatcher:
    __slots__ = ("any", "patterns", "literals")

    def __init__(self, patterns: list[str], substitute: bool) -> None:
        self.any = "*" in patterns
        self.literals = frozenset(p for p in patterns if not has_wildcard(p) and "${" not in p)
        self.patterns = tuple(_ResourcePattern(p, substitute) for p in patterns if p != "*")

    def matches(self, resource: str, service: str, ctx: Context) -> bool:
        if self.any or resource in self.literals:
            return True
        for p in self.patterns:
            if p.matches(resource, service, ctx):
                return True
        return False


class PrincipalMatcher:
    __slots__ = ("everyone", "accounts", "arns", "federated", "services", "canonical")

    def __init__(self, principal: dict[str, list[str]]) -> None:
        self.everyone = "*" in principal or "*" in principal.get("AWS", [])
        accounts: set[str] = set()
        arns: set[str] = set()
        for value in principal.get("AWS", []):
            if value == "*":
                continue
            if value.isdigit() and len(value) == 12:
                accounts.add(value)
                continue
            parts = value.split(":", 5)
            if len(parts) == 6 and parts[2] == "iam" and parts[5] == "root":
                accounts.add(parts[4])
            else:
                arns.add(value)
        self.accounts = frozenset(accounts)
        self.arns = frozenset(arns)
        self.federated = frozenset(principal.get("Federated", []))
        self.services = frozenset(principal.get("Service", []))
        self.canonical = frozenset(principal.get("CanonicalUser", []))

    def match(self, p: Principal) -> str | None:
        """How the caller is named (VIA_*), or None when it is not."""
        if self.everyone:
            return VIA_DIRECT
        kind = p.kind
        if kind == "anonymous":
            return None
        if kind == "federated":
            return VIA_DIRECT if p.federated in self.federated else None
        if kind == "service":
            return VIA_DIRECT if p.service in self.services else None
        if p.canonical_user is not None and p.canonical_user in self.canonical:
            return VIA_DIRECT
        if p.arn in self.arns or (p.session_arn is not None and p.session_arn in self.arns):
            return VIA_DIRECT
        if kind == "role-session" and p.role_arn is not None and p.role_arn in self.arns:
            return VIA_ROLE
        if p.account in self.accounts:
            return VIA_ACCOUNT
        return None

    def excludes(self, p: Principal) -> bool:
        """NotPrincipal: is the caller excluded? Every identity in its chain must be listed (AWS's
        NotPrincipal page: list the user *and* its account; for a role session the session ARN, the role ARN
        and the account), otherwise the Deny still applies through the unlisted one."""
        if self.everyone:
            return True
        kind = p.kind
        if kind == "anonymous":
            return False
        if kind == "federated":
            return p.federated in self.federated
        if kind == "service":
            return p.service in self.services
        if p.canonical_user is not None and p.canonical_user in self.canonical:
            return True
        account_listed = p.account in self.accounts
        if kind == "root":
            return account_listed
        if kind == "user":
            return account_listed and p.arn in self.arns
        if kind == "role-session":
            session = p.session_arn or p.arn
            return account_listed and session in self.arns and p.role_arn in self.arns
        return False


@dataclass(frozen=True)
class MatchedStatement:
    policy_id: str
    policy_type: str
    index: int  # 0-based statement index in the document
    sid: str | None
    start: tuple[int, int]  # (line, column), IAM's StartPosition
    end: tuple[int, int]


class Statement:
    __slots__ = (
        "index", "sid", "allow", "action", "not_action", "resource", "not_resource",
        "principal", "not_principal", "conditions", "start", "end", "condition_keys", "unconditional",
    )

    def __init__(self, st: ParsedStatement, substitute: bool) -> None:
        self.index = st.index
        self.sid = st.sid
        self.allow = st.effect == "Allow"
        self.not_action = st.not_actions is not None
        self.action = ActionMatcher(st.not_actions if st.not_actions is not None else (st.actions or []))
        self.not_resource = st.not_resources is not None
        res = st.not_resources if st.not_resources is not None else st.resources
        self.resource = ResourceMatcher(res, substitute) if res is not None else None
        self.not_principal = st.not_principal is not None
        pr = st.not_principal if st.not_principal is not None else st.principal
        self.principal = PrincipalMatcher(pr) if pr is not None else None
        conds: list[Condition] = []
        for entry in st.conditions:
            set_op, base, if_exists = split_operator(entry.operator)
            c = Condition(entry.operator, base, set_op, if_exists, entry.key, entry.key.lower(), tuple(entry.values))
            c.prepare(substitute)
            conds.append(c)
        self.conditions = tuple(conds)
        keys: dict[str, str] = {}
        for c in conds:
            for k in c.referenced_keys():
                keys.setdefault(k.lower(), k)
        for pattern in self.resource.patterns if self.resource is not None else ():
            if pattern.template:
                for piece in pattern.template:
                    if isinstance(piece, Variable):
                        keys.setdefault(piece.key_lower, piece.key)
        self.condition_keys = tuple(keys.items())
        self.start = st.start
        self.end = st.end
        # applies whenever its action matches: no principal, no conditions, Resource "*" (or none)
        self.unconditional = (
            self.principal is None and not self.conditions
            and (self.resource is None or (self.resource.any and not self.not_resource))
        )

    @property
    def is_wildcard_action(self) -> bool:
        return self.not_action or self.action.any

    def applies_after_action(self, req: Request, missing: dict[str, str]) -> str | None:
        """For a statement whose action already matched: VIA_* when resource, principal and conditions hold."""
        if self.resource is not None:
            if self.resource.matches(req.resource, req.service, req.context) == self.not_resource:
                return None
        if self.principal is None:
            via = VIA_NONE
        elif self.not_principal:
            if self.principal.excludes(req.principal):
                return None
            via = VIA_DIRECT
        else:
            via = self.principal.match(req.principal)
            if via is None:
                return None
        if self.conditions and not self.conditions_hold(req.context, missing):
            return None
        return via

    def conditions_hold(self, ctx: Context, missing: dict[str, str] | None) -> bool:
        if missing is not None:
            present = ctx._values
            for key_lower, key in self.condition_keys:
                if key_lower not in present and key_lower not in missing:
                    missing[key_lower] = key
        for c in self.conditions:
            if not c.evaluate(ctx):
                return False
        return True


class PolicyBody:
    """The compiled, shared, immutable part of a policy."""

    def __init__(self, parsed: ParsedPolicy, kind: PolicyKind, text: str, digest: str) -> None:
        self.kind = kind
        self.text = text
        self.digest = digest
        self.version = parsed.version
        substitute = parsed.substitutes_variables
        self.statements = tuple(Statement(s, substitute) for s in parsed.statements)
        self.has_deny = any(not s.allow for s in self.statements)
        wildcard = [s for s in self.statements if s.is_wildcard_action]
        by_service: dict[str, list[Statement]] = {}
        for s in self.statements:
            if not s.is_wildcard_action:
                for svc in s.action.services:
                    by_service.setdefault(svc, []).append(s)
        self._wildcard = (tuple(s for s in wildcard if s.allow), tuple(s for s in wildcard if not s.allow))
        self._index: dict[str, tuple[tuple[Statement, ...], tuple[Statement, ...]]] = {}
        for svc, stmts in by_service.items():
            merged = sorted(set(stmts) | set(wildcard), key=lambda s: s.index)
            self._index[svc] = (tuple(s for s in merged if s.allow), tuple(s for s in merged if not s.allow))

        self._by_action: dict[str, tuple[tuple[Statement, ...], tuple[Statement, ...]]] = {}

    def candidates(self, action_lower: str, service: str) -> tuple[tuple[Statement, ...], tuple[Statement, ...]]:
        """(allow, deny) statements whose Action/NotAction matches the action, memoized per action.

        The memo holds at most _ACTION_MEMO entries per document (actions come from a finite catalogue, but
        simulator input is caller-chosen); dict assignment is atomic, and values are immutable tuples.
        """
        hit = self._by_action.get(action_lower)
        if hit is not None:
            return hit
        allow, deny = self.for_service(service)
        result = (
            tuple(s for s in allow if s.action.matches(action_lower, service) != s.not_action),
            tuple(s for s in deny if s.action.matches(action_lower, service) != s.not_action),
        )
        if len(self._by_action) < _ACTION_MEMO:
            self._by_action[action_lower] = result
        return result

    def for_service(self, service: str) -> tuple[tuple[Statement, ...], tuple[Statement, ...]]:
        """(allow statements, deny statements) that can apply to an action of ``service``, in document order."""
        return self._index.get(service, self._wildcard)

    def context_keys(self) -> list[str]:
        seen: dict[str, str] = {}
        for s in self.statements:
            for lower, key in s.condition_keys:
                seen.setdefault(lower, key)
        return list(seen.values())


class CompiledPolicy:
    """A compiled document as one caller names it (``policy_id``, ``policy_type``)."""

    __slots__ = ("body", "policy_id", "policy_type", "matched", "candidates")

    def __init__(self, body: PolicyBody, policy_id: str, policy_type: str) -> None:
        self.body = body
        self.candidates = body.candidates
        self.policy_id = policy_id
        self.policy_type = policy_type
        self.matched = {
            s: MatchedStatement(policy_id, policy_type, s.index, s.sid, s.start, s.end) for s in body.statements
        }

    @property
    def kind(self) -> PolicyKind:
        return self.body.kind

    @property
    def text(self) -> str:
        return self.body.text

    @property
    def statements(self) -> tuple[Statement, ...]:
        return self.body.statements

    def context_keys(self) -> list[str]:
        """Condition keys (and policy-variable keys) the document references, first spelling kept."""
        return self.body.context_keys()

    def __repr__(self) -> str:
        return f"CompiledPolicy({self.policy_id!r}, {self.policy_type!r}, {self.body.kind.value})"


_cache: OrderedDict[tuple[str, PolicyKind], PolicyBody] = OrderedDict()
_cache_lock = threading.Lock()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def validate_policy(text: str, kind: PolicyKind) -> list[Finding]:
    """Every MalformedPolicyDocument finding for ``text`` as a ``kind`` policy, in IAM's order; [] when valid."""
    if len(text) > MAX_POLICY_CHARS:
        return [Finding(f"Policy document exceeds the maximum length of {MAX_POLICY_CHARS} characters.")]
    return parse_document(text, PolicyKind(kind)).findings


# Ready handles by their exact arguments, for documents of ordinary size: the per-request path (a role's trust
# policy, its permission policies) then skips the content hash, the body LRU and the construction of
# ``CompiledPolicy.matched``. A handle is immutable and a pure function of these arguments, so sharing it is
# the same as building it again. Entries are only added after a successful compile; the oldest goes first.
_HANDLE_CACHE_SIZE = _CACHE_SIZE
_HANDLE_TEXT_MAX = 16384  # larger documents (simulator input) keep only the body cache
_handles: dict[tuple[str, object, str, str], "CompiledPolicy"] = {}


def compile_policy(text: str, kind: PolicyKind, policy_id: str = "", policy_type: str = "") -> CompiledPolicy:
    """Validate and compile; raises AwsError(MalformedPolicyDocument, IAM's message). Cached; thread-safe."""
    if text.__class__ is not str:  # not a document we would cache (and the checks below report it)
        return _compile(text, kind, policy_id, policy_type)
    handle_key = (text, kind, policy_id, policy_type)
    try:
        handle = _handles.get(handle_key)
    except TypeError:  # an unhashable argument: let the checks below report it as they always did
        return _compile(text, kind, policy_id, policy_type)
    if handle is not None:
        return handle
    handle = _compile(text, kind, policy_id, policy_type)
    if len(text) <= _HANDLE_TEXT_MAX:
        with _cache_lock:
            _handles[handle_key] = handle
            if len(_handles) > _HANDLE_CACHE_SIZE:
                del _handles[next(iter(_handles))]
    return handle


def _compile(text: str, kind: PolicyKind, policy_id: str, policy_type: str) -> CompiledPolicy:
    kind = PolicyKind(kind)
    if len(text) > MAX_POLICY_CHARS:
        raise AwsError(
            errors.MALFORMED_POLICY_DOCUMENT,
            f"Policy document exceeds the maximum length of {MAX_POLICY_CHARS} characters.",
        )
    key = (_digest(text), kind)
    with _cache_lock:
        body = _cache.get(key)
        if body is not None:
            _cache.move_to_end(key)
    if body is None:
        parsed = parse_document(text, kind)
        if parsed.findings:
            raise AwsError(errors.MALFORMED_POLICY_DOCUMENT, parsed.findings[0].message)
        body = PolicyBody(parsed, kind, text, key[0])
        with _cache_lock:
            _cache[key] = body
            if len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return CompiledPolicy(body, policy_id, policy_type)


def compiled_cache_size() -> int:
    with _cache_lock:
        return len(_cache)
