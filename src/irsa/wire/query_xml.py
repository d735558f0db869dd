"""XML output of the AWS Query protocol, exactly as botocore's ``QueryParser`` reads it.

* ``<{Op}Response xmlns=ns><{resultWrapper}>…</…><ResponseMetadata><RequestId>…`` ; operations
  without an output shape get only ``ResponseMetadata``;
* lists are non-flattened: ``<Name><member>…</member></Name>`` (the member's ``locationName`` when
  the model gives one); maps ``<Name><entry><key>…</key><value>…</value></entry></Name>``;
* booleans ``true``/``false``; timestamps ``YYYY-MM-DDTHH:MM:SSZ`` in UTC; blobs base64;
* IAM ``policyDocumentType`` strings are percent-encoded JSON (botocore's ``json_decode_policies``
  applies ``urllib.parse.unquote`` then ``json.loads``; every byte but RFC 3986 unreserved ones is
  escaped, as AWS does, e.g. ``%7B%22Version%22%3A…``);
* text is XML-escaped; ``\\r`` is written as ``&#13;`` so that XML line-end normalisation does not
  change it; characters XML 1.0 cannot carry at all (C0 controls other than tab/LF/CR, lone
  surrogates, U+FFFE/U+FFFF) are replaced by U+FFFD.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import quote

from botocore.model import Shape

from irsa.errors import AwsError

POLICY_DOCUMENT_SHAPE = "policyDocumentType"

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Every character xml_text may change: the invalid ones above plus the escaped ones below. Almost all
# values contain none of them, and one C-level search is far cheaper than ``sub`` + ``translate``.
_NEEDS_WORK = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff&<>\r]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


def xml_text(value: str) -> str:
    if _NEEDS_WORK.search(value) is None:
        return value
    return _INVALID_XML.sub("\ufffd", value).translate(_ESCAPES)


def iso8601(value: datetime | int | float) -> str:
    """``2026-11-22T06:22:11Z``; naive datetimes are taken as UTC; fractions are dropped."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = datetime.fromtimestamp(value, tz=timezone.utc)
    if not isinstance(value, datetime):
        raise TypeError(f"timestamp expected, got {type(value).__name__}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    value = value.astimezone(timezone.utc)
    if value.year < 1000:  # strftime's %Y does not zero-pad such years; keep its exact output
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    # the same text as strftime("%Y-%m-%dT%H:%M:%SZ"), without its per-call cost
    return (
        f"{value.year}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:{value.second:02d}Z"
    )


def encode_policy_document(document: str) -> str:
    return quote(document, safe="")


def _scalar_converter(shape: Shape) -> Callable[[Any], str]:
    """The text of one scalar value of ``shape`` (before XML escaping); type errors are raised on use."""
    t = shape.type_name
    shape_name = shape.name
    if t == "string":
        policy = shape_name == POLICY_DOCUMENT_SHAPE

        def string(value: Any) -> str:
            if not isinstance(value, str):
                raise TypeError(f"{shape_name}: string expected, got {type(value).__name__}")
            return encode_policy_document(value) if policy else value

        return string
    if t == "boolean":
        return lambda value: "true" if value else "false"
    if t in ("integer", "long"):

        def integer(value: Any) -> str:
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{shape_name}: integer expected, got {type(value).__name__}")
            return str(value)

        return integer
    if t in ("float", "double"):
        return lambda value: repr(float(value))
    if t == "timestamp":
        return iso8601
    if t == "blob":

        def blob(value: Any) -> str:
            data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
            return base64.b64encode(data).decode("ascii")

        return blob

    def unsupported(value: Any) -> str:
        raise TypeError(f"unsupported shape type {t}")

    return unsupported


def _element_name(shape: Shape, default: str) -> str:
    return shape.serialization.get("name", default)


# Serialization plans. Walking botocore shapes on every response (type dispatch, ``serialization`` and
# ``members`` lookups, tag formatting) cost more than writing the XML, so each shape is turned once into a
# node that knows its children and their ready-made tags. A node's content depends only on the shape's
# definition, so within one service model nodes are shared by shape name (which also ends recursion).


class _ScalarNode:
    __slots__ = ("convert",)

    def __init__(self, shape: Shape) -> None:
        self.convert = _scalar_converter(shape)

    def element(self, out: list[str], open_tag: str, close_tag: str, value: Any) -> None:
        out.append(open_tag + xml_text(self.convert(value)) + close_tag)


class _StructureNode:
    __slots__ = ("shape_name", "fields", "known")

    def __init__(self, shape_name: str) -> None:
        self.shape_name = shape_name
        self.fields: tuple[tuple[str, str, str, _Node], ...] = ()  # (member, <tag>, </tag>, node)
        self.known: frozenset[str] = frozenset()

    def build(self, shape: Shape, plans: dict[str, _Node]) -> None:
        fields = []
        for member_name, member_shape in shape.members.items():
            tag = _element_name(member_shape, member_name)
            fields.append((member_name, f"<{tag}>", f"</{tag}>", _plan(member_shape, plans)))
        self.fields = tuple(fields)
        self.known = frozenset(shape.members) | {"ResponseMetadata"}

    def content(self, out: list[str], value: dict[str, Any]) -> None:
        if not self.known.issuperset(value):
            unknown = [k for k in value if k not in self.known]
            raise TypeError(f"{self.shape_name} has no members {unknown}")
        for member_name, open_tag, close_tag, node in self.fields:
            item = value.get(member_name)
            if item is not None:
                node.element(out, open_tag, close_tag, item)

    def element(self, out: list[str], open_tag: str, close_tag: str, value: Any) -> None:
        out.append(open_tag)
        self.content(out, value)
        out.append(close_tag)


class _ListNode:
    __slots__ = ("item", "item_open", "item_close")

    def __init__(self, shape: Shape, plans: dict[str, _Node]) -> None:
        tag = _element_name(shape.member, "member")
        self.item_open, self.item_close = f"<{tag}>", f"</{tag}>"
        self.item = _plan(shape.member, plans)

    def element(self, out: list[str], open_tag: str, close_tag: str, value: Any) -> None:
        out.append(open_tag)
        item, item_open, item_close = self.item, self.item_open, self.item_close
        for entry in value:
            item.element(out, item_open, item_close, entry)
        out.append(close_tag)


class _MapNode:
    __slots__ = ("key", "key_open", "key_close", "value", "value_open", "value_close")

    def __init__(self, shape: Shape, plans: dict[str, _Node]) -> None:
        key_tag = _element_name(shape.key, "key")
        value_tag = _element_name(shape.value, "value")
        self.key_open, self.key_close = f"<{key_tag}>", f"</{key_tag}>"
        self.value_open, self.value_close = f"<{value_tag}>", f"</{value_tag}>"
        self.key = _plan(shape.key, plans)
        self.value = _plan(shape.value, plans)

    def element(self, out: list[str], open_tag: str, close_tag: str, value: Any) -> None:
        out.append(open_tag)
        for k, v in value.items():
            out.append("<entry>")
            self.key.element(out, self.key_open, self.key_close, k)
            self.value.element(out, self.value_open, self.value_close, v)
            out.append("</entry>")
        out.append(close_tag)


_Node = _ScalarNode | _StructureNode | _ListNode | _MapNode


def _plan(shape: Shape, plans: dict[str, _Node]) -> _Node:
    node = plans.get(shape.name)
    if node is not None:
        return node
    t = shape.type_name
    if t == "structure":
        struct = _StructureNode(shape.name)
        plans[shape.name] = struct  # registered before its members: recursive shapes end here
        struct.build(shape, plans)
        return struct
    if t == "list":
        node = _ListNode(shape, plans)
    elif t == "map":
        node = _MapNode(shape, plans)
    else:
        node = _ScalarNode(shape)
    plans[shape.name] = node
    return node


def write_value(out: list[str], name: str, value: Any, shape: Shape) -> None:
    _plan(shape, {}).element(out, f"<{name}>", f"</{name}>", value)


def write_members(out: list[str], value: dict[str, Any], shape: Shape) -> None:
    node = _plan(shape, {})
    assert isinstance(node, _StructureNode)
    node.content(out, value)


class ResponseWriter:
    """The success document of one operation, with its plan built once (see ``QueryProtocol.serialize``).

    ``plans`` may be shared by the writers of one service model (nodes are keyed by shape name)."""

    def __init__(self, operation: str, output_shape: Shape | None, namespace: str, plans: dict[str, Any] | None = None) -> None:
        self._head = f'<{operation}Response xmlns="{xml_text(namespace)}">'
        self._tail = f"</RequestId></ResponseMetadata></{operation}Response>"
        self._body: _StructureNode | None = None
        if output_shape is not None:
            wrapper = output_shape.serialization.get("resultWrapper", f"{operation}Result")
            self._head += f"<{wrapper}>"
            self._middle = f"</{wrapper}><ResponseMetadata><RequestId>"
            node = _plan(output_shape, plans if plans is not None else {})
            assert isinstance(node, _StructureNode)
            self._body = node
        else:
            self._middle = "<ResponseMetadata><RequestId>"

    def document(self, output: dict[str, Any] | None, request_id: str) -> bytes:
        out: list[str] = [self._head]
        if self._body is not None:
            self._body.content(out, output or {})
        out.append(self._middle)
        out.append(xml_text(request_id))
        out.append(self._tail)
        return "".join(out).encode("utf-8")


def response_document(
    operation: str, output_shape: Shape | None, output: dict[str, Any] | None, namespace: str, request_id: str
) -> bytes:
    return ResponseWriter(operation, output_shape, namespace).document(output, request_id)


def error_document(err: AwsError, namespace: str, request_id: str) -> bytes:
    return (
        f'<ErrorResponse xmlns="{xml_text(namespace)}"><Error>'
        f"<Type>{err.fault}</Type><Code>{xml_text(err.code)}</Code><Message>{xml_text(err.message)}</Message>"
        f"</Error><RequestId>{xml_text(request_id)}</RequestId></ErrorResponse>"
    ).encode("utf-8")
