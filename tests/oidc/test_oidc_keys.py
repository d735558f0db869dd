"""Signing keys, Kubernetes key ids, public JWKs, PEM load/dump, 0600 key files."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from irsa.oidc.keys import (
    SigningKey,
    generate_signing_key,
    key_id,
    load_public_keys,
    load_signing_key,
    public_jwk,
)

DATA = Path(__file__).parent / "data"

# Known answers computed with the reference's recipe, independently of our code, using the openssl CLI:
#   openssl pkey -in KEY -pubout -outform DER | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '='
KAT_RSA_KID = "Uw-qdKMrG0GCrtvC-O-AF1vaZ8ws6S2jw0TkMBmPthk"
KAT_EC_KID = "CrtAhuuUgyEp0vVECf9ku9Temi_X8HzoCGuANaT88TQ"

# DER SubjectPublicKeyInfo prefix for an uncompressed P-256 point (id-ecPublicKey, prime256v1, BIT STRING)
P256_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_kid_known_answer_rsa_pkcs1_file() -> None:
    key = load_signing_key(DATA / "kat-rsa-pkcs1.pem")
    assert key.kid == KAT_RSA_KID
    assert key.alg == "RS256"
    assert len(key.kid) == 43


def test_kid_known_answer_ec_sec1_file() -> None:
    key = load_signing_key(DATA / "kat-ec-sec1.pem")
    assert key.kid == KAT_EC_KID
    assert key.alg == "ES256"


def test_kid_equals_hand_built_spki_hash_for_p256() -> None:
    # independent of cryptography's serializer: build the SPKI DER by hand from the point coordinates
    key = generate_signing_key("EC")
    numbers = key.public_key.public_numbers()  # type: ignore[union-attr]
    point = b"\x04" + numbers.x.to_bytes(32, "big") + numbers.y.to_bytes(32, "big")
    expected = _b64url(hashlib.sha256(P256_SPKI_PREFIX + point).digest())
    assert key.kid == expected == key_id(key.public_key)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_kid_matches_openssl_for_fresh_rsa_key(tmp_path: Path) -> None:
    key = generate_signing_key("RSA")
    path = key.write_private_key(tmp_path / "k.pem")
    der = subprocess.run(
        ["openssl", "pkey", "-in", str(path), "-pubout", "-outform", "DER"], check=True, capture_output=True
    ).stdout
    assert key.kid == _b64url(hashlib.sha256(der).digest())


def test_generate_defaults_rsa_2048() -> None:
    key = generate_signing_key()
    assert isinstance(key.private_key, rsa.RSAPrivateKey)
    assert key.private_key.key_size == 2048
    assert key.alg == "RS256" and key.key_type == "RSA"
    ec_key = generate_signing_key("EC")
    assert isinstance(ec_key.private_key, ec.EllipticCurvePrivateKey)
    assert ec_key.private_key.curve.name == "secp256r1"
    with pytest.raises(ValueError):
        generate_signing_key("DSA")  # type: ignore[arg-type]


def test_small_rsa_key_refused() -> None:
    with pytest.raises(ValueError, match="2048"):
        SigningKey(rsa.generate_private_key(public_exponent=65537, key_size=1024))


def test_public_jwk_rsa_fields() -> None:
    key = load_signing_key(DATA / "kat-rsa-pkcs1.pem")
    jwk = public_jwk(key)
    assert set(jwk) == {"use", "kty", "kid", "alg", "n", "e"}
    assert jwk["use"] == "sig" and jwk["kty"] == "RSA" and jwk["alg"] == "RS256" and jwk["kid"] == KAT_RSA_KID
    assert jwk["e"] == "AQAB"
    n = int.from_bytes(base64.urlsafe_b64decode(jwk["n"] + "=" * (-len(jwk["n"]) % 4)), "big")
    assert n == key.public_key.public_numbers().n  # type: ignore[union-attr]
    assert "=" not in jwk["n"]


def test_public_jwk_ec_fields_and_padding() -> None:
    # find a key whose x or y has a leading zero byte, to prove coordinates are padded to 32 bytes
    scalar = 1
    while True:
        key = SigningKey(ec.derive_private_key(scalar, ec.SECP256R1()))
        nums = key.public_key.public_numbers()  # type: ignore[union-attr]
        if nums.x < (1 << 248) or nums.y < (1 << 248):
            break
        scalar += 1
    jwk = public_jwk(key.public_key)
    assert set(jwk) == {"use", "kty", "kid", "alg", "crv", "x", "y"}
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("EC", "P-256", "ES256", "sig")
    assert len(base64.urlsafe_b64decode(jwk["x"] + "=")) == 32
    assert len(base64.urlsafe_b64decode(jwk["y"] + "=")) == 32


def test_pem_round_trip_and_public_bundle(tmp_path: Path) -> None:
    a = generate_signing_key("RSA")
    b = generate_signing_key("EC")
    assert load_signing_key(a.private_pem()).kid == a.kid
    assert load_signing_key(b.private_pem().decode()).kid == b.kid
    bundle = a.public_pem() + b.private_pem()  # --service-account-key-file may mix public and private keys
    kids = [key_id(k) for k in load_public_keys(bundle)]
    assert kids == [a.kid, b.kid]
    (tmp_path / "bundle.pem").write_bytes(bundle)
    assert [key_id(k) for k in load_public_keys(tmp_path / "bundle.pem")] == kids


def test_load_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        load_signing_key(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ValueError):
        load_public_keys(b"no pem here")


def test_private_key_file_created_0600_regardless_of_umask(tmp_path: Path) -> None:
    key = generate_signing_key("EC")
    old = os.umask(0)
    try:
        path = key.write_private_key(tmp_path / "sa.key")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_signing_key(path).kid == key.kid
    # rewriting replaces atomically and keeps 0600
    key2 = generate_signing_key("EC")
    key2.write_private_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_signing_key(path).kid == key2.kid
    assert [p.name for p in tmp_path.iterdir()] == ["sa.key"]  # no temp files left behind
