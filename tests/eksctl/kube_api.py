"""A small in-test HTTP server that speaks the Kubernetes API for namespaces and serviceaccounts
(core/v1: get, list, list across namespaces, create, merge-patch, delete; ``Status`` errors; bearer-token
auth), so the kubeconfig path of `create|get|delete iamserviceaccount` is exercised through lightkube
against real HTTP. ``fail`` injects an API error for one (method, resource) to test rollback."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

TOKEN = "test-bearer-token"


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}


class KubernetesServiceAccountApi:
    def __init__(self) -> None:
        self.namespaces: dict[str, dict[str, Any]] = {"default": self._ns("default")}
        self.serviceaccounts: dict[tuple[str, str], dict[str, Any]] = {}
        self.fail: dict[tuple[str, str], tuple[int, str, str]] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, doc: dict[str, Any]) -> None:
                body = json.dumps(doc).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._send(401, _status(401, "Unauthorized", "Unauthorized"))
                path = self.path.split("?", 1)[0]
                with api.lock:
                    api.requests.append((self.command, path))
                    code, doc = api.route(self.command, path, body, self.headers.get("Content-Type", ""))
                self._send(code, doc)

            do_GET = do_POST = do_PATCH = do_DELETE = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @staticmethod
    def _ns(name: str) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "uid": str(uuid.uuid4())}, "status": {"phase": "Active"}}

    def route(self, method: str, path: str, body: Any, content_type: str) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if parts[:2] != ["api", "v1"]:
            return 404, _status(404, "NotFound", "the server could not find the requested resource")
        rest = parts[2:]
        if rest == ["serviceaccounts"] and method == "GET":
            return 200, self._list(None)
        if rest[:1] == ["namespaces"]:
            if len(rest) == 1 and method == "POST":
                name = body["metadata"]["name"]
                if name in self.namespaces:
                    return 409, _status(409, "AlreadyExists", f'namespaces "{name}" already exists')
                self.namespaces[name] = self._ns(name)
                return 201, self.namespaces[name]
            if len(rest) == 2:
                ns = rest[1]
                if method == "GET":
                    return (200, self.namespaces[ns]) if ns in self.namespaces else (404, _status(404, "NotFound", f'namespaces "{ns}" not found'))
                if method == "DELETE":
                    if ns not in self.namespaces:
                        return 404, _status(404, "NotFound", f'namespaces "{ns}" not found')
                    self.serviceaccounts = {k: v for k, v in self.serviceaccounts.items() if k[0] != ns}
                    return 200, self.namespaces.pop(ns)
            if len(rest) >= 3 and rest[2] == "serviceaccounts":
                return self._sa(method, rest[1], rest[3] if len(rest) > 3 else None, body, content_type)
        return 404, _status(404, "NotFound", "the server could not find the requested resource")

    def _list(self, ns: str | None) -> dict[str, Any]:
        items = [v for k, v in sorted(self.serviceaccounts.items()) if ns is None or k[0] == ns]
        return {"apiVersion": "v1", "kind": "ServiceAccountList", "metadata": {"resourceVersion": "1"}, "items": items}

    def _sa(self, method: str, ns: str, name: str | None, body: Any, content_type: str) -> tuple[int, dict[str, Any]]:
        if (method, "serviceaccounts") in self.fail:
            code, reason, message = self.fail[(method, "serviceaccounts")]
            return code, _status(code, reason, message)
        if name is None:
            if method == "GET":
                return 200, self._list(ns)
            if method == "POST":
                if ns not in self.namespaces:
                    return 404, _status(404, "NotFound", f'namespaces "{ns}" not found')
                name = body["metadata"]["name"]
                if (ns, name) in self.serviceaccounts:
                    return 409, _status(409, "AlreadyExists", f'serviceaccounts "{name}" already exists')
                obj = json.loads(json.dumps(body))
                obj["metadata"].update(namespace=ns, uid=str(uuid.uuid4()))
                self.serviceaccounts[(ns, name)] = obj
                return 201, obj
        else:
            obj = self.serviceaccounts.get((ns, name))
            if obj is None:
                return 404, _status(404, "NotFound", f'serviceaccounts "{name}" not found')
            if method == "GET":
                return 200, obj
            if method == "DELETE":
                return 200, self.serviceaccounts.pop((ns, name))
            if method == "PATCH":
                if content_type != "application/merge-patch+json":
                    return 415, _status(415, "UnsupportedMediaType", f"unsupported patch type {content_type}")
                for key in ("labels", "annotations"):
                    if key in body.get("metadata", {}):
                        merged = {**obj["metadata"].get(key, {}), **body["metadata"][key]}
                        obj["metadata"][key] = {k: v for k, v in merged.items() if v is not None}
                return 200, obj
        return 405, _status(405, "MethodNotAllowed", f"{method} is not allowed")

    def start(self) -> KubernetesServiceAccountApi:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def write_kubeconfig(self, path: Path) -> Path:
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "test",
            "clusters": [{"name": "test", "cluster": {"server": self.url}}],
            "users": [{"name": "test", "user": {"token": TOKEN}}],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test", "namespace": "default"}}],
        }))
        return path
