"""Generic validation of an operation's input against the constraints of its model shapes.

Produces AWS's own text (shared/docs/reference/sts-and-iam.md §1.1 and real captures):

    1 validation error detected: Value 'a:b' at 'roleSessionName' failed to satisfy constraint:
    Member must satisfy regular expression pattern: [\\w+=,.@-]*
    Value null at 'roleName' failed to satisfy constraint: Member must not be null
    2 validation errors detected: <fault>; <fault>

Rules, from real AWS messages:

* member paths are lower-camel; a list element is ``<list>.<N>.member`` (1-based), a member of a
  list element ``<list>.<N>.member.<name>`` (e.g. ``tags.1.member.key``);
* for one value the pattern fault comes before the length fault (real STS/DynamoDB/Cognito
  captures); enum comes first; length counts code points, not UTF-16 units (real STS counts the
  emoji ``😀`` as 1 character);
* a value whose shape is ``sensitive`` prints as ``'*** Sensitive Data Redacted ***'``;
* list values print like Java's ``List.toString()``: ``[a, b]``;
* a map key/value fault prints as ``Map keys|value must satisfy constraint: [<texts>]`` on the
  map member (the Coral form, VERIFY: no IAM/STS capture found; only IAM has input maps).
"""

from __future__ import annotations

import weakref
from datetime import datetime
from typing import Any

from botocore.model import Shape

from irsa import errors
from irsa.errors import AwsError
from irsa.wire.javaregex import compile_java
from irsa.wire.models import lower_camel

REDACTED = "*** Sensitive Data Redacted ***"


def _render(value: Any, shape: Shape, sensitive: bool) -> str:
    if sensitive or shape.metadata.get("sensitive"):
        return REDACTED
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        member = getattr(shape, "member", None)
        return "[" + ", ".join(_render(v, member, False) if member is not None else str(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _scalar_constraints(value: Any, shape: Shape) -> list[str]:
    """Constraint texts violated by one non-null value (enum, pattern, length, range)."""
    faults: list[str] = []
    meta = shape.metadata
    t = shape.type_name
    if t == "string":
        enum = getattr(shape, "enum", None) or meta.get("enum")
        if enum and value not in enum:
            faults.append(f"Member must satisfy enum value set: [{', '.join(enum)}]")
        pattern = meta.get("pattern")
        if pattern and compile_java(pattern).fullmatch(value) is None:
            faults.append(f"Member must satisfy regular expression pattern: {pattern}")
    if t in ("string", "list", "map", "blob"):
        size = len(value)
        if "min" in meta and size < meta["min"]:
            faults.append(f"Member must have length greater than or equal to {meta['min']}")
        if "max" in meta and size > meta["max"]:
            faults.append(f"Member must have length less than or equal to {meta['max']}")
    elif t in ("integer", "long", "float", "double"):
        if "min" in meta and value < meta["min"]:
            faults.append(f"Member must have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            faults.append(f"Member must have value less than or equal to {meta['max']}")
    return faults


def _fault(value: Any, shape: Shape, path: str, text: str, sensitive: bool) -> str:
    shown = "null" if value is None else f"'{_render(value, shape, sensitive)}'"
    return f"Value {shown} at '{path}' failed to satisfy constraint: {text}"


class _Checker:
    """The checks of one shape, read from the model once.

    Walking the model per request (``metadata`` lookups, ``lower_camel`` of every member, the required set)
    cost more than the checks themselves. A checker keeps what the walk needs and builds its children on
    first use; the faults, their order and their text are exactly those of the plain walk over the shape.
    """

    __slots__ = ("shape", "type", "sensitive", "constrained", "_fields", "_member")

    def __init__(self, shape: Shape) -> None:
        meta = shape.metadata
        self.shape = shape
        self.type = shape.type_name
        self.sensitive = bool(meta.get("sensitive"))
        # whether _scalar_constraints can find anything at all (it returns [] without these)
        self.constrained = bool(
            getattr(shape, "enum", None) or meta.get("enum") or meta.get("pattern") or "min" in meta or "max" in meta
        )
        self._fields: tuple[tuple[str, str, bool, _Checker], ...] | None = None
        self._member: _Checker | None = None

    def fields(self) -> tuple[tuple[str, str, bool, "_Checker"], ...]:
        """(member name, lower-camel path segment, required, checker) in model order."""
        fields = self._fields
        if fields is None:
            required = set(self.shape.required_members)
            fields = tuple(
                (name, lower_camel(name), name in required, _Checker(member))
                for name, member in self.shape.members.items()
            )
            self._fields = fields  # one atomic assignment of a complete tuple: safe to share between threads
        return fields

    def member(self) -> "_Checker":
        member = self._member
        if member is None:
            member = self._member = _Checker(self.shape.member)
        return member

    def check(self, value: Any, path: str, out: list[str], sensitive: bool) -> None:
        sensitive = sensitive or self.sensitive
        if self.constrained:
            for text in _scalar_constraints(value, self.shape):
                out.append(_fault(value, self.shape, path, text, sensitive))
        t = self.type
        if t == "structure":
            self.check_members(value, path, out, sensitive)
        elif t == "list":
            member = self.member()
            for i, item in enumerate(value, 1):
                if item is None:
                    out.append(_fault(None, member.shape, f"{path}.{i}.member", "Member must not be null", sensitive))
                else:
                    member.check(item, f"{path}.{i}.member", out, sensitive)
        elif t == "map":
            shape = self.shape
            key_faults = sorted({f for k in value for f in _scalar_constraints(k, shape.key)})
            val_faults = sorted({f for v in value.values() if v is not None for f in _scalar_constraints(v, shape.value)})
            if key_faults:
                out.append(_fault(value, shape, path, f"Map keys must satisfy constraint: [{', '.join(key_faults)}]", sensitive))
            if val_faults:
                out.append(_fault(value, shape, path, f"Map value must satisfy constraint: [{', '.join(val_faults)}]", sensitive))

    def check_members(self, value: dict[str, Any], prefix: str, out: list[str], sensitive: bool) -> None:
        for name, camel, required, checker in self.fields():
            item = value.get(name)
            if item is None:
                if required:
                    path = f"{prefix}.{camel}" if prefix else camel
                    out.append(_fault(None, checker.shape, path, "Member must not be null", sensitive))
                continue
            checker.check(item, f"{prefix}.{camel}" if prefix else camel, out, sensitive)


# One checker per input shape object (botocore keeps an operation's shapes for the model's lifetime).
_CHECKERS: "weakref.WeakKeyDictionary[Shape, _Checker]" = weakref.WeakKeyDictionary()


def _checker(shape: Shape) -> _Checker:
    checker = _CHECKERS.get(shape)
    if checker is None:
        checker = _CHECKERS[shape] = _Checker(shape)
    return checker


def validation_faults(params: dict[str, Any], shape: Shape) -> list[str]:
    """Every constraint fault of ``params`` (a boto3-style input dict) against ``shape``."""
    out: list[str] = []
    _checker(shape).check_members(params, "", out, False)
    return out


def validation_error(faults: list[str]) -> AwsError:
    n = len(faults)
    head = f"{n} validation error{'s' if n != 1 else ''} detected: "
    return AwsError(errors.VALIDATION_ERROR, head + "; ".join(faults))


def validate_input(params: dict[str, Any], shape: Shape | None) -> None:
    """Raise ``ValidationError`` (400) listing all faults, or return when the input is valid."""
    if shape is None:
        return
    faults = validation_faults(params, shape)
    if faults:
        raise validation_error(faults)
