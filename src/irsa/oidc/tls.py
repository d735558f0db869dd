"""A local certificate authority for the issuer's HTTPS endpoint, and IAM OIDC thumbprints.

An IAM OIDC provider's thumbprint is the hex SHA-1 of the DER certificate of the *top intermediate CA*:
the last certificate the JWKS host presents in its TLS handshake (reference sts-and-iam.md §2.2). To make
that meaningful locally, ``LocalCA`` is two-level: a self-signed root (the CA bundle clients trust) and an
intermediate that signs server certificates. Servers present ``leaf + intermediate``; so
``chain_thumbprint(chain) == LocalCA.thumbprint`` (SHA-1 of the intermediate), which is exactly what
``aws iam create-open-id-connect-provider --thumbprint-list`` wants.

Layout of a CA directory (created if absent; key files 0600):
``root.pem`` ``root.key`` ``intermediate.pem`` ``intermediate.key``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from irsa.files import write_private_file, write_public_file

ROOT_DAYS = 3650
INTERMEDIATE_DAYS = 1825
SERVER_DAYS = 397  # the CA/Browser Forum maximum for server certificates


def certificate_thumbprint(der: bytes) -> str:
    """IAM's thumbprint of one certificate: SHA-1 of its DER encoding, 40 lowercase hex digits."""
    return hashlib.sha1(der).hexdigest()  # noqa: S324 - SHA-1 is what IAM defines, not a security choice here


def chain_thumbprint(chain: Sequence[bytes]) -> str:
    """The thumbprint IAM pins for a presented chain (DER certificates in the order the server sends
    them): that of the last certificate, the top intermediate CA."""
    if not chain:
        raise ValueError("empty certificate chain")
    return certificate_thumbprint(chain[-1])


def normalize_thumbprint(value: str) -> str:
    return value.strip().lower()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _ca_cert(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer_cert: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey, days: int, path_length: int | None,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "irsa")])
    start = _now() - dt.timedelta(minutes=5)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_cert.subject if issuer_cert is not None else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()), critical=False  # type: ignore[arg-type]
        )
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass(frozen=True)
class ServerCertificate:
    """A server certificate issued by a ``LocalCA``: the chain to serve (leaf first, then the
    intermediate) and the private key."""

    chain_pem: bytes
    key_pem: bytes = field(repr=False)
    chain_der: tuple[bytes, ...]

    @property
    def thumbprint(self) -> str:
        return chain_thumbprint(self.chain_der)

    def write(self, directory: str | os.PathLike[str], name: str = "server") -> tuple[Path, Path]:
        """Write ``<name>.pem`` (chain) and ``<name>.key`` (0600); returns (chain path, key path)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        chain_path = write_public_file(d / f"{name}.pem", self.chain_pem)
        key_path = write_private_file(d / f"{name}.key", self.key_pem)
        return chain_path, key_path


class LocalCA:
    """A root + intermediate CA kept in a directory (create-or-load)."""

    def __init__(
        self,
        directory: Path,
        root_cert: x509.Certificate,
        intermediate_cert: x509.Certificate,
        intermediate_key: ec.EllipticCurvePrivateKey,
    ) -> None:
        self.directory = directory
        self.root_cert = root_cert
        self.intermediate_cert = intermediate_cert
        self._intermediate_key = intermediate_key

    @classmethod
    def load_or_create(cls, directory: str | os.PathLike[str], *, name: str = "irsa local CA") -> "LocalCA":
        d = Path(directory)
        paths = [d / "root.pem", d / "root.key", d / "intermediate.pem", d / "intermediate.key"]
        if all(p.exists() for p in paths):
            root = x509.load_pem_x509_certificate(paths[0].read_bytes())
            inter = x509.load_pem_x509_certificate(paths[2].read_bytes())
            key = serialization.load_pem_private_key(paths[3].read_bytes(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{paths[3]}: unexpected key type")
            return cls(d, root, inter, key)
        if any(p.exists() for p in paths):
            missing = ", ".join(p.name for p in paths if not p.exists())
            raise ValueError(f"{d}: incomplete CA directory (missing {missing})")
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        root_key = ec.generate_private_key(ec.SECP256R1())
        root = _ca_cert(f"{name} root", root_key, None, root_key, ROOT_DAYS, path_length=1)
        inter_key = ec.generate_private_key(ec.SECP256R1())
        inter = _ca_cert(f"{name} intermediate", inter_key, root, root_key, INTERMEDIATE_DAYS, path_length=0)
        # keys first: a crash leaves an incomplete directory, which is refused above rather than half-used
        write_private_file(paths[1], _key_pem(root_key))
        write_private_file(paths[3], _key_pem(inter_key))
        write_public_file(paths[0], _pem(root))
        write_public_file(paths[2], _pem(inter))
        return cls(d, root, inter, inter_key)

    @property
    def bundle_path(self) -> Path:
        """The CA bundle a client should trust (the root certificate, PEM)."""
        return self.directory / "root.pem"

    @property
    def root_pem(self) -> bytes:
        return _pem(self.root_cert)

    @property
    def thumbprint(self) -> str:
        """The thumbprint of the chain this CA's servers present (SHA-1 of the intermediate)."""
        return certificate_thumbprint(_der(self.intermediate_cert))

    def issue_server_certificate(
        self, dns_names: Sequence[str] = ("localhost",), ip_addresses: Sequence[str] = ("127.0.0.1",),
        *, days: int = SERVER_DAYS,
    ) -> ServerCertificate:
        if not dns_names and not ip_addresses:
            raise ValueError("a server certificate needs at least one DNS name or IP address")
        key = ec.generate_private_key(ec.SECP256R1())
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
        cn = dns_names[0] if dns_names else ip_addresses[0]
        start = _now() - dt.timedelta(minutes=5)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(self.intermediate_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                    key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._intermediate_key.public_key()), critical=False
            )
            .sign(self._intermediate_key, hashes.SHA256())
        )
        return ServerCertificate(
            chain_pem=_pem(cert) + _pem(self.intermediate_cert),
            key_pem=_key_pem(key),
            chain_der=(_der(cert), _der(self.intermediate_cert)),
        )
