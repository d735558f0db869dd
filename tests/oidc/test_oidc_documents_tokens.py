"""Discovery document + JWKS (kube-apiserver's shape) and projected service-account token minting."""

from __future__ import annotations

import base64
import json
import time
import uuid

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from irsa.oidc.documents import (
    DISCOVERY_CONTENT_TYPE,
    JWKS_CONTENT_TYPE,
    default_jwks_uri,
    discovery_document,
    jwks_document,
    serialize,
)
from irsa.oidc.keys import generate_signing_key
from irsa.oidc.tokens import ObjectRef, mint_service_account_token

ISSUER = "https://oidc.example.com/id/ABC123"

# reference issuer-cli-and-doctor.md §1.4 B: kube-apiserver's discovery struct has exactly these fields
KUBE_DISCOVERY_FIELDS = {
    "issuer", "jwks_uri", "response_types_supported", "subject_types_supported",
    "id_token_signing_alg_values_supported",
}


@pytest.fixture(scope="module")
def rsa_key():  # type: ignore[no-untyped-def]
    return generate_signing_key("RSA")


@pytest.fixture(scope="module")
def ec_key():  # type: ignore[no-untyped-def]
    return generate_signing_key("EC")


def _segment(token: str, i: int) -> dict:
    part = token.split(".")[i]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_discovery_document_exact_kube_fields(rsa_key, ec_key) -> None:  # type: ignore[no-untyped-def]
    doc = discovery_document(ISSUER, ISSUER + "/keys", [rsa_key, ec_key])
    assert set(doc) == KUBE_DISCOVERY_FIELDS
    assert doc["issuer"] == ISSUER
    assert doc["jwks_uri"] == ISSUER + "/keys"
    assert doc["response_types_supported"] == ["id_token"]
    assert doc["subject_types_supported"] == ["public"]
    assert doc["id_token_signing_alg_values_supported"] == ["ES256", "RS256"]  # derived from keys, sorted
    assert DISCOVERY_CONTENT_TYPE == "application/json"
    assert JWKS_CONTENT_TYPE == "application/jwk-set+json"


def test_discovery_extended_shape_and_trailing_slash_kept(rsa_key) -> None:  # type: ignore[no-untyped-def]
    doc = discovery_document(ISSUER + "/", ISSUER + "/keys.json", [rsa_key], extended=True)
    assert doc["issuer"] == ISSUER + "/"  # byte for byte, no normalisation
    assert doc["authorization_endpoint"] == "urn:kubernetes:programmatic_authorization"
    assert doc["claims_supported"] == ["sub", "iss"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]


@pytest.mark.parametrize(
    "issuer,jwks_uri",
    [
        ("http://oidc.example.com", "https://oidc.example.com/keys"),
        ("https://oidc.example.com?x=1", "https://oidc.example.com/keys"),
        ("https://oidc.example.com#f", "https://oidc.example.com/keys"),
        ("https://oidc.example.com", "http://oidc.example.com/keys"),
    ],
)
def test_discovery_refuses_what_kube_refuses(rsa_key, issuer: str, jwks_uri: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        discovery_document(issuer, jwks_uri, [rsa_key])


def test_default_jwks_uri() -> None:
    assert default_jwks_uri("https://k8s.example.com:6443/path") == "https://k8s.example.com:6443/openid/v1/jwks"


def test_jwks_imports_with_joserfc_and_dedups(rsa_key, ec_key) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(serialize(jwks_document([rsa_key, ec_key, rsa_key.public_key])))
    assert set(doc) == {"keys"}
    assert [k["kid"] for k in doc["keys"]] == [rsa_key.kid, ec_key.kid]
    ks = KeySet.import_key_set(doc)
    assert [k.kid for k in ks.keys] == [rsa_key.kid, ec_key.kid]
    # the imported public keys are the real ones
    assert ks.keys[0].public_key.public_numbers() == rsa_key.public_key.public_numbers()
    assert ks.keys[1].public_key.public_numbers() == ec_key.public_key.public_numbers()


def _mint(key, **kw):  # type: ignore[no-untyped-def]
    args = dict(
        issuer=ISSUER, namespace="default", service_account="s3-read-only", service_account_uid="sa-uid",
        audiences=["sts.amazonaws.com"], expiration_seconds=86400,
    )
    args.update(kw)
    return mint_service_account_token(key, **args)


@pytest.mark.parametrize("key_name,alg", [("rsa_key", "RS256"), ("ec_key", "ES256")])
def test_minted_token_verifies_with_joserfc_and_has_exact_claims(request, key_name: str, alg: str) -> None:  # type: ignore[no-untyped-def]
    key = request.getfixturevalue(key_name)
    now = 1_800_000_000
    pod = ObjectRef("app-7d9", "pod-uid")
    node = ObjectRef("ip-10-0-0-1", "node-uid")
    token = _mint(key, pod=pod, node=node, now=now)
    keyset = KeySet.import_key_set(jwks_document([key]))
    decoded = jwt.decode(token, keyset, algorithms=[alg])
    assert decoded.header == {"alg": alg, "kid": key.kid}  # no typ, like kube-apiserver
    claims = decoded.claims
    assert set(claims) == {"aud", "exp", "iat", "iss", "jti", "kubernetes.io", "nbf", "sub"}
    assert claims["iss"] == ISSUER
    assert claims["sub"] == "system:serviceaccount:default:s3-read-only"
    assert claims["aud"] == ["sts.amazonaws.com"]  # always a JSON array
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (now, now, now + 86400)
    assert uuid.UUID(claims["jti"]).version == 4
    assert claims["kubernetes.io"] == {
        "namespace": "default",
        "serviceaccount": {"name": "s3-read-only", "uid": "sa-uid"},
        "pod": {"name": "app-7d9", "uid": "pod-uid"},
        "node": {"name": "ip-10-0-0-1", "uid": "node-uid"},
    }


def test_jti_unique_and_now_defaults_to_clock(rsa_key) -> None:  # type: ignore[no-untyped-def]
    before = int(time.time())
    a, b = _segment(_mint(rsa_key), 1), _segment(_mint(rsa_key), 1)
    assert a["jti"] != b["jti"]
    assert before <= a["iat"] <= int(time.time())
    assert "pod" not in a["kubernetes.io"] and "warnafter" not in a["kubernetes.io"]


def test_expiration_minimum_600(rsa_key) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="less than 10 minutes"):
        _mint(rsa_key, expiration_seconds=599)
    assert _segment(_mint(rsa_key, expiration_seconds=600, now=1000), 1)["exp"] == 1600
    with pytest.raises(ValueError, match="2\\^32"):
        _mint(rsa_key, expiration_seconds=(1 << 32) + 1)


def test_expiration_capped_at_maximum_like_kube(rsa_key) -> None:  # type: ignore[no-untyped-def]
    # kube-apiserver clamps to --service-account-max-token-expiration (token.go), it does not refuse
    claims = _segment(_mint(rsa_key, expiration_seconds=86400, max_expiration_seconds=3600, now=1000), 1)
    assert claims["exp"] == 4600


def test_warnafter_extension_for_kube_audience(rsa_key) -> None:  # type: ignore[no-untyped-def]
    api = ["https://kubernetes.default.svc"]
    pod = ObjectRef("p", "u")
    claims = _segment(
        _mint(rsa_key, audiences=[], api_audiences=api, expiration_seconds=3607, pod=pod, now=1000), 1
    )
    assert claims["aud"] == api
    assert claims["kubernetes.io"]["warnafter"] == 1000 + 3607
    assert claims["exp"] == 1000 + 365 * 24 * 3600
    # an external audience (IRSA) is never extended
    irsa = _segment(_mint(rsa_key, api_audiences=api, expiration_seconds=3607, pod=pod, now=1000), 1)
    assert irsa["exp"] == 1000 + 3607 and "warnafter" not in irsa["kubernetes.io"]
    # not pod-bound: not extended
    plain = _segment(_mint(rsa_key, audiences=[], api_audiences=api, expiration_seconds=3607, now=1000), 1)
    assert plain["exp"] == 1000 + 3607
    # extension switched off
    off = _segment(
        _mint(rsa_key, audiences=[], api_audiences=api, expiration_seconds=3607, pod=pod, now=1000,
              extend_expiration=False), 1
    )
    assert off["exp"] == 1000 + 3607


def test_secret_bound_and_invalid_bindings(rsa_key) -> None:  # type: ignore[no-untyped-def]
    claims = _segment(_mint(rsa_key, secret=ObjectRef("tok", "s-uid")), 1)
    assert claims["kubernetes.io"]["secret"] == {"name": "tok", "uid": "s-uid"}
    with pytest.raises(ValueError, match="pod or a secret"):
        _mint(rsa_key, secret=ObjectRef("tok", "s"), pod=ObjectRef("p", "u"))
    with pytest.raises(ValueError, match="audience"):
        _mint(rsa_key, audiences=[])
    with pytest.raises(ValueError):
        _mint(rsa_key, namespace="")
