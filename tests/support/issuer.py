"""A real OIDC issuer for tests: a threaded HTTPS server on 127.0.0.1 (random port) serving the discovery
document and JWKS, with a certificate from a test ``LocalCA`` (root in ``ca_bundle``; the served chain is
leaf + intermediate, so ``thumbprint`` is what IAM would pin).

    server = IssuerServer(tmp_path, key_type="RSA").start()
    token = server.mint(sub="system:serviceaccount:default:app", aud="sts.amazonaws.com")
    fetcher = HttpsJwksFetcher(ca_bundle=server.ca_bundle)
    ...
    server.stop()

or the pytest fixture ``issuer_server`` (register it with ``pytest_plugins = ["tests.support.issuer"]`` or by
importing ``issuer_server`` into a conftest).

Negative tokens: ``mint(key=other_key)`` (unpublished key), ``mint(kid="...")`` (header kid override),
``mint(sign="none")`` (alg none, empty signature), ``mint(sign="none", signature=b"x")``,
``mint(sign="hs256-public")`` (HS256 keyed with the published public key PEM), ``mint(tamper=True)``
(payload changed after signing), ``mint(alg="PS256")`` (RSA-PSS), ``mint(header={...})``; any claim can be
overridden with ``**overrides`` and removed by passing ``None``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from irsa.oidc.documents import (
    DISCOVERY_CONTENT_TYPE,
    DISCOVERY_PATH,
    JWKS_CONTENT_TYPE,
    discovery_document,
    jwks_document,
)
from irsa.oidc.keys import KeyType, SigningKey, b64url, generate_signing_key
from irsa.oidc.tls import LocalCA
from irsa.oidc.tokens import sign_claims

DEFAULT_AUDIENCE = "sts.amazonaws.com"
DEFAULT_SUBJECT = "system:serviceaccount:default:default"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: "IssuerServer"

    def handle_error(self, request: Any, client_address: Any) -> None:  # failed handshakes are expected in tests
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802
        owner = self.server.owner
        owner.requests.append(self.path)
        status, ctype, body, extra = owner._respond(self.path)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


class IssuerServer:
    """See the module docstring."""

    def __init__(
        self,
        tmp_path: Path | str,
        key_type: KeyType = "RSA",
        *,
        path: str = "/issuer",
        jwks_path: str = "/openid/v1/jwks",
        dns_names: Sequence[str] = ("localhost",),
        ip_addresses: Sequence[str] = ("127.0.0.1",),
    ) -> None:
        self.directory = Path(tmp_path)
        self.path = path.rstrip("/")
        self.jwks_path = jwks_path
        self.ca = LocalCA.load_or_create(self.directory / "issuer-ca")
        self.certificate = self.ca.issue_server_certificate(dns_names, ip_addresses)
        self.chain_file, self.key_file = self.certificate.write(self.directory / "issuer-tls")
        self.signing_key: SigningKey = generate_signing_key(key_type)
        self.published: list[SigningKey] = [self.signing_key]
        self.requests: list[str] = []
        self.jwks_override: Any = None  # serve this JSON (or raw bytes) instead of the real JWKS
        self.discovery_override: Any = None
        self.status_override: int | None = None
        self.redirects: dict[str, str] = {}  # request path -> Location (answered with 302)
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> "IssuerServer":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.chain_file, self.key_file)
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
        self._httpd = httpd
        self._port = int(httpd.server_address[1])
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "IssuerServer":
        return self.start() if self._httpd is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses and trust material ------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._port is not None, "start() first"
        return self._port  # kept after stop(), so tests can aim at a closed port

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return self.base_url + self.path

    @property
    def jwks_uri(self) -> str:
        return self.base_url + self.path + self.jwks_path

    @property
    def ca_bundle(self) -> Path:
        return self.ca.bundle_path

    @property
    def thumbprint(self) -> str:
        return self.certificate.thumbprint

    # -- served documents ----------------------------------------------------------------------

    def _respond(self, path: str) -> tuple[int, str, bytes, dict[str, str]]:
        with self._lock:
            if self.status_override is not None:
                return self.status_override, "text/plain", b"unavailable", {}
            if path in self.redirects:
                return 302, "text/plain", b"", {"Location": self.redirects[path]}
            if path == self.path + DISCOVERY_PATH:
                doc = self.discovery_override or discovery_document(self.issuer, self.jwks_uri, self.published)
                return 200, DISCOVERY_CONTENT_TYPE, _body(doc), {"Cache-Control": "public, max-age=3600"}
            if path == self.path + self.jwks_path:
                doc = self.jwks_override if self.jwks_override is not None else jwks_document(self.published)
                return 200, JWKS_CONTENT_TYPE, _body(doc), {"Cache-Control": "public, max-age=3600"}
        return 404, "text/plain", b"not found", {}

    def jwks_requests(self) -> int:
        return sum(1 for p in self.requests if p == self.path + self.jwks_path)

    # -- keys ----------------------------------------------------------------------------------

    def rotate(self, key_type: KeyType | None = None) -> SigningKey:
        """Sign with a new key from now on; the old key stays published (kube's rotation step 1)."""
        new = generate_signing_key(key_type or self.signing_key.key_type)
        with self._lock:
            self.published.append(new)
            self.signing_key = new
        return new

    def retire(self, kid: str) -> None:
        """Stop publishing the key with ``kid``."""
        with self._lock:
            self.published = [k for k in self.published if k.kid != kid]

    # -- tokens --------------------------------------------------------------------------------

    def claims(
        self, sub: str = DEFAULT_SUBJECT, aud: str | Sequence[str] | None = (DEFAULT_AUDIENCE,),
        exp_offset: int = 3600, now: float | None = None, **overrides: Any,
    ) -> dict[str, Any]:
        issued = int(time.time() if now is None else now)
        ns, _, sa = sub.removeprefix("system:serviceaccount:").partition(":")
        claims: dict[str, Any] = {
            "aud": [aud] if isinstance(aud, str) else (list(aud) if aud is not None else None),
            "exp": issued + exp_offset,
            "iat": issued,
            "iss": self.issuer,
            "jti": str(uuid.uuid4()),
            "kubernetes.io": {
                "namespace": ns or "default",
                "pod": {"name": "app-0", "uid": str(uuid.uuid4())},
                "serviceaccount": {"name": sa or "default", "uid": str(uuid.uuid4())},
            },
            "nbf": issued,
            "sub": sub,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def mint(
        self,
        sub: str = DEFAULT_SUBJECT,
        aud: str | Sequence[str] | None = (DEFAULT_AUDIENCE,),
        exp_offset: int = 3600,
        *,
        now: float | None = None,
        key: SigningKey | None = None,
        kid: str | None = None,
        alg: str | None = None,
        header: dict[str, Any] | None = None,
        sign: str = "key",
        signature: bytes | None = None,
        tamper: bool = False,
        **overrides: Any,
    ) -> str:
        claims = self.claims(sub, aud, exp_offset, now, **overrides)
        signer = key or self.signing_key
        hdr: dict[str, Any] = {"alg": alg or signer.alg, "kid": signer.kid if kid is None else kid}
        if header:
            hdr.update(header)
        hdr = {k: v for k, v in hdr.items() if v is not None}
        if sign == "none":
            hdr["alg"] = "none"
            token = _compact(hdr, claims, signature or b"")
        elif sign == "hs256-public":
            hdr["alg"] = "HS256"
            secret = signer.public_pem()
            signing_input = _segment(hdr) + "." + _segment(claims)
            mac = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
            token = signing_input + "." + b64url(mac)
        elif hdr["alg"].startswith("PS"):
            signing_input = _segment(hdr) + "." + _segment(claims)
            digest = {"PS256": hashes.SHA256(), "PS384": hashes.SHA384(), "PS512": hashes.SHA512()}[hdr["alg"]]
            rsa_private = signer.private_key
            if not isinstance(rsa_private, rsa.RSAPrivateKey):
                raise ValueError("PS* needs an RSA key")
            sig = rsa_private.sign(
                signing_input.encode("ascii"),
                padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size),
                digest,
            )
            token = signing_input + "." + b64url(sig)
        elif sign == "key":
            token = sign_claims(signer, claims, header=hdr)
        else:
            raise ValueError(f"unknown sign mode {sign!r}")
        if tamper:
            h, _, rest = token.partition(".")
            _, _, sig_part = rest.partition(".")
            forged = dict(claims, sub="system:serviceaccount:kube-system:admin")
            token = h + "." + _segment(forged) + "." + sig_part
        return token


def _segment(obj: Any) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode("utf-8"))


def _compact(header: dict[str, Any], claims: dict[str, Any], signature: bytes) -> str:
    return _segment(header) + "." + _segment(claims) + "." + b64url(signature)


def _body(doc: Any) -> bytes:
    if isinstance(doc, bytes):
        return doc
    return json.dumps(doc, separators=(",", ":")).encode("utf-8")


@pytest.fixture
def issuer_server(tmp_path: Path) -> Iterator[IssuerServer]:
    """A running RSA ``IssuerServer``; stopped after the test."""
    server = IssuerServer(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


__all__ = ["IssuerServer", "issuer_server", "DEFAULT_AUDIENCE", "DEFAULT_SUBJECT"]
