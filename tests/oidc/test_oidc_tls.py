"""Local CA (root + intermediate), server certificates, IAM thumbprints."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import shutil
import ssl
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from irsa.oidc.tls import LocalCA, certificate_thumbprint, chain_thumbprint


def _pem_blocks(data: bytes) -> list[str]:
    text = data.decode()
    return [m.group(0) for m in re.finditer(r"-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----", text)]


def test_create_then_load_same_ca(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        ca = LocalCA.load_or_create(tmp_path / "ca")
    finally:
        os.umask(old)
    for name in ("root.key", "intermediate.key"):
        assert stat.S_IMODE((tmp_path / "ca" / name).stat().st_mode) == 0o600
    again = LocalCA.load_or_create(tmp_path / "ca")
    assert again.thumbprint == ca.thumbprint
    assert again.root_pem == ca.root_pem
    assert ca.bundle_path.read_bytes() == ca.root_pem


def test_incomplete_directory_refused(tmp_path: Path) -> None:
    LocalCA.load_or_create(tmp_path / "ca")
    (tmp_path / "ca" / "intermediate.key").unlink()
    with pytest.raises(ValueError, match="intermediate.key"):
        LocalCA.load_or_create(tmp_path / "ca")


def test_thumbprint_is_sha1_of_last_presented_cert(tmp_path: Path) -> None:
    ca = LocalCA.load_or_create(tmp_path / "ca")
    server = ca.issue_server_certificate(["localhost"], ["127.0.0.1"])
    blocks = _pem_blocks(server.chain_pem)
    assert len(blocks) == 2  # leaf, then the intermediate (the root stays out of the served chain)
    intermediate_der = ssl.PEM_cert_to_DER_cert(blocks[-1])  # stdlib, independent of our code
    expected = hashlib.sha1(intermediate_der).hexdigest()
    assert server.thumbprint == ca.thumbprint == expected
    assert chain_thumbprint([ssl.PEM_cert_to_DER_cert(b) for b in blocks]) == expected
    assert re.fullmatch(r"[0-9a-f]{40}", certificate_thumbprint(intermediate_der))
    with pytest.raises(ValueError):
        chain_thumbprint([])


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI not installed")
def test_thumbprint_matches_openssl_fingerprint_and_chain_verifies(tmp_path: Path) -> None:
    # the AWS thumbprint how-to: `openssl x509 -fingerprint -sha1 -noout` of the top intermediate, colons removed
    ca = LocalCA.load_or_create(tmp_path / "ca")
    server = ca.issue_server_certificate(["localhost"], ["127.0.0.1"])
    chain_path, key_path = server.write(tmp_path / "tls")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    blocks = _pem_blocks(chain_path.read_bytes())
    (tmp_path / "inter.pem").write_text(blocks[1])
    (tmp_path / "leaf.pem").write_text(blocks[0])
    out = subprocess.run(
        ["openssl", "x509", "-in", str(tmp_path / "inter.pem"), "-fingerprint", "-sha1", "-noout"],
        check=True, capture_output=True, text=True,
    ).stdout
    assert out.split("=", 1)[1].strip().replace(":", "").lower() == ca.thumbprint
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", str(ca.bundle_path), "-untrusted", str(tmp_path / "inter.pem"),
         "-purpose", "sslserver", str(tmp_path / "leaf.pem")],
        capture_output=True, text=True,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_server_certificate_names(tmp_path: Path) -> None:
    ca = LocalCA.load_or_create(tmp_path / "ca")
    server = ca.issue_server_certificate(["localhost", "issuer.local"], ["127.0.0.1", "::1"])
    leaf = x509.load_der_x509_certificate(server.chain_der[0])
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "issuer.local"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    with pytest.raises(ValueError):
        ca.issue_server_certificate([], [])
