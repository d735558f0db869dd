"""Service-account signing keys: RSA-2048 (default) or EC P-256, Kubernetes-style ``kid``, public JWKs.

The key id is exactly kube-apiserver's ``keyIDFromPublicKey`` (reference issuer-cli-and-doctor.md §1.5):
``base64url_nopad(SHA-256(DER SubjectPublicKeyInfo))``. Tokens minted by a real kube-apiserver with the
same key therefore match the JWKS we publish, and vice versa.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Union

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc.jwk import ECKey, RSAKey

from irsa.files import write_private_file

KeyType = Literal["RSA", "EC"]
PublicKey = Union[rsa.RSAPublicKey, ec.EllipticCurvePublicKey]
PrivateKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]

RSA_KEY_BITS = 2048
MIN_RSA_KEY_BITS = 2048

# EC curve -> (JWK "crv", JWS "alg", coordinate size in bytes). One table for signing and verifying.
EC_CURVES: dict[str, tuple[str, str, int]] = {
    "secp256r1": ("P-256", "ES256", 32),
    "secp384r1": ("P-384", "ES384", 48),
    "secp521r1": ("P-521", "ES512", 66),
}


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def key_id(public_key: PublicKey) -> str:
    """Kubernetes' key id: base64url (no padding) of SHA-256 over the DER SubjectPublicKeyInfo (43 chars)."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return b64url(hashlib.sha256(der).digest())


def algorithm_for(public_key: PublicKey) -> str:
    """The JWS algorithm kube-apiserver uses for a key: RS256 for RSA, ES256/384/512 by EC curve."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return "RS256"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        try:
            return EC_CURVES[public_key.curve.name][1]
        except KeyError:
            raise ValueError(f"unsupported EC curve {public_key.curve.name}") from None
    raise ValueError(f"unsupported public key type {type(public_key).__name__}")


def _int_b64(value: int, size: int | None = None) -> str:
    length = size if size is not None else max(1, (value.bit_length() + 7) // 8)
    return b64url(value.to_bytes(length, "big"))


def public_jwk(key: "SigningKey | PublicKey") -> dict[str, str]:
    """The public JWK as kube-apiserver serves it: ``use: sig``, ``kty``, ``kid``, ``alg`` and the key
    parameters (``n``/``e`` for RSA; ``crv``/``x``/``y`` for EC, coordinates padded to the curve size)."""
    public_key = key.public_key if isinstance(key, SigningKey) else key
    jwk: dict[str, str] = {"use": "sig"}
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        jwk.update(kty="RSA", kid=key_id(public_key), alg="RS256", n=_int_b64(numbers.n), e=_int_b64(numbers.e))
        return jwk
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        crv, alg, size = EC_CURVES.get(public_key.curve.name, (None, None, 0))
        if crv is None or alg is None:
            raise ValueError(f"unsupported EC curve {public_key.curve.name}")
        point = public_key.public_numbers()
        jwk.update(
            kty="EC", kid=key_id(public_key), alg=alg, crv=crv, x=_int_b64(point.x, size), y=_int_b64(point.y, size)
        )
        return jwk
    raise ValueError(f"unsupported public key type {type(public_key).__name__}")


@dataclass(frozen=True)
class SigningKey:
    """A private signing key with its derived ``kid`` and ``alg`` (and a joserfc key object for signing)."""

    private_key: PrivateKey
    kid: str = field(init=False)
    alg: str = field(init=False)
    jose_key: RSAKey | ECKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.private_key, rsa.RSAPrivateKey):
            if self.private_key.key_size < MIN_RSA_KEY_BITS:
                raise ValueError(f"RSA signing keys must have at least {MIN_RSA_KEY_BITS} bits")
            jose: RSAKey | ECKey = RSAKey.import_key(self.private_key)
        elif isinstance(self.private_key, ec.EllipticCurvePrivateKey):
            jose = ECKey.import_key(self.private_key)
        else:
            raise ValueError(f"unsupported private key type {type(self.private_key).__name__}")
        public_key = self.private_key.public_key()
        object.__setattr__(self, "kid", key_id(public_key))
        object.__setattr__(self, "alg", algorithm_for(public_key))
        object.__setattr__(self, "jose_key", jose)

    @property
    def public_key(self) -> PublicKey:
        return self.private_key.public_key()

    @property
    def key_type(self) -> KeyType:
        return "RSA" if isinstance(self.private_key, rsa.RSAPrivateKey) else "EC"

    def public_jwk(self) -> dict[str, str]:
        return public_jwk(self.public_key)

    def private_pem(self) -> bytes:
        """PKCS#8 PEM, unencrypted (the file holding it is 0600)."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def public_pem(self) -> bytes:
        """X.509 SubjectPublicKeyInfo PEM (``-----BEGIN PUBLIC KEY-----``), what kube's key-file flag takes."""
        return public_pem(self.public_key)

    def write_private_key(self, path: str | os.PathLike[str]) -> Path:
        """Write the private key as PEM with mode 0600 (created so, not chmod-ed afterwards)."""
        return write_private_file(path, self.private_pem())


def generate_signing_key(key_type: KeyType = "RSA") -> SigningKey:
    """A fresh RSA-2048 (RS256) or EC P-256 (ES256) signing key."""
    if key_type == "RSA":
        return SigningKey(rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS))
    if key_type == "EC":
        return SigningKey(ec.generate_private_key(ec.SECP256R1()))
    raise ValueError(f"key_type must be 'RSA' or 'EC', not {key_type!r}")


def load_signing_key(source: str | bytes | os.PathLike[str]) -> SigningKey:
    """Load a private key from PEM bytes/str or a file path.

    Accepts PKCS#8 (``PRIVATE KEY``), PKCS#1 (``RSA PRIVATE KEY``, as ``ssh-keygen -m pem`` and
    ``openssl genrsa`` write) and SEC1 (``EC PRIVATE KEY``). Encrypted keys are not supported.
    """
    data = _pem_bytes(source)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise ValueError(f"unsupported private key type {type(key).__name__}; use RSA or EC")
    return SigningKey(key)


def load_public_keys(source: str | bytes | os.PathLike[str]) -> list[PublicKey]:
    """All keys in a PEM bundle as public keys, like ``--service-account-key-file`` (which may hold several
    keys, public ``PUBLIC KEY``/``RSA PUBLIC KEY`` or private ones, whose public half is used)."""
    data = _pem_bytes(source)
    keys: list[PublicKey] = []
    for block in _pem_blocks(data):
        label = block.split(b"\n", 1)[0]
        try:
            if b"PRIVATE KEY" in label:
                private = serialization.load_pem_private_key(block, password=None)
                key: object = private.public_key()
            elif b"CERTIFICATE" in label:
                from cryptography import x509

                key = x509.load_pem_x509_certificate(block).public_key()
            else:
                key = serialization.load_pem_public_key(block)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"unreadable PEM block {label.decode(errors='replace')}: {exc}") from None
        if not isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
            raise ValueError(f"unsupported public key type {type(key).__name__}; use RSA or EC")
        keys.append(key)
    if not keys:
        raise ValueError("no PEM key found")
    return keys


def public_pem(public_key: PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _pem_bytes(source: str | bytes | os.PathLike[str]) -> bytes:
    if isinstance(source, bytes):
        return source
    if isinstance(source, str) and "-----BEGIN" in source:
        return source.encode("ascii")
    return Path(source).read_bytes()


def _pem_blocks(data: bytes) -> list[bytes]:
    blocks: list[bytes] = []
    pos = 0
    while True:
        start = data.find(b"-----BEGIN ", pos)
        if start < 0:
            return blocks
        end_marker = data.find(b"-----END ", start)
        if end_marker < 0:
            raise ValueError("truncated PEM block")
        end = data.find(b"-----", end_marker + 9)
        if end < 0:
            raise ValueError("truncated PEM block")
        blocks.append(data[start : end + 5] + b"\n")
        pos = end + 5
