"""The AWS REST-JSON protocol (EKS) on the server side, driven by botocore's service model.

* routing: each operation's ``http.method`` + ``http.requestUri`` template (``/clusters/{name}``;
  a greedy ``{label+}`` takes the rest of the path). The raw path is split on ``/`` *before*
  percent-decoding, so an encoded ``%2F`` stays inside its label (botocore encodes ``/`` in
  non-greedy labels). Literal segments win over labels;
* input: URI labels + query string (repeated keys for lists) + the JSON body, converted by the
  shapes (timestamps in the body are epoch seconds, in the query string ISO 8601), then validated
  with the model's constraints (``InvalidParameterException`` with AWS's generic validation text;
  VERIFY: EKS's own texts were not available);
* output: status ``http.responseCode`` (200 by default), JSON body, timestamps as epoch seconds
  (what botocore's ``RestJSONParser`` reads), ``x-amzn-RequestId``;
* errors: ``x-amzn-ErrorType: <Code>`` + ``{"message": ...}`` (plus modelled error fields),
  botocore reads the code from that header.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from botocore.model import OperationModel, Shape

from irsa import errors
from irsa.errors import AwsError
from irsa.wire.models import service_model
from irsa.wire.query import parse_form
from irsa.wire.validation import validation_faults

MAX_BODY_BYTES = 1024 * 1024
CONTENT_TYPE = "application/json"
_LABEL = re.compile(r"\{([A-Za-z0-9_]+)(\+?)\}")
_INT = re.compile(r"[+-]?[0-9]{1,19}")

Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    segments: tuple[tuple[str, str | None, bool], ...]  # (literal, label, greedy)
    specificity: tuple[int, int]


def _compile_route(operation: OperationModel) -> _Route:
    uri = operation.http["requestUri"].split("?", 1)[0]
    segments = []
    literal_count = 0
    for seg in uri.strip("/").split("/") if uri.strip("/") else []:
        m = _LABEL.fullmatch(seg)
        if m:
            segments.append(("", m.group(1), bool(m.group(2))))
        else:
            segments.append((seg, None, False))
            literal_count += 1
    return _Route(operation.name, operation.http["method"].upper(), tuple(segments), (literal_count, len(segments)))


def _invalid(message: str) -> AwsError:
    return AwsError(errors.INVALID_PARAMETER_EXCEPTION, message)


def _epoch(value: datetime | int | float) -> int | float:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        ts = value.timestamp()
    else:
        ts = float(value)
    return int(ts) if ts == int(ts) else ts


class RestJsonProtocol:
    """Server codec of one REST-JSON service (``"eks"``)."""

    def __init__(self, service: str = "eks") -> None:
        model = service_model(service)
        if model.protocol != "rest-json":
            raise ValueError(f"{service} is not a rest-json service ({model.protocol})")
        self.service = service
        self.model = model
        routes = [_compile_route(model.operation_model(name)) for name in model.operation_names]
        self._routes = sorted(routes, key=lambda r: r.specificity, reverse=True)

    # --- routing -------------------------------------------------------------------------------

    def match(self, method: str, raw_path: str) -> tuple[str, dict[str, str]]:
        """``(operation, decoded URI labels)``; an unknown route is ``NotFound`` (404)."""
        path = raw_path.split("?", 1)[0]
        if not path.startswith("/"):
            raise AwsError(errors.NOT_FOUND, "The request path must start with '/'.")
        parts = path[1:].split("/") if path != "/" else []
        method = method.upper()
        for route in self._routes:
            if route.method != method:
                continue
            try:
                labels = self._match_segments(route, parts)
            except UnicodeDecodeError:
                raise _invalid("The request path is not valid UTF-8.") from None
            if labels is not None:
                return route.operation, labels
        raise AwsError(errors.NOT_FOUND, f"No operation matches {method} {path[:256]}")

    @staticmethod
    def _match_segments(route: _Route, parts: list[str]) -> dict[str, str] | None:
        labels: dict[str, str] = {}
        segs = route.segments
        for i, (literal, label, greedy) in enumerate(segs):
            if greedy:
                rest = parts[i:]
                if not rest or i != len(segs) - 1:
                    return None
                labels[label] = unquote("/".join(rest), errors="strict")  # type: ignore[index]
                return labels
            if i >= len(parts):
                return None
            if label is None:
                if parts[i] != literal:
                    return None
            else:
                if not parts[i]:
                    return None
                labels[label] = unquote(parts[i], errors="strict")
        return labels if len(parts) == len(segs) else None

    # --- request ---------------------------------------------------------------------------------

    def parse(self, method: str, raw_path: str, query_string: str, body: bytes) -> tuple[str, dict[str, Any]]:
        """Route + URI labels + query string + JSON body -> (operation, validated input dict)."""
        if len(body) > MAX_BODY_BYTES:
            raise AwsError(errors.REQUEST_ENTITY_TOO_LARGE, "Request body is too large.")
        operation, labels = self.match(method, raw_path)
        op = self.model.operation_model(operation)
        shape = op.input_shape
        if shape is None:
            return operation, {}
        query = self._query_multi(query_string)
        doc: Any = {}
        if body.strip():
            try:
                doc = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise AwsError(errors.INVALID_REQUEST_EXCEPTION, "The request body is not valid JSON.") from None
            if not isinstance(doc, dict):
                raise AwsError(errors.INVALID_REQUEST_EXCEPTION, "The request body must be a JSON object.")
        result: dict[str, Any] = {}
        for name, member in shape.members.items():
            location = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if location == "uri":
                if wire in labels:
                    result[name] = self._from_text(labels[wire], member, wire)
            elif location == "querystring":
                if wire in query:
                    values = query[wire]
                    if member.type_name == "list":
                        result[name] = [self._from_text(v, member.member, wire) for v in values]
                    else:
                        result[name] = self._from_text(values[0], member, wire)
            elif location in ("header", "headers"):
                continue  # no EKS input uses headers
            elif wire in doc and doc[wire] is not None:
                result[name] = self._from_json(doc[wire], member, wire)
        faults = validation_faults(result, shape)
        if faults:
            n = len(faults)
            raise _invalid(f"{n} validation error{'s' if n != 1 else ''} detected: " + "; ".join(faults))
        return operation, result

    @staticmethod
    def _query_multi(query_string: str) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        if not query_string:
            return out
        for item in query_string.split("&"):
            if not item:
                continue
            try:
                single = parse_form(b"", item)
            except AwsError as err:
                raise _invalid(err.message) from None
            for k, v in single.items():
                out.setdefault(k, []).append(v)
        return out

    def _from_text(self, text: str, shape: Shape, name: str) -> Any:
        t = shape.type_name
        if t == "string":
            return text
        if t in ("integer", "long"):
            if not _INT.fullmatch(text):
                raise _invalid(f"Invalid value for parameter {name}: expected an integer.")
            return int(text)
        if t == "boolean":
            if text.lower() not in ("true", "false"):
                raise _invalid(f"Invalid value for parameter {name}: expected true or false.")
            return text.lower() == "true"
        if t == "timestamp":
            try:
                value = datetime.fromisoformat(text) if len(text) <= 40 else None
            except ValueError:
                value = None
            if value is None:
                raise _invalid(f"Invalid value for parameter {name}: expected a timestamp.")
            return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        if t in ("float", "double"):
            try:
                return float(text)
            except ValueError:
                raise _invalid(f"Invalid value for parameter {name}: expected a number.") from None
        raise _invalid(f"Invalid value for parameter {name}.")

    def _from_json(self, value: Any, shape: Shape, path: str) -> Any:
        t = shape.type_name

        def wrong(expected: str) -> AwsError:
            return _invalid(f"Invalid type for parameter {path}: expected {expected}.")

        if t == "structure":
            if not isinstance(value, dict):
                raise wrong("an object")
            out: dict[str, Any] = {}
            for name, member in shape.members.items():
                wire = member.serialization.get("name", name)
                if wire in value and value[wire] is not None:
                    out[name] = self._from_json(value[wire], member, f"{path}.{wire}")
            return out
        if t == "list":
            if not isinstance(value, list):
                raise wrong("a list")
            return [self._from_json(v, shape.member, f"{path}[{i}]") for i, v in enumerate(value)]
        if t == "map":
            if not isinstance(value, dict):
                raise wrong("an object")
            return {k: self._from_json(v, shape.value, f"{path}.{k}") for k, v in value.items()}
        if t == "string":
            if not isinstance(value, str):
                raise wrong("a string")
            return value
        if t == "boolean":
            if not isinstance(value, bool):
                raise wrong("a boolean")
            return value
        if t in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise wrong("an integer")
            return value
        if t in ("float", "double"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise wrong("a number")
            return float(value)
        if t == "timestamp":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise wrong("epoch seconds")
            try:
                return datetime.fromtimestamp(value, tz=timezone.utc)
            except (OverflowError, OSError, ValueError):
                raise wrong("epoch seconds") from None
        if t == "blob":
            if not isinstance(value, str):
                raise wrong("base64 text")
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise wrong("base64 text") from None
        return value

    # --- response --------------------------------------------------------------------------------

    def _to_json(self, value: Any, shape: Shape) -> Any:
        t = shape.type_name
        if t == "structure":
            members = shape.members
            unknown = [k for k in value if k not in members and k != "ResponseMetadata"]
            if unknown:
                raise TypeError(f"{shape.name} has no members {unknown}")
            return {
                m.serialization.get("name", name): self._to_json(value[name], m)
                for name, m in members.items()
                if value.get(name) is not None
            }
        if t == "list":
            return [self._to_json(v, shape.member) for v in value]
        if t == "map":
            return {k: self._to_json(v, shape.value) for k, v in value.items()}
        if t == "timestamp":
            return _epoch(value)
        if t == "blob":
            data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
            return base64.b64encode(data).decode("ascii")
        return value

    def serialize(self, operation: str, output: Mapping[str, Any] | None, request_id: str) -> tuple[int, Headers, bytes]:
        """``(status, headers, body)`` of a successful ``operation``."""
        op = self.model.operation_model(operation)
        status = int(op.http.get("responseCode", 200))
        headers: Headers = [("Content-Type", CONTENT_TYPE), ("x-amzn-RequestId", request_id)]
        shape = op.output_shape
        doc: dict[str, Any] = {}
        if shape is not None and output:
            body_values = {}
            for name, value in output.items():
                member = shape.members.get(name)
                location = member.serialization.get("location") if member is not None else None
                if location == "header" and value is not None:
                    headers.append((member.serialization.get("name", name), str(value)))  # type: ignore[union-attr]
                elif location == "statusCode" and value is not None:
                    status = int(value)
                else:
                    body_values[name] = value
            doc = self._to_json(body_values, shape)
        return status, headers, json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def serialize_error(
        self, err: AwsError, request_id: str, fields: Mapping[str, Any] | None = None
    ) -> tuple[int, Headers, bytes]:
        """``(status, headers, body)``: ``x-amzn-ErrorType`` + ``{"message": ..., **fields}``."""
        headers: Headers = [
            ("Content-Type", CONTENT_TYPE),
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", err.code),
        ]
        doc: dict[str, Any] = {"message": err.message}
        for k, v in (fields or {}).items():
            if k != "message" and v is not None:
                doc[k] = v
        return err.status, headers, json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
