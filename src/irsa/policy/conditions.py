"""Condition operators (reference §1.4): the 27 base operators, ``...IfExists``, ``ForAllValues:`` and
``ForAnyValue:``, with AWS's rules for missing keys, empty sets and negated operators over several values.

Rules implemented (reference §1.4 tables, AWS "condition operators" and "multiple context keys or values"):

* key absent (or present with an empty set): positive operator -> false; negated operator -> true;
  ``...IfExists`` -> true; ``ForAllValues:`` -> true; ``ForAnyValue:`` -> false; ``Null`` "true"/"false" ->
  true/false.
* several policy values: OR-ed for positive operators, NOR-ed for negated ones (the request value must
  match none of them).
* ``ForAllValues:``: every request value satisfies the (possibly negated) per-value test;
  ``ForAnyValue:``: at least one does.
* a plain (single-valued) operator on a key holding several values never matches (iam-simulate,
  reference §1.4 last row). Decision: a list-typed key holding exactly one value is compared normally.
* ``ForAllValues:Null`` / ``ForAnyValue:Null`` behave as ``Null`` (iam-simulate).
* policy variables substitute in String* and Arn* values only (current AWS policy-variables page; the
  disputed Bool case is decided "no": Bool values are literal). An unresolved variable makes that policy
  value null: it matches nothing, so a negated operator over it is true.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from .glob import Part, arn_regex_source, compile_arn, compile_glob, glob_regex_source, has_wildcard
from .request import Context
from .variables import Piece, Variable, parse_template, resolve

# base operator -> (family, comparison, negated)
OPERATORS: dict[str, tuple[str, str, bool]] = {
    "StringEquals": ("string", "eq", False),
    "StringNotEquals": ("string", "eq", True),
    "StringEqualsIgnoreCase": ("string", "eqi", False),
    "StringNotEqualsIgnoreCase": ("string", "eqi", True),
    "StringLike": ("string", "like", False),
    "StringNotLike": ("string", "like", True),
    "NumericEquals": ("numeric", "eq", False),
    "NumericNotEquals": ("numeric", "eq", True),
    "NumericLessThan": ("numeric", "lt", False),
    "NumericLessThanEquals": ("numeric", "le", False),
    "NumericGreaterThan": ("numeric", "gt", False),
    "NumericGreaterThanEquals": ("numeric", "ge", False),
    "DateEquals": ("date", "eq", False),
    "DateNotEquals": ("date", "eq", True),
    "DateLessThan": ("date", "lt", False),
    "DateLessThanEquals": ("date", "le", False),
    "DateGreaterThan": ("date", "gt", False),
    "DateGreaterThanEquals": ("date", "ge", False),
    "Bool": ("bool", "eq", False),
    "BinaryEquals": ("binary", "eq", False),
    "IpAddress": ("ip", "in", False),
    "NotIpAddress": ("ip", "in", True),
    "ArnEquals": ("arn", "like", False),
    "ArnLike": ("arn", "like", False),
    "ArnNotEquals": ("arn", "like", True),
    "ArnNotLike": ("arn", "like", True),
    "Null": ("null", "null", False),
}

SET_ALL = "ForAllValues"
SET_ANY = "ForAnyValue"

_MAX_NUMBER_TEXT = 100

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


class ConditionSyntaxError(ValueError):
    """Unknown operator or a value of the wrong JSON type ("Syntax errors in policy.")."""


class ConditionLegacyError(ValueError):
    """A value IAM cannot parse for its operator, e.g. a bad date ("The policy failed legacy parsing")."""


def split_operator(name: str) -> tuple[str | None, str, bool]:
    """``ForAnyValue:StringLikeIfExists`` -> ("ForAnyValue", "StringLike", True); raises on unknown names."""
    set_op: str | None = None
    rest = name
    for prefix in (SET_ALL, SET_ANY):
        if name.startswith(prefix + ":"):
            set_op = prefix
            rest = name[len(prefix) + 1 :]
            break
    if_exists = False
    if rest.endswith("IfExists") and rest[: -len("IfExists")] in OPERATORS and rest != "IfExists":
        if rest[: -len("IfExists")] == "Null":
            raise ConditionSyntaxError(name)
        rest = rest[: -len("IfExists")]
        if_exists = True
    if rest not in OPERATORS:
        raise ConditionSyntaxError(name)
    return set_op, rest, if_exists


# --- value parsing --------------------------------------------------------------------------------

_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"([Zz]|[+-]\d{2}(?::?\d{2})?)?"
)
_EPOCH = re.compile(r"-?\d{1,18}")
_EPOCH_DT = datetime(1970, 1, 1, tzinfo=timezone.utc)


def parse_date(text: str) -> int | None:
    """ISO-8601 date/date-time (UTC when no zone) or epoch seconds -> microseconds since the epoch."""
    text = text.strip()
    if _EPOCH.fullmatch(text):
        return int(text) * 1_000_000
    m = _ISO.fullmatch(text)
    if m is None:
        return None
    year, month, day, hh, mm, ss, frac, zone = m.groups()
    try:
        dt = datetime(int(year), int(month), int(day), int(hh or 0), int(mm or 0), int(ss or 0), tzinfo=timezone.utc)
    except ValueError:
        return None
    micros = int((frac or "0").ljust(6, "0")[:6])
    offset = 0
    if zone and zone not in "Zz":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        zh, zm = int(digits[:2]), int(digits[2:4] or 0)
        if zh > 23 or zm > 59:
            return None
        offset = sign * (zh * 3600 + zm * 60)
    delta = dt - _EPOCH_DT
    return (delta.days * 86400 + delta.seconds - offset) * 1_000_000 + micros


def parse_number(text: str) -> Decimal | None:
    if len(text) > _MAX_NUMBER_TEXT:
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def parse_network(text: str) -> tuple[int, int, int] | None:
    """CIDR (a bare address is /32 or /128) -> (IP version, network as int, netmask as int)."""
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None
    return net.version, int(net.network_address), int(net.netmask)


def parse_address(text: str) -> tuple[int, int] | None:
    """An IPv4/IPv6 address (or a single-address CIDR) -> (IP version, address as int)."""
    text = text.strip()
    try:
        if ":" in text:
            return 6, int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
    except OSError:
        pass
    net = parse_network(text) if "/" in text else None
    if net is None or net[2] != (1 << (32 if net[0] == 4 else 128)) - 1:
        return None
    return net[0], net[1]


def parse_binary(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


@lru_cache(maxsize=4096)
def _compiled_parts(parts: tuple[Part, ...], arn: bool) -> re.Pattern[str]:
    source = arn_regex_source(parts) if arn else glob_regex_source(parts)
    return re.compile(source, re.DOTALL)


# --- compiled condition ---------------------------------------------------------------------------


@dataclass
class Condition:
    """One (operator, key) pair of a statement's Condition block."""

    operator: str  # as written, e.g. "ForAnyValue:StringLikeIfExists"
    base: str
    set_op: str | None
    if_exists: bool
    key: str  # as written
    key_lower: str
    raw_values: tuple[str, ...]
    family: str = field(init=False)
    comparison: str = field(init=False)
    negated: bool = field(init=False)
    _parsed: tuple[Any, ...] = field(init=False, default=())
    _templates: tuple[tuple[Piece, ...] | None, ...] = field(init=False, default=())
    _has_vars: bool = field(init=False, default=False)
    _one: Callable[[str, tuple[Any, ...], str], bool] = field(init=False, repr=False)

    def prepare(self, substitute_variables: bool) -> None:
        self.family, self.comparison, self.negated = OPERATORS[self.base]
        fam = self.family
        self._one = _MATCHERS.get((fam, self.comparison)) or _MATCHERS[(fam, "*")]
        if fam in ("string", "arn") and substitute_variables:
            self._templates = tuple(parse_template(v) for v in self.raw_values)
            self._has_vars = any(t is not None for t in self._templates)
        parsed: list[Any] = []
        for value in self.raw_values:
            parsed.append(self._parse_policy_value(value))
        self._parsed = tuple(parsed)

    def _parse_policy_value(self, value: str) -> Any:
        fam, cmp = self.family, self.comparison
        if fam == "string":
            if cmp == "eqi":
                return value.lower()
            if cmp == "like":
                return compile_glob(value) if has_wildcard(value) else value
            return value
        if fam == "numeric":
            return parse_number(value)
        if fam == "date":
            parsed = parse_date(value)
            if parsed is None:
                raise ConditionLegacyError(value)
            return parsed
        if fam == "bool":
            return value.lower()
        if fam == "binary":
            return parse_binary(value)
        if fam == "ip":
            return parse_network(value)
        if fam == "arn":
            return compile_arn(value)
        if fam == "null":
            return value.lower()
        raise AssertionError(fam)

    def _policy_values(self, ctx: Context) -> tuple[Any, ...]:
        if not self._has_vars:
            return self._parsed
        out: list[Any] = []
        for parsed, template in zip(self._parsed, self._templates):
            if template is None:
                out.append(parsed)
                continue
            parts = resolve(template, ctx.single)
            if parts is None:
                continue  # unresolved variable: a null value that matches nothing
            if self.family == "arn":
                out.append(_compiled_parts(tuple(parts), True))
            elif self.comparison == "like":
                out.append(_compiled_parts(tuple(parts), False))
            else:
                text = "".join(t for _, t in parts)
                out.append(text.lower() if self.comparison == "eqi" else text)
        return tuple(out)

    def evaluate(self, ctx: Context) -> bool:
        cv = ctx._values.get(self.key_lower)
        values = cv.values if cv is not None else ()
        if self.family == "null":
            present = bool(values)
            return any((pv == "true" and not present) or (pv == "false" and present) for pv in self._parsed)
        if not values:
            if self.set_op == SET_ALL:
                return True
            if self.set_op == SET_ANY:
                return False
            return True if self.if_exists else self.negated
        policy_values = self._policy_values(ctx)
        negated = self.negated
        one, cmp = self._one, self.comparison
        if self.set_op is None:
            if len(values) > 1:
                return False
            return one(values[0], policy_values, cmp) != negated
        if self.set_op == SET_ALL:
            return all(one(v, policy_values, cmp) != negated for v in values)
        return any(one(v, policy_values, cmp) != negated for v in values)

    def referenced_keys(self) -> list[str]:
        keys = [self.key]
        for template in self._templates:
            if template:
                keys.extend(p.key for p in template if isinstance(p, Variable))
        return keys


# --- per-family matchers: (request value, policy values, comparison) -> does any policy value match? ---------


def _string_eq(value: str, pvs: tuple[Any, ...], _cmp: str) -> bool:
    return value in pvs


def _string_eqi(value: str, pvs: tuple[Any, ...], _cmp: str) -> bool:
    return value.lower() in pvs


def _string_like(value: str, pvs: tuple[Any, ...], _cmp: str) -> bool:
    for pv in pvs:
        if isinstance(pv, str):
            if pv == value:
                return True
        elif pv.fullmatch(value) is not None:
            return True
    return False


def _arn_like(value: str, pvs: tuple[Any, ...], _cmp: str) -> bool:
    for pv in pvs:
        if pv.fullmatch(value) is not None:
            return True
    return False


def _numeric(value: str, pvs: tuple[Any, ...], cmp: str) -> bool:
    number = parse_number(value)
    if number is None:
        return False
    order = _ORDER[cmp]
    return any(pv is not None and order(number, pv) for pv in pvs)


def _date(value: str, pvs: tuple[Any, ...], cmp: str) -> bool:
    when = parse_date(value)
    if when is None:
        return False
    order = _ORDER[cmp]
    return any(order(when, pv) for pv in pvs)


def _ip(value: str, pvs: tuple[Any, ...], _cmp: str) -> bool:
    addr = parse_address(value)
    if addr is None:
        return False
    version, number = addr
    for pv in pvs:
        if pv is not None and pv[0] == version and number & pv[2] == pv[1]:
            return True
    return False


def _binary(value: str, pvs: tuple[Any, ...], _cmp: str) -> bool:
    data = parse_binary(value)
    return data is not None and any(pv is not None and pv == data for pv in pvs)


_MATCHERS: dict[tuple[str, str], Callable[[str, tuple[Any, ...], str], bool]] = {
    ("string", "eq"): _string_eq,
    ("string", "eqi"): _string_eqi,
    ("string", "like"): _string_like,
    ("arn", "*"): _arn_like,
    ("bool", "*"): _string_eqi,
    ("numeric", "*"): _numeric,
    ("date", "*"): _date,
    ("ip", "*"): _ip,
    ("binary", "*"): _binary,
    ("null", "*"): _string_eq,  # not used: Null is decided on presence in evaluate()
}
