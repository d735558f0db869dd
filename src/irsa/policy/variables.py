"""Policy variables: ``${aws:username}``, ``${aws:PrincipalTag/team, 'default'}``, ``${*}``, ``${?}``, ``${$}``.

Reference §1.4 "Policy variables": key names are case-insensitive; only single-valued keys substitute; the
special forms stand for the literal characters; a substituted value is literal text (a ``*`` inside a tag
value is not a wildcard); an unresolved variable (key absent, no default) makes that value *null*.
Under Version 2008-10-17 or a missing Version nothing is substituted (the caller skips this module).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .glob import Part

_SPECIAL = {"*": "*", "?": "?", "$": "$"}


@dataclass(frozen=True)
class Variable:
    key: str  # as written
    key_lower: str
    default: str | None


# A template piece is either text from the policy (str; wildcards active where the operator globs)
# or a Variable, or a special literal wrapped in a 1-tuple (text that is never a wildcard).
Piece = str | Variable | tuple[str]


def parse_template(text: str) -> tuple[Piece, ...] | None:
    """Split ``text`` into pieces; ``None`` when it holds no variable at all (the common case)."""
    if "${" not in text:
        return None
    pieces: list[Piece] = []
    pos = 0
    found = False
    n = len(text)
    while pos < n:
        start = text.find("${", pos)
        if start == -1:
            break
        close = text.find("}", start + 2)
        if close == -1:
            break
        inner = text[start + 2 : close]
        piece = _parse_inner(inner)
        if piece is None:
            # not a variable; keep "${" literally and continue after it
            pieces.append(text[pos : start + 2])
            pos = start + 2
            continue
        if start > pos:
            pieces.append(text[pos:start])
        pieces.append(piece)
        found = True
        pos = close + 1
    if pos < n:
        pieces.append(text[pos:])
    return tuple(pieces) if found else None


def _parse_inner(inner: str) -> Variable | tuple[str] | None:
    stripped = inner.strip()
    if stripped in _SPECIAL:
        return (_SPECIAL[stripped],)
    default: str | None = None
    key = stripped
    if "," in stripped:
        key, _, rest = stripped.partition(",")
        key = key.strip()
        rest = rest.strip()
        if len(rest) < 2 or rest[0] != "'" or rest[-1] != "'":
            return None
        default = rest[1:-1]
    if not key or any(c.isspace() for c in key) or "$" in key or "{" in key:
        return None
    return Variable(key, key.lower(), default)


def resolve(pieces: tuple[Piece, ...], lookup: Callable[[str], str | None]) -> list[Part] | None:
    """Substitute variables; ``lookup(key_lower)`` returns a single value or ``None``.

    Returns glob parts (policy text is a pattern part, substituted text a literal part), or ``None`` when a
    variable is unresolved and has no default.
    """
    parts: list[Part] = []
    for piece in pieces:
        if isinstance(piece, str):
            parts.append((True, piece))
        elif isinstance(piece, tuple):
            parts.append((False, piece[0]))
        else:
            value = lookup(piece.key_lower)
            if value is None:
                value = piece.default
            if value is None:
                return None
            parts.append((False, value))
    return parts

