"""The thumbprint eksctl pins for a cluster's IAM OIDC provider (reference issuer-cli-and-doctor.md §3.1):
SHA-1 of the DER of the *last* certificate the issuer's TLS server presents, lowercase hex.

The connection is verified (system CAs plus any extra bundles given, e.g. ``AWS_CA_BUNDLE`` or
``irsa up``'s local CA) before the presented chain is read, as eksctl's Go HTTPS client verifies it.
Python 3.11 has no public accessor for the presented chain; ``SSLSocket._sslobj.get_unverified_chain()``
(see ``irsa.oidc.jwks``) returns it in the order the server sent it."""

from __future__ import annotations

import _ssl
import socket
import ssl
from collections.abc import Sequence
from urllib.parse import urlsplit

from irsa.eksctl.naming import EksctlError
from irsa.oidc.tls import chain_thumbprint

TIMEOUT_SECONDS = 10.0


def tls_context(extra_ca_files: Sequence[str] = ()) -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # eksctl: TLS >= 1.2
    for path in extra_ca_files:
        try:
            context.load_verify_locations(cafile=path)
        except (OSError, ssl.SSLError) as exc:
            raise EksctlError(f"cannot load CA bundle {path}: {exc}") from None
    return context


def presented_chain(url: str, context: ssl.SSLContext, timeout: float = TIMEOUT_SECONDS) -> list[bytes]:
    """The DER certificates the TLS server of ``url`` presents, in the order it sends them."""
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme != "https" or not host:
        raise EksctlError(f"{url!r} is not an https URL")
    port = parts.port or 443
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw, context.wrap_socket(raw, server_hostname=host) as tls:
            chain = tls._sslobj.get_unverified_chain() or []  # type: ignore[union-attr]
            return [cert.public_bytes(_ssl.ENCODING_DER) for cert in chain]
    except ssl.SSLCertVerificationError as exc:
        raise EksctlError(f"the TLS certificate of {host}:{port} does not verify ({exc.verify_message}); "
                          "set AWS_CA_BUNDLE to the CA bundle that issued it") from None
    except (OSError, ssl.SSLError) as exc:
        raise EksctlError(f"cannot fetch the TLS certificate chain of {host}:{port}: {exc}") from None


def issuer_thumbprint(url: str, extra_ca_files: Sequence[str] = ()) -> str:
    chain = presented_chain(url, tls_context(extra_ca_files))
    if not chain:
        raise EksctlError(f"the TLS server of {url} presented no certificate")
    return chain_thumbprint(chain)
