"""A small strict JSON parser that remembers where every value sits in the original text.

IAM reports statement positions (``StartPosition``/``EndPosition``) against the document *as submitted*, so
we cannot use ``json.loads`` alone. This parser is single-pass and linear in the input length: strings are
scanned by ``json.decoder.scanstring`` (C), numbers and whitespace by simple anchored regexes with no
nested quantifiers, and nesting depth is bounded. Duplicate object keys are rejected (IAM does too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from json.decoder import scanstring
from typing import Union

MAX_DEPTH = 32

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")

JsonValue = Union[str, bool, None, "JNumber", "JArray", "JObject"]


class JsonSyntaxError(ValueError):
    """The text is not one well-formed JSON value (or nests deeper than MAX_DEPTH, or repeats a key)."""


@dataclass(frozen=True)
class JNumber:
    """A JSON number kept as written (IAM compares condition values textually or as decimals)."""

    text: str


@dataclass
class JArray:
    items: list["Node"]


@dataclass
class JObject:
    members: dict[str, "Node"]


@dataclass
class Node:
    """One JSON value and its span: ``start`` is the offset of its first character, ``end`` one past its last."""

    value: JsonValue
    start: int
    end: int


class LineIndex:
    """Turns offsets into 1-based (line, column) pairs; built once per document."""

    def __init__(self, text: str) -> None:
        starts = [0]
        find = text.find
        pos = find("\n")
        while pos != -1:
            starts.append(pos + 1)
            pos = find("\n", pos + 1)
        self._starts = starts

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and 1-based column of the character at ``offset``."""
        from bisect import bisect_right

        line = bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1


def parse(text: str) -> Node:
    """Parse ``text`` as exactly one JSON value (surrounding whitespace allowed)."""
    parser = _Parser(text)
    pos = _WS.match(text, 0).end()  # type: ignore[union-attr]
    node, pos = parser.value(pos, 0)
    pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
    if pos != len(text):
        raise JsonSyntaxError(f"extra data at offset {pos}")
    return node


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)

    def _ws(self, pos: int) -> int:
        return _WS.match(self.text, pos).end()  # type: ignore[union-attr]

    def value(self, pos: int, depth: int) -> tuple[Node, int]:
        text = self.text
        if pos >= self.n:
            raise JsonSyntaxError("unexpected end of text")
        ch = text[pos]
        if ch == '"':
            try:
                s, end = scanstring(text, pos + 1, True)
            except ValueError as exc:
                raise JsonSyntaxError(str(exc)) from None
            return Node(s, pos, end), end
        if ch == "{":
            return self._object(pos, depth + 1)
        if ch == "[":
            return self._array(pos, depth + 1)
        if text.startswith("true", pos):
            return Node(True, pos, pos + 4), pos + 4
        if text.startswith("false", pos):
            return Node(False, pos, pos + 5), pos + 5
        if text.startswith("null", pos):
            return Node(None, pos, pos + 4), pos + 4
        m = _NUMBER.match(text, pos)
        if m is not None:
            return Node(JNumber(m.group()), pos, m.end()), m.end()
        raise JsonSyntaxError(f"unexpected character at offset {pos}")

    def _object(self, start: int, depth: int) -> tuple[Node, int]:
        if depth > MAX_DEPTH:
            raise JsonSyntaxError("nested too deeply")
        text = self.text
        members: dict[str, Node] = {}
        pos = self._ws(start + 1)
        if pos < self.n and text[pos] == "}":
            return Node(JObject(members), start, pos + 1), pos + 1
        while True:
            if pos >= self.n or text[pos] != '"':
                raise JsonSyntaxError(f"expected a key at offset {pos}")
            try:
                key, pos = scanstring(text, pos + 1, True)
            except ValueError as exc:
                raise JsonSyntaxError(str(exc)) from None
            if key in members:
                raise JsonSyntaxError(f"duplicate key {key!r}")
            pos = self._ws(pos)
            if pos >= self.n or text[pos] != ":":
                raise JsonSyntaxError(f"expected ':' at offset {pos}")
            pos = self._ws(pos + 1)
            node, pos = self.value(pos, depth)
            members[key] = node
            pos = self._ws(pos)
            if pos < self.n and text[pos] == ",":
                pos = self._ws(pos + 1)
                continue
            if pos < self.n and text[pos] == "}":
                return Node(JObject(members), start, pos + 1), pos + 1
            raise JsonSyntaxError(f"expected ',' or '}}' at offset {pos}")

    def _array(self, start: int, depth: int) -> tuple[Node, int]:
        if depth > MAX_DEPTH:
            raise JsonSyntaxError("nested too deeply")
        text = self.text
        items: list[Node] = []
        pos = self._ws(start + 1)
        if pos < self.n and text[pos] == "]":
            return Node(JArray(items), start, pos + 1), pos + 1
        while True:
            node, pos = self.value(pos, depth)
            items.append(node)
            pos = self._ws(pos)
            if pos < self.n and text[pos] == ",":
                pos = self._ws(pos + 1)
                continue
            if pos < self.n and text[pos] == "]":
                return Node(JArray(items), start, pos + 1), pos + 1
            raise JsonSyntaxError(f"expected ',' or ']' at offset {pos}")
