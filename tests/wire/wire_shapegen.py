"""Synthetic values for any botocore shape, satisfying the model's constraints (test helper).

Strings with a pattern get an example generated from the pattern itself (walking Python's parse
of the translated Java pattern), checked with the same matcher AWS semantics require.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

try:  # Python 3.11 keeps the parser here (deprecated alias re._parser in newer versions)
    from re import _parser as sre_parse  # type: ignore[attr-defined]
    from re import _constants as sre_c  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants as sre_c  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

from botocore.model import Shape

from irsa.wire.javaregex import compile_java, translate

TIMESTAMP = datetime(2026, 11, 22, 6, 22, 11, tzinfo=timezone.utc)
POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Sid": "a b+c%25", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
)
NASTY = "a&b<c>d\"e'f é 名 +%20=?/\r\n\tg"
PREFERRED = "aA1/_-.:=+@,"


def _pick(items) -> str:
    chars: list[tuple[int, int]] = []
    for op, arg in items:
        if op is sre_c.LITERAL:
            chars.append((arg, arg))
        elif op is sre_c.RANGE:
            chars.append(arg)
        elif op is sre_c.CATEGORY:
            chars.append((ord("1"), ord("1")) if arg is sre_c.CATEGORY_DIGIT else (ord("a"), ord("a")))
        elif op is sre_c.NEGATE:
            return "a"
    for p in PREFERRED:
        if any(lo <= ord(p) <= hi for lo, hi in chars):
            return p
    return chr(chars[0][0]) if chars else "a"


def _gen(parsed, k: int) -> str:
    out = []
    for op, arg in parsed:
        if op is sre_c.LITERAL:
            out.append(chr(arg))
        elif op is sre_c.IN:
            out.append(_pick(arg))
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
            lo, hi, sub = arg
            n = max(lo, min(k, hi if hi != sre_c.MAXREPEAT else k))
            out.append("".join(_gen(sub, k) for _ in range(n)))
        elif op is sre_c.SUBPATTERN:
            out.append(_gen(arg[-1], k))
        elif op is sre_c.BRANCH:
            out.append(_gen(arg[1][-1], k))
        elif op in (sre_c.ANY, sre_c.NOT_LITERAL):
            out.append("a")
        elif op is sre_c.CATEGORY:
            out.append("1" if arg is sre_c.CATEGORY_DIGIT else "a")
    return "".join(out)


def example_string(shape: Shape, *, nasty: bool = False) -> str:
    meta = shape.metadata
    lo, hi = meta.get("min", 0), meta.get("max", 10_000)
    enum = getattr(shape, "enum", None)
    if enum:
        return enum[0]
    if shape.name == "policyDocumentType":
        return POLICY
    pattern = meta.get("pattern")
    if not pattern or nasty:  # output side: constraints are not checked, exercise escaping instead
        base = NASTY if nasty else "value-" + shape.name
        text = (base * (1 + lo // max(len(base), 1)))[: max(lo, min(hi, len(base)))]
        return text
    matcher = compile_java(pattern)
    parsed = sre_parse.parse(translate(pattern), re.ASCII)
    for k in sorted({1, 2, 3, 4, 6, 8, 12, 16, 20, 32, 40, 64, lo, min(hi, 256)}):
        candidate = _gen(parsed, k)
        if lo <= len(candidate) <= hi and matcher.fullmatch(candidate):
            return candidate
    raise AssertionError(f"no example for {shape.name} pattern {pattern!r} length {lo}..{hi}")


def example(shape: Shape, *, nasty: bool = False, salt: int = 0) -> Any:
    t = shape.type_name
    meta = shape.metadata
    if t == "structure":
        members = list(shape.members.items())
        if meta.get("union"):  # a tagged union carries exactly one member
            members = members[salt % len(members) : salt % len(members) + 1]
        return {name: example(m, nasty=nasty, salt=salt) for name, m in members}
    if t == "list":
        n = max(meta.get("min", 0), min(2, meta.get("max", 2)))
        return [example(shape.member, nasty=nasty, salt=i) for i in range(n)]
    if t == "map":
        out = {}
        for i in range(2):
            key = example(shape.key, nasty=nasty, salt=i)
            if i and isinstance(key, str) and not getattr(shape.key, "enum", None):
                alt = key[:-1] + ("b" if key[-1:] != "b" else "c")
                if compile_java(shape.key.metadata.get("pattern", ".*")).fullmatch(alt):
                    key = alt
            out[key] = example(shape.value, nasty=nasty, salt=i)
        return out
    if t == "string":
        return example_string(shape, nasty=nasty)
    if t in ("integer", "long"):
        lo, hi = meta.get("min"), meta.get("max")
        if lo is not None:
            return lo + (1 if hi is None or hi > lo else 0)
        return 7 if hi is None or hi >= 7 else hi
    if t == "boolean":
        return salt % 2 == 0
    if t in ("float", "double"):
        return 1.5
    if t == "timestamp":
        return TIMESTAMP
    if t == "blob":
        return b"\x00\x01binary\xff"
    raise AssertionError(t)
