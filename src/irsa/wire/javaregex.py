"""Translate the Java regular expressions of AWS service models into Python ``re`` patterns.

AWS validates a member with ``java.util.regex`` and ``Matcher.matches()`` (the whole value must
match), so every translated pattern is used with ``re.fullmatch``. Differences handled here:

* ``\\p{L}``, ``\\p{Z}``, ``\\p{N}`` (and other general categories such as ``\\p{Lu}``) have no
  ``re`` equivalent: they are expanded into explicit code-point ranges, computed once from
  ``unicodedata`` on first use;
* ``\\w``, ``\\d``, ``\\s`` and ``\\b`` are ASCII in Java by default: compiled with ``re.ASCII``;
* ``.`` in Java does not match any line terminator (``\\n \\r \\u0085 \\u2028 \\u2029``);
* ``\\uXXXX`` takes exactly four hex digits in both engines (so a model's ``\\u10000`` means
  ``\\u1000`` followed by ``0`` in both, which keeps AWS's actual behaviour);
* ``\\x{h..h}`` becomes ``\\Uhhhhhhhh``.

Constructs with different meaning in Python that the models do not use (class intersection
``&&``, nested classes, possessive quantifiers, ``\\P{..}`` inside a class) raise ``ValueError``
so that a future model change fails loudly in tests instead of silently validating wrongly.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import lru_cache

_DOT = "[^\\n\\r\\u0085\\u2028\\u2029]"


def _escape_cp(cp: int) -> str:
    return f"\\u{cp:04x}" if cp <= 0xFFFF else f"\\U{cp:08x}"


@lru_cache(maxsize=None)
def _category_table() -> dict[str, list[tuple[int, int]]]:
    """Two-letter general category -> sorted code-point ranges (computed once, ~0.2 s)."""
    table: dict[str, list[tuple[int, int]]] = {}
    start = 0
    current = unicodedata.category("\x00")
    for cp in range(1, sys.maxunicode + 2):
        cat = unicodedata.category(chr(cp)) if cp <= sys.maxunicode else None
        if cat != current:
            table.setdefault(current, []).append((start, cp - 1))
            start, current = cp, cat  # type: ignore[assignment]
    return table


@lru_cache(maxsize=None)
def category_class_body(name: str) -> str:
    """The inside of a ``[...]`` class matching Java's ``\\p{name}`` (general category)."""
    key = name[2:] if name.startswith("Is") else name
    table = _category_table()
    cats = [c for c in table if c == key or (len(key) == 1 and c.startswith(key))]
    if not cats:
        raise ValueError(f"unsupported Unicode property \\p{{{name}}}")
    ranges = sorted(r for c in cats for r in table[c])
    merged: list[list[int]] = []
    for lo, hi in ranges:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return "".join(_escape_cp(lo) if lo == hi else f"{_escape_cp(lo)}-{_escape_cp(hi)}" for lo, hi in merged)


def translate(pattern: str) -> str:
    """Java regex source -> equivalent Python ``re`` source (see module docstring)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    class_start = 0
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                raise ValueError("trailing backslash")
            e = pattern[i + 1]
            if e in "pP":
                if i + 2 < n and pattern[i + 2] == "{":
                    end = pattern.find("}", i + 3)
                    if end < 0:
                        raise ValueError("unterminated \\p{")
                    name = pattern[i + 3 : end]
                    nxt = end + 1
                else:
                    name = pattern[i + 2 : i + 3]
                    nxt = i + 3
                body = category_class_body(name)
                if in_class:
                    if e == "P":
                        raise ValueError("\\P{..} inside a character class is not supported")
                    out.append(body)
                else:
                    out.append(("[^" if e == "P" else "[") + body + "]")
                i = nxt
                continue
            if e == "x" and i + 2 < n and pattern[i + 2] == "{":
                end = pattern.find("}", i + 3)
                if end < 0:
                    raise ValueError("unterminated \\x{")
                out.append(_escape_cp(int(pattern[i + 3 : end], 16)))
                i = end + 1
                continue
            if e in "QEGZzhHRXk" or e.isdigit() and e != "0":
                raise ValueError(f"unsupported Java escape \\{e}")
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if c == "[":
                raise ValueError("nested character classes are not supported")
            if c == "&" and pattern.startswith("&&", i):
                raise ValueError("character class intersection is not supported")
            if c == "]" and i > class_start:
                in_class = False
            elif c in "-~|" and pattern.startswith(c * 2, i):
                out.append("\\" + c)  # keep Python from reading a set operation
                i += 1
                continue
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            class_start = i + 1 if i < n and pattern[i] == "]" else i
            if i < n and pattern[i] == "]":
                out.append("\\]")
                i += 1
            continue
        if c == ".":
            out.append(_DOT)
            i += 1
            continue
        if c in "*+?}" and i + 1 < n and pattern[i + 1] == "+":
            raise ValueError("possessive quantifiers are not supported")
        out.append(c)
        i += 1
    if in_class:
        raise ValueError("unterminated character class")
    return "".join(out)


@lru_cache(maxsize=1024)
def compile_java(pattern: str) -> re.Pattern[str]:
    """Compile a model pattern; use ``.fullmatch`` (Java ``matches()``)."""
    return re.compile(translate(pattern), re.ASCII)
