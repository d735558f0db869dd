"""A plain static HTTPS file server for tests: serves a folder under a URL prefix, like an S3 bucket behind
a path-style URL. Content types are per object, as S3 stores them at upload (``--content-type``); the
certificate comes from a test ``LocalCA`` (chain leaf + intermediate, so ``thumbprint`` is what IAM pins).
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from irsa.oidc.documents import CACHE_CONTROL, DISCOVERY_CONTENT_TYPE, JWKS_CONTENT_TYPE
from irsa.oidc.tls import LocalCA

# what `irsa issuer publish` tells the user to set on each object
ISSUER_OBJECT_TYPES = {".well-known/openid-configuration": DISCOVERY_CONTENT_TYPE, "keys.json": JWKS_CONTENT_TYPE}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: StaticHttpsServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        owner = self.server.owner
        owner.requests.append(self.path)
        path = unquote(urlsplit(self.path).path)
        status, body, headers = 404, b"<Error><Code>NoSuchKey</Code></Error>", {"Content-Type": "application/xml"}
        if path.startswith(owner.prefix + "/"):
            rel = path[len(owner.prefix) + 1 :]
            file = (owner.root / rel).resolve()
            if rel and ".." not in rel.split("/") and file.is_file() and owner.root.resolve() in file.parents:
                status, body = 200, file.read_bytes()
                headers = {"Content-Type": owner.content_types.get(rel, "binary/octet-stream"),
                           "Cache-Control": owner.cache_control}
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class StaticHttpsServer:
    def __init__(self, root: Path, ca_dir: Path, *, prefix: str = "/irsa-bucket",
                 content_types: Mapping[str, str] = ISSUER_OBJECT_TYPES, cache_control: str = CACHE_CONTROL) -> None:
        self.root = Path(root)
        self.prefix = prefix.rstrip("/")
        self.content_types = dict(content_types)
        self.cache_control = cache_control
        self.ca = LocalCA.load_or_create(ca_dir)
        self.certificate = self.ca.issue_server_certificate(("localhost",), ("127.0.0.1",))
        self.chain_file, self.key_file = self.certificate.write(Path(ca_dir) / "tls")
        self.requests: list[str] = []
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> StaticHttpsServer:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.chain_file, self.key_file)
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
        self._httpd = httpd
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

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return int(self._httpd.server_address[1])

    @property
    def issuer(self) -> str:
        return f"https://127.0.0.1:{self.port}{self.prefix}"

    @property
    def thumbprint(self) -> str:
        return self.certificate.thumbprint

    @property
    def ca_bundle(self) -> Path:
        return self.ca.bundle_path
