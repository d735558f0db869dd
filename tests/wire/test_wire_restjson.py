"""REST-JSON (EKS): botocore's RestJSONSerializer -> our parser, our serializer -> botocore's
RestJSONParser, for every EKS operation; plus targeted cluster-operation cases."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from urllib.parse import urlencode

import pytest
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from irsa import errors
from irsa.errors import AwsError
from irsa.wire.restjson import RestJsonProtocol

import wire_shapegen as shapegen

EKS = RestJsonProtocol("eks")
OPS = sorted(EKS.model.operation_names)
CLUSTER_OPS = ["CreateCluster", "DescribeCluster", "ListClusters", "DeleteCluster"]


def botocore_request(op: str, params: dict):
    op_model = EKS.model.operation_model(op)
    req = create_serializer("rest-json", include_validation=True).serialize_to_request(params, op_model)
    query = urlencode(req["query_string"], doseq=True) if isinstance(req["query_string"], dict) else req["query_string"]
    body = req["body"] if isinstance(req["body"], bytes) else req["body"].encode()
    return req["method"], req["url_path"], query, body


def botocore_parse(op: str, status: int, headers, body: bytes) -> dict:
    shape = EKS.model.operation_model(op).output_shape
    parsed = create_parser("rest-json").parse(
        {"body": body, "headers": {k.lower(): v for k, v in headers}, "status_code": status}, shape
    )
    meta = parsed.pop("ResponseMetadata")
    assert meta["RequestId"] == "rid-1"
    return parsed


def test_covers_all_operations():
    assert len(OPS) >= 60 and set(CLUSTER_OPS) <= set(OPS)


@pytest.mark.parametrize("op", OPS)
def test_request_roundtrip(op: str):
    shape = EKS.model.operation_model(op).input_shape
    params = shapegen.example(shape) if shape is not None else {}
    method, path, query, body = botocore_request(op, params)
    assert EKS.parse(method, path, query, body) == (op, params)


@pytest.mark.parametrize("op", OPS)
def test_response_roundtrip(op: str):
    shape = EKS.model.operation_model(op).output_shape
    output = shapegen.example(shape, nasty=True) if shape is not None else {}
    status, headers, body = EKS.serialize(op, output, "rid-1")
    assert status == EKS.model.operation_model(op).http.get("responseCode", 200)
    assert botocore_parse(op, status, headers, body) == output


def test_cluster_routes():
    assert EKS.match("GET", "/clusters") == ("ListClusters", {})
    assert EKS.match("POST", "/clusters") == ("CreateCluster", {})
    assert EKS.match("GET", "/clusters/prod") == ("DescribeCluster", {"name": "prod"})
    assert EKS.match("DELETE", "/clusters/prod") == ("DeleteCluster", {"name": "prod"})
    assert EKS.match("POST", "/clusters/prod/update-config") == ("UpdateClusterConfig", {"name": "prod"})
    assert EKS.match("GET", "/tags/arn%3Aaws%3Aeks%3Aus-east-1%3A123456789012%3Acluster%2Fprod") == (
        "ListTagsForResource", {"resourceArn": "arn:aws:eks:us-east-1:123456789012:cluster/prod"})
    for method, path in [("PUT", "/clusters"), ("GET", "/nope"), ("GET", "/clusters/a/b/c/d/e"), ("GET", "/clusters/")]:
        with pytest.raises(AwsError) as ei:
            EKS.match(method, path)
        assert ei.value.status == 404


def test_create_cluster_parse():
    params = {
        "name": "prod", "roleArn": "arn:aws:iam::123456789012:role/eks",
        "resourcesVpcConfig": {"subnetIds": ["subnet-1", "subnet-2"], "endpointPublicAccess": True},
        "tags": {"team": "a"}, "version": "1.33",
    }
    assert EKS.parse(*botocore_request("CreateCluster", params)) == ("CreateCluster", params)


def test_list_clusters_query():
    method, path, query, body = botocore_request("ListClusters", {"maxResults": 10, "include": ["all"], "nextToken": "t"})
    assert EKS.parse(method, path, query, body) == ("ListClusters", {"maxResults": 10, "include": ["all"], "nextToken": "t"})
    with pytest.raises(AwsError) as ei:
        EKS.parse("GET", "/clusters", "maxResults=1000", b"")
    assert ei.value.code == "InvalidParameterException"
    assert "Value '1000' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100" in ei.value.message


def test_describe_cluster_output_timestamps_are_epoch_seconds():
    created = datetime(2026, 11, 22, 6, 22, 11, tzinfo=timezone.utc)
    out = {"cluster": {"name": "prod", "arn": "arn:aws:eks:us-east-1:123456789012:cluster/prod", "createdAt": created,
                       "identity": {"oidc": {"issuer": "https://oidc.example/id/AB"}}, "status": "ACTIVE"}}
    status, headers, body = EKS.serialize("DescribeCluster", out, "rid-1")
    doc = json.loads(body)
    assert status == 200 and doc["cluster"]["createdAt"] == int(created.timestamp())
    assert ("Content-Type", "application/json") in headers
    assert botocore_parse("DescribeCluster", status, headers, body) == out


def test_bad_bodies():
    for body in (b"{", b"[1]", b"\xff"):
        with pytest.raises(AwsError) as ei:
            EKS.parse("POST", "/clusters", "", body)
        assert ei.value.status == 400
    with pytest.raises(AwsError) as ei:
        EKS.parse("POST", "/clusters", "", json.dumps({"name": 5, "roleArn": "r", "resourcesVpcConfig": {}}).encode())
    assert ei.value.code == "InvalidParameterException" and "name" in ei.value.message
    with pytest.raises(AwsError) as ei:
        EKS.parse("POST", "/clusters", "", json.dumps({"roleArn": "r", "resourcesVpcConfig": {}}).encode())
    assert "Value null at 'name' failed to satisfy constraint: Member must not be null" in ei.value.message


def test_error_is_parsed_by_botocore():
    err = AwsError(errors.RESOURCE_NOT_FOUND, "No cluster found for name: prod.")
    status, headers, body = EKS.serialize_error(err, "rid-1", {"clusterName": "prod"})
    assert status == 404 and ("x-amzn-ErrorType", "ResourceNotFoundException") in headers
    response = {"body": body, "headers": {k.lower(): v for k, v in headers}, "status_code": status}
    parser = create_parser("rest-json")
    parsed = parser.parse(response, EKS.model.operation_model("DescribeCluster").output_shape)
    assert parsed["Error"]["Code"] == "ResourceNotFoundException"
    assert parsed["Error"]["Message"] == "No cluster found for name: prod."
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-1"
    modeled = parser.parse(response, EKS.model.shape_for("ResourceNotFoundException"))
    assert modeled["clusterName"] == "prod"
    assert json.loads(body) == {"message": "No cluster found for name: prod.", "clusterName": "prod"}


def test_bad_path_and_query_encoding():
    with pytest.raises(AwsError) as ei:
        EKS.match("GET", "/clusters/%ff")
    assert ei.value.code == "InvalidParameterException"
    with pytest.raises(AwsError) as ei:
        EKS.parse("GET", "/clusters", "nextToken=%ff", b"")
    assert ei.value.code == "InvalidParameterException"
