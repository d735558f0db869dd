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
from typing import Any
from urllib.parse import quote

from botocore.model import Shape

from irsa.errors import AwsError

POLICY_DOCUMENT_SHAPE = "policyDocumentType"

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


def xml_text(value: str) -> str:
    return _INVALID_XML.sub("\ufffd", value).translate(_ESCAPES)


def iso8601(value: datetime | int | float) -> str:
    """``2026-11-22T06:22:11Z``; naive datetimes are taken as UTC; fractions are dropped."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = datetime.fromtimestamp(value, tz=timezone.utc)
    if not isinstance(value, datetime):
        raise TypeError(f"timestamp expected, got {type(value).__name__}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def encode_policy_document(document: str) -> str:
    return quote(document, safe="")


def _scalar(value: Any, shape: Shape) -> str:
    t = shape.type_name
    if t == "string":
        if not isinstance(value, str):
            raise TypeError(f"{shape.name}: string expected, got {type(value).__name__}")
        return encode_policy_document(value) if shape.name == POLICY_DOCUMENT_SHAPE else value
    if t == "boolean":
        return "true" if value else "false"
    if t in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{shape.name}: integer expected, got {type(value).__name__}")
        return str(value)
    if t in ("float", "double"):
        return repr(float(value))
    if t == "timestamp":
        return iso8601(value)
    if t == "blob":
        data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return base64.b64encode(data).decode("ascii")
    raise TypeError(f"unsupported shape type {t}")


def _element_name(shape: Shape, default: str) -> str:
    return shape.serialization.get("name", default)


def write_value(out: list[str], name: str, value: Any, shape: Shape) -> None:
    t = shape.type_name
    if t == "structure":
        out.append(f"<{name}>")
        write_members(out, value, shape)
        out.append(f"</{name}>")
    elif t == "list":
        item_name = _element_name(shape.member, "member")
        out.append(f"<{name}>")
        for item in value:
            write_value(out, item_name, item, shape.member)
        out.append(f"</{name}>")
    elif t == "map":
        key_name = _element_name(shape.key, "key")
        value_name = _element_name(shape.value, "value")
        out.append(f"<{name}>")
        for k, v in value.items():
            out.append("<entry>")
            write_value(out, key_name, k, shape.key)
            write_value(out, value_name, v, shape.value)
            out.append("</entry>")
        out.append(f"</{name}>")
    else:
        out.append(f"<{name}>{xml_text(_scalar(value, shape))}</{name}>")


def write_members(out: list[str], value: dict[str, Any], shape: Shape) -> None:
    members = shape.members
    unknown = [k for k in value if k not in members and k != "ResponseMetadata"]
    if unknown:
        raise TypeError(f"{shape.name} has no members {unknown}")
    for member_name, member_shape in members.items():
        item = value.get(member_name)
        if item is None:
            continue
        write_value(out, _element_name(member_shape, member_name), item, member_shape)


def response_document(
    operation: str, output_shape: Shape | None, output: dict[str, Any] | None, namespace: str, request_id: str
) -> bytes:
    out: list[str] = [f'<{operation}Response xmlns="{xml_text(namespace)}">']
    if output_shape is not None:
        wrapper = output_shape.serialization.get("resultWrapper", f"{operation}Result")
        out.append(f"<{wrapper}>")
        write_members(out, output or {}, output_shape)
        out.append(f"</{wrapper}>")
    out.append(f"<ResponseMetadata><RequestId>{xml_text(request_id)}</RequestId></ResponseMetadata>")
    out.append(f"</{operation}Response>")
    return "".join(out).encode("utf-8")


def error_document(err: AwsError, namespace: str, request_id: str) -> bytes:
    return (
        f'<ErrorResponse xmlns="{xml_text(namespace)}"><Error>'
        f"<Type>{err.fault}</Type><Code>{xml_text(err.code)}</Code><Message>{xml_text(err.message)}</Message>"
        f"</Error><RequestId>{xml_text(request_id)}</RequestId></ErrorResponse>"
    ).encode("utf-8")
