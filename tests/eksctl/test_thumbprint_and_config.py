"""Thumbprint fetching against an external HTTPS issuer, partitions, and endpoint resolution."""

from __future__ import annotations

import hashlib
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from irsa.eksctl import aws as eaws
from irsa.eksctl.cluster import ClusterInfo
from irsa.eksctl.naming import EksctlError, parse_issuer
from irsa.eksctl.thumbprint import issuer_thumbprint, presented_chain, tls_context
from tests.support.issuer import IssuerServer


@pytest.fixture
def external_issuer(tmp_path):
    server = IssuerServer(tmp_path / "issuer").start()
    try:
        yield server
    finally:
        server.stop()


def test_thumbprint_is_sha1_of_the_last_presented_certificate(external_issuer):
    intermediate = x509.load_pem_x509_certificate((external_issuer.ca.directory / "intermediate.pem").read_bytes())
    expected = hashlib.sha1(intermediate.public_bytes(Encoding.DER)).hexdigest()
    assert issuer_thumbprint(external_issuer.issuer, [str(external_issuer.ca_bundle)]) == expected
    chain = presented_chain(external_issuer.issuer, tls_context([str(external_issuer.ca_bundle)]))
    assert len(chain) == 2 and x509.load_der_x509_certificate(chain[0]).issuer == intermediate.subject
    # the chain is verified first (as eksctl's HTTPS client does): an untrusted CA is a clear error
    with pytest.raises(EksctlError, match="does not verify.*AWS_CA_BUNDLE"):
        issuer_thumbprint(external_issuer.issuer)
    with pytest.raises(EksctlError, match="cannot load CA bundle"):
        issuer_thumbprint(external_issuer.issuer, ["/nonexistent/ca.pem"])


def test_unreachable_issuer_is_a_clear_error(external_issuer):
    port = external_issuer.port
    external_issuer.stop()
    with pytest.raises(EksctlError, match="cannot fetch the TLS certificate chain"):
        issuer_thumbprint(f"https://127.0.0.1:{port}/id/X", [str(external_issuer.ca_bundle)])


def test_china_partition_uses_its_sts_audience():
    cn = ClusterInfo("c", "cn-north-1", "aws-cn", "111122223333", parse_issuer("https://oidc.eks.cn-north-1.amazonaws.com.cn/id/A"))
    assert cn.audience == "sts.amazonaws.com.cn"
    assert cn.provider_arn == "arn:aws-cn:iam::111122223333:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/A"
    us = ClusterInfo("c", "us-east-1", "aws", "1", parse_issuer("https://oidc.eks.us-east-1.amazonaws.com/id/A"))
    assert us.audience == "sts.amazonaws.com"


def test_endpoint_resolution_order(tmp_path, monkeypatch):
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_CA_BUNDLE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    data = tmp_path / "data"
    data.mkdir()
    (data / "ca").mkdir()
    (data / "ca" / "root.pem").write_text("x")
    (data / "endpoint.json").write_text(json.dumps({"endpoint": "http://127.0.0.1:1", "region": "eu-west-1", "https": False,
                                                    "ca_bundle": str(data / "ca" / "root.pem")}))
    (data / "admin-credentials.json").write_text(json.dumps({"AccountId": "1", "AccessKeyId": "AKIAX", "SecretAccessKey": "s"}))
    local = eaws.resolve(data)  # no AWS_ENDPOINT_URL: `irsa up`'s endpoint and admin credentials
    assert local.client_kwargs["endpoint_url"] == "http://127.0.0.1:1" and local.region == "eu-west-1"
    assert local.admin is not None and local.admin.access_key_id == "AKIAX"
    assert local.extra_ca_files == [str(data / "ca" / "root.pem")]
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:2")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "t")
    configured = eaws.resolve(data, region="us-west-2")  # the AWS CLI's configuration wins
    assert configured.client_kwargs == {} and configured.region == "us-west-2"
    assert configured.admin.endpoint == "http://127.0.0.1:2" and configured.admin.access_key_id == "AKIAY"
    assert configured.client("iam").meta.endpoint_url == "http://127.0.0.1:2"
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    with pytest.raises(EksctlError, match="no region"):
        eaws.resolve(tmp_path / "empty")  # no `irsa up` state and no region: real AWS needs one
