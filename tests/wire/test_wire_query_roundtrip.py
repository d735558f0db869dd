"""Every IAM and STS operation, both directions, against botocore's own client-side codec.

Request: a synthetic full input -> botocore ``QuerySerializer`` -> form body -> our
``parse_form`` + ``QueryProtocol.parse`` -> must equal the input.
Response: a synthetic full output -> our ``serialize`` -> botocore ``QueryParser`` (+ IAM's
``json_decode_policies`` handler) -> must equal the output.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote, urlencode

import pytest
from botocore.handlers import json_decode_policies
from botocore.model import Shape
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from irsa.wire.query import QueryProtocol, parse_form

import wire_shapegen as shapegen

PROTOCOLS = {name: QueryProtocol(name) for name in ("iam", "sts")}
OPS = [(svc, op) for svc, qp in PROTOCOLS.items() for op in sorted(qp.operation_names)]
IDS = [f"{svc}:{op}" for svc, op in OPS]


def test_covers_all_operations():
    assert len([o for o in OPS if o[0] == "iam"]) == len(PROTOCOLS["iam"].model.operation_names) >= 150
    assert len([o for o in OPS if o[0] == "sts"]) == len(PROTOCOLS["sts"].model.operation_names) >= 8


@pytest.mark.parametrize("svc, op", OPS, ids=IDS)
def test_request_roundtrip(svc: str, op: str):
    qp = PROTOCOLS[svc]
    op_model = qp.model.operation_model(op)
    params = shapegen.example(op_model.input_shape) if op_model.input_shape is not None else {}
    request = create_serializer("query", include_validation=True).serialize_to_request(params, op_model)
    body = urlencode(request["body"], doseq=True).encode("utf-8")
    parsed_op, parsed = qp.parse(parse_form(body, ""))
    assert parsed_op == op
    assert parsed == params


@pytest.mark.parametrize("svc, op", OPS, ids=IDS)
def test_request_roundtrip_as_get_query_string(svc: str, op: str):
    qp = PROTOCOLS[svc]
    op_model = qp.model.operation_model(op)
    params = shapegen.example(op_model.input_shape) if op_model.input_shape is not None else {}
    request = create_serializer("query").serialize_to_request(params, op_model)
    assert qp.parse(parse_form(b"", urlencode(request["body"], doseq=True))) == (op, params)


def _normalize(value: Any, shape: Shape) -> Any:
    """Policy documents: JSON text (ours) or botocore's decoded dict / still-quoted string -> dict."""
    t = shape.type_name
    if t == "string" and shape.name == "policyDocumentType":
        if isinstance(value, dict):
            return value
        text = value
        try:
            return json.loads(text)
        except ValueError:
            return json.loads(unquote(text))
    if t == "structure":
        return {k: _normalize(v, shape.members[k]) for k, v in value.items()}
    if t == "list":
        return [_normalize(v, shape.member) for v in value]
    if t == "map":
        return {k: _normalize(v, shape.value) for k, v in value.items()}
    return value


@pytest.mark.parametrize("svc, op", OPS, ids=IDS)
def test_response_roundtrip(svc: str, op: str):
    qp = PROTOCOLS[svc]
    op_model = qp.model.operation_model(op)
    shape = op_model.output_shape
    output = shapegen.example(shape, nasty=True) if shape is not None else {}
    body = qp.serialize(op, output, "req-1234")
    assert body.startswith(f'<{op}Response xmlns="{qp.namespace}">'.encode())
    parsed = create_parser("query").parse({"body": body, "headers": {}, "status_code": 200}, shape)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "req-1234"
    if svc == "iam":
        json_decode_policies(parsed, op_model)
    if shape is None:
        assert parsed == {}
        return
    assert _normalize(parsed, shape) == _normalize(output, shape)


def test_top_level_policy_documents_are_decoded_by_botocore_handler():
    qp = PROTOCOLS["iam"]
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/oidc.example/id/AB"}, "Action": "sts:AssumeRoleWithWebIdentity"}]}
    text = json.dumps(doc, indent=2)
    body = qp.serialize("GetRolePolicy", {"RoleName": "r", "PolicyName": "p", "PolicyDocument": text}, "rid")
    assert b"%7B%0A%20%20%22Version%22%3A%20%222012-10-17%22" in body  # percent-encoded JSON, %20 not '+'
    op_model = qp.model.operation_model("GetRolePolicy")
    parsed = create_parser("query").parse({"body": body, "headers": {}, "status_code": 200}, op_model.output_shape)
    json_decode_policies(parsed, op_model)
    assert parsed["PolicyDocument"] == doc
