"""Who is asking, what for, and with which context keys: Principal, Context, Request."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from datetime import datetime, timezone

PRINCIPAL_KINDS = frozenset({"root", "user", "role-session", "federated", "service", "anonymous"})

# ContextKeyType values of the IAM API (SimulateCustomPolicy ContextEntries).
CONTEXT_TYPES = frozenset(
    {
        "string", "stringList", "numeric", "numericList", "boolean", "booleanList",
        "ip", "ipList", "binary", "binaryList", "date", "dateList",
    }
)


@dataclass(frozen=True)
class Principal:
    """The caller. ``kind`` is one of PRINCIPAL_KINDS.

    * user: ``arn`` = user ARN; role-session: ``arn`` = session ARN (``arn:aws:sts::A:assumed-role/R/S``) and
      ``role_arn`` = the role's ARN; federated (AssumeRoleWithWebIdentity trust check): ``federated`` = the
      OIDC provider ARN; service: ``service`` = ``<svc>.amazonaws.com``; anonymous: unauthenticated.
    """

    arn: str
    account: str
    _: KW_ONLY
    kind: str
    role_arn: str | None = None
    session_arn: str | None = None
    federated: str | None = None
    service: str | None = None
    canonical_user: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in PRINCIPAL_KINDS:
            raise ValueError(f"unknown principal kind {self.kind!r}")

    @property
    def is_session(self) -> bool:
        return self.kind == "role-session"

    @classmethod
    def anonymous(cls) -> "Principal":
        return cls("*", "", kind="anonymous")


class ContextValue:
    """One context key: its spelling as supplied, its IAM ContextKeyType and its values as text."""

    __slots__ = ("key", "type", "values")

    def __init__(self, key: str, type: str, values: tuple[str, ...]) -> None:
        self.key = key
        self.type = type
        self.values = values

    @property
    def multi(self) -> bool:
        return self.type.endswith("List")

    def __repr__(self) -> str:
        return f"ContextValue({self.key!r}, {self.type!r}, {self.values!r})"


def _to_text(value: object, type_: str) -> str:
    base = type_[:-4] if type_.endswith("List") else type_
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, (bytes, bytearray)) and base == "binary":
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (int, float, str)):
        return str(value)
    raise TypeError(f"unsupported context value {value!r}")


class Context:
    """Request context keys, looked up case-insensitively; each key is single- or multi-valued and typed."""

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: dict[str, ContextValue] = {}

    @classmethod
    def from_strings(cls, values: Mapping[str, str | Sequence[str]]) -> "Context":
        """String keys: a str is a single value (type string), a list a multi-valued key (stringList)."""
        ctx = cls()
        store = ctx._values
        for key, value in values.items():
            if isinstance(value, str):
                store[key.lower()] = ContextValue(key, "string", (value,))
            else:
                items = tuple(value)
                if not all(isinstance(v, str) for v in items):
                    raise TypeError(f"context values of {key!r} must be strings")
                store[key.lower()] = ContextValue(key, "stringList", items)
        return ctx

    def add(self, key: str, values: object | Iterable[object], type: str = "string") -> "Context":
        """Add (or replace) a key. ``values``: one value or a list; ``type``: an IAM ContextKeyType."""
        if values.__class__ is str and type in CONTEXT_TYPES:  # one text value, the common case: nothing to convert
            self._values[key.lower()] = ContextValue(key, type, (values,))
            return self
        if type not in CONTEXT_TYPES:
            raise ValueError(f"unknown context key type {type!r}")
        if isinstance(values, (str, bytes, bool, int, float, datetime)):
            items = [values]
        else:
            items = list(values)  # type: ignore[call-overload]
        if not type.endswith("List") and len(items) > 1:
            type = type + "List"
        # text values (nearly all of them) are kept as they are: _to_text would return them unchanged
        texts = tuple([v if v.__class__ is str else _to_text(v, type) for v in items])
        self._values[key.lower()] = ContextValue(key, type, texts)
        return self

    def get(self, key_lower: str) -> ContextValue | None:
        return self._values.get(key_lower)

    def single(self, key_lower: str) -> str | None:
        """The value of a single-valued key (policy variables only substitute those)."""
        cv = self._values.get(key_lower)
        if cv is None or len(cv.values) != 1 or cv.multi:
            return None
        return cv.values[0]

    def __contains__(self, key: str) -> bool:
        return key.lower() in self._values

    def __len__(self) -> int:
        return len(self._values)

    def items(self) -> list[tuple[str, ContextValue]]:
        return list(self._values.items())


_EMPTY_CONTEXT = Context()


class Request:
    """One authorization question. The action's service prefix and lowercase form are computed once."""

    __slots__ = ("principal", "action", "resource", "context", "action_lower", "service")

    def __init__(self, principal: Principal, action: str, resource: str = "*", context: Context | None = None) -> None:
        self.principal = principal
        self.action = action
        self.resource = resource
        self.context = context if context is not None else _EMPTY_CONTEXT
        self.action_lower = action.lower()
        self.service = self.action_lower.partition(":")[0]

    def __repr__(self) -> str:
        return f"Request({self.principal.arn!r}, {self.action!r}, {self.resource!r})"
