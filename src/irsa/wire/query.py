"""The AWS Query protocol (IAM, STS) on the server side, driven by botocore's service models.

Request side (botocore ``QuerySerializer`` is the reference for what clients send):
``parse_form`` turns the form body and query string into flat parameters; ``QueryProtocol.parse``
maps ``Action``/``Version`` to an operation and the flat ``Name.member.N`` keys to the input dict
boto3 users pass as kwargs, then validates it against the model's constraints.

Response side: ``serialize`` and ``serialize_error`` (see ``query_xml``).

Decisions taken from real STS behaviour (captured probes against AWS, see the report):

* a repeated parameter: the first value wins (``Action=A&Action=B`` runs ``A``);
* missing ``Version`` -> ``InvalidAction`` ``Could not find operation <Op> for version
  NO_VERSION_SPECIFIED``; a wrong or empty version -> the same text with that version;
* unknown parameters are ignored;
* missing ``Action``: real AWS answers with a 302 redirect to aws.amazon.com; we answer
  ``MissingAction`` (400) instead, an AWS error code that SDKs surface cleanly;
* list items are ``Name.member.N`` with N a canonical positive decimal; items are taken in
  numeric order; ``Name=`` (empty) is an empty list;
* a malformed number or boolean -> ``InvalidParameterValue`` naming the parameter (VERIFY: no
  capture of AWS's text was available);
* text must be valid UTF-8 with valid ``%XX`` escapes, else ``InvalidParameterValue``.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
import weakref
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote_to_bytes

from botocore.model import OperationModel, ServiceModel, Shape

from irsa import errors
from irsa.errors import AwsError
from irsa.wire.models import service_model
from irsa.wire.query_xml import ResponseWriter, error_document
from irsa.wire.validation import validate_input

MAX_FORM_BYTES = 1024 * 1024
NO_VERSION = "NO_VERSION_SPECIFIED"
MAX_KEY_SEGMENTS = 32  # far deeper than any IAM/STS input path (at most ~7 segments)
MAX_KEY_LENGTH = 1024
CONTENT_TYPE = "text/xml"

_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")
_INT = re.compile(r"[+-]?[0-9]{1,19}")
_INDEX = re.compile(r"[1-9][0-9]{0,8}")
_INT_BOUNDS = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def _decode(part: bytes) -> str:
    if b"%" not in part and b"+" not in part:  # nothing to unescape (most names, tokens): only UTF-8 to check
        try:
            return part.decode("utf-8")
        except UnicodeDecodeError:
            raise AwsError(errors.INVALID_PARAMETER_VALUE, "The request parameters must be valid UTF-8.") from None
    if _BAD_ESCAPE.search(part):
        raise AwsError(errors.INVALID_PARAMETER_VALUE, "The request contains a malformed percent-encoded sequence.")
    try:
        return unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        raise AwsError(errors.INVALID_PARAMETER_VALUE, "The request parameters must be valid UTF-8.") from None


def parse_form(body: bytes, query_string: str) -> dict[str, str]:
    """Flat parameters from the query string, then the ``x-www-form-urlencoded`` body.

    The first occurrence of a name wins (as in AWS). Total size is bounded by ``MAX_FORM_BYTES``
    (``RequestEntityTooLarge``, 413); decoding is linear in the input size.
    """
    qs = query_string.encode("utf-8", "surrogateescape") if isinstance(query_string, str) else bytes(query_string)
    if len(body) + len(qs) > MAX_FORM_BYTES:
        raise AwsError(
            errors.REQUEST_ENTITY_TOO_LARGE,
            f"Request is larger than the maximum of {MAX_FORM_BYTES} bytes allowed for this API.",
        )
    params: dict[str, str] = {}
    for source in (qs, body):
        if not source:
            continue
        for item in source.split(b"&"):
            if not item:
                continue
            raw_key, _, raw_value = item.partition(b"=")
            key = _decode(raw_key)
            if key not in params:
                params[key] = _decode(raw_value)
    return params


class _Node:
    """One dotted-name segment of the flat parameters: its own value and its children."""

    __slots__ = ("value", "children")

    def __init__(self) -> None:
        self.value: str | None = None
        self.children: dict[str, _Node] = {}


def _tree(params: dict[str, str]) -> _Node:
    """Nest the flat keys by ``.``; keys deeper than any model path are unknown and skipped."""
    root = _Node()
    for key, value in params.items():
        if key.count(".", 0, MAX_KEY_LENGTH + 1) > MAX_KEY_SEGMENTS or len(key) > MAX_KEY_LENGTH:
            continue
        node = root
        for segment in key.split("."):
            child = node.children.get(segment)
            if child is None:
                child = node.children[segment] = _Node()
            node = child
        node.value = value
    return root


_MISSING = object()


def _bad_value(path: str, value: str, expected: str) -> AwsError:
    shown = value if len(value) <= 64 else value[:64] + "..."
    return AwsError(
        errors.INVALID_PARAMETER_VALUE, f"Value ({shown}) for parameter {path} is invalid. Expected: '{expected}'."
    )


# The members of each structure shape as (name, wire key, shape, is a string), read from the model once per
# shape object (botocore keeps an operation's shapes for the model's lifetime).
_FIELDS: "weakref.WeakKeyDictionary[Shape, tuple[tuple[str, str, Shape, bool], ...]]" = weakref.WeakKeyDictionary()


def _fields(shape: Shape) -> tuple[tuple[str, str, Shape, bool], ...]:
    fields = _FIELDS.get(shape)
    if fields is None:
        fields = _FIELDS[shape] = tuple(
            (name, member.serialization.get("name", name), member, member.type_name == "string")
            for name, member in shape.members.items()
        )
    return fields


def _read(node: _Node, shape: Shape, path: str) -> Any:
    t = shape.type_name
    if t == "structure":
        out: dict[str, Any] = {}
        for name, key, member, is_string in _fields(shape):
            child = node.children.get(key)
            if child is None:
                continue
            if is_string:  # what _read gives for a string member, without the call and the path
                if child.value is not None:
                    out[name] = child.value
                continue
            value = _read(child, member, f"{path}.{key}" if path else key)
            if value is not _MISSING:
                out[name] = value
        if not out and node.value is not None and not node.children:
            return _MISSING
        return out
    if t == "list":
        item_key = shape.member.serialization.get("name", "member")
        items = node.children.get(item_key)
        if items is None:
            return [] if node.value == "" else _MISSING
        result = []
        for index in sorted((int(k) for k in items.children if _INDEX.fullmatch(k))):
            value = _read(items.children[str(index)], shape.member, f"{path}.{item_key}.{index}")
            if value is not _MISSING:
                result.append(value)
        return result
    if t == "map":
        entries = node.children.get("entry")
        if entries is None:
            return {} if node.value == "" else _MISSING
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        mapping: dict[Any, Any] = {}
        for index in sorted((int(k) for k in entries.children if _INDEX.fullmatch(k))):
            entry = entries.children[str(index)]
            key_node = entry.children.get(key_name)
            value_node = entry.children.get(value_name)
            if key_node is None:
                continue
            k = _read(key_node, shape.key, f"{path}.entry.{index}.{key_name}")
            v = _read(value_node, shape.value, f"{path}.entry.{index}.{value_name}") if value_node else _MISSING
            if k is not _MISSING and k not in mapping:
                mapping[k] = None if v is _MISSING else v
        return mapping
    text = node.value
    if text is None:
        return _MISSING
    if t == "string":
        return text
    if t in _INT_BOUNDS:
        lo, hi = _INT_BOUNDS[t]
        if not _INT.fullmatch(text) or not lo <= int(text) <= hi:
            raise _bad_value(path, text, t)
        return int(text)
    if t == "boolean":
        lowered = text.lower()
        if lowered not in ("true", "false"):
            raise _bad_value(path, text, "boolean")
        return lowered == "true"
    if t in ("float", "double"):
        try:
            return float(text)
        except ValueError:
            raise _bad_value(path, text, t) from None
    if t == "timestamp":
        return _parse_timestamp(text, path)
    if t == "blob":
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise _bad_value(path, text, "base64") from None
    raise _bad_value(path, text, t)


def _parse_timestamp(text: str, path: str) -> datetime:
    if _INT.fullmatch(text):
        return datetime.fromtimestamp(int(text), tz=timezone.utc)
    try:
        value = datetime.fromisoformat(text) if len(text) <= 40 else None
    except ValueError:
        value = None
    if value is None:
        raise _bad_value(path, text, "timestamp")
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class QueryProtocol:
    """Server codec of one Query-protocol service (``"iam"`` or ``"sts"``)."""

    def __init__(self, service: str) -> None:
        model: ServiceModel = service_model(service)
        if model.protocol != "query":
            raise ValueError(f"{service} is not a query-protocol service ({model.protocol})")
        self.service = service
        self.model = model
        self.version: str = model.api_version
        self.namespace: str = model.metadata["xmlNamespace"]
        self._operations = frozenset(model.operation_names)
        # per-operation response writers, built on first use under the lock (a structure's plan is
        # registered before its members are filled in, so a half-built plan must never be shared)
        self._writers: dict[str, ResponseWriter] = {}
        self._plans: dict[str, Any] = {}
        self._writers_lock = threading.Lock()
        self._has_auth: dict[str, bool] = {}

    @property
    def operation_names(self) -> frozenset[str]:
        return self._operations

    def operation_model(self, operation: str) -> OperationModel:
        if operation not in self._operations:
            raise AwsError(errors.INVALID_ACTION, f"Could not find operation {operation} for version {self.version}")
        return self.model.operation_model(operation)

    def resolve_operation(self, params: dict[str, str]) -> str:
        """``Action``/``Version`` -> operation name, or ``MissingAction``/``InvalidAction``."""
        action = params.get("Action")
        if action is None:
            raise AwsError(errors.MISSING_ACTION, "The request must contain the parameter Action.")
        version = params.get("Version", NO_VERSION)
        if version != self.version or action not in self._operations:
            raise AwsError(errors.INVALID_ACTION, f"Could not find operation {action} for version {version}")
        return action

    def parse(self, params: dict[str, str]) -> tuple[str, dict[str, Any]]:
        """Flat parameters -> (operation, validated boto3-style input dict)."""
        operation = self.resolve_operation(params)
        shape = self.model.operation_model(operation).input_shape
        if shape is None:
            return operation, {}
        value = _read(_tree(params), shape, "")
        result: dict[str, Any] = value if isinstance(value, dict) else {}
        validate_input(result, shape)
        return operation, result

    def operation_has_auth(self, operation: str) -> bool:
        """False for operations the model marks as unsigned (``smithy.api#noAuth`` / ``authtype: none``)."""
        known = self._has_auth.get(operation)
        if known is not None:
            return known
        op = self.operation_model(operation)
        if op.auth_type == "none":
            has_auth = False
        else:
            auth = getattr(op, "auth", None)
            has_auth = not (auth and list(auth) == ["smithy.api#noAuth"])
        self._has_auth[operation] = has_auth  # a fact of the model: the same answer every time
        return has_auth

    def serialize(self, operation: str, output: dict[str, Any] | None, request_id: str) -> bytes:
        """The success document botocore's ``QueryParser`` expects for ``operation``."""
        writer = self._writers.get(operation)
        if writer is None:
            op = self.operation_model(operation)
            with self._writers_lock:
                writer = self._writers.get(operation)
                if writer is None:
                    writer = ResponseWriter(operation, op.output_shape, self.namespace, self._plans)
                    self._writers[operation] = writer
        return writer.document(output, request_id)

    def serialize_error(self, err: AwsError, request_id: str) -> bytes:
        """``<ErrorResponse xmlns=ns><Error><Type/><Code/><Message/></Error><RequestId/>``."""
        return error_document(err, self.namespace, request_id)
