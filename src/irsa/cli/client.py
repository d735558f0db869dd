"""A small signed client for the admin API of `irsa up` (``/irsa/v1/...``), used by the CLI."""

from __future__ import annotations

import json
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import typer
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from irsa.server import runtime as rt


@dataclass(frozen=True)
class Target:
    endpoint: str
    region: str
    access_key_id: str
    secret_access_key: str
    ca_bundle: str | None


def server_state(data_dir: Path | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(endpoint file, admin credentials file) of `irsa up`; exits 1 with a hint when there is none."""
    directory = data_dir if data_dir is not None else rt.default_data_dir()
    try:
        return json.loads((directory / rt.ENDPOINT_FILE).read_text()), json.loads((directory / rt.ADMIN_FILE).read_text())
    except FileNotFoundError:
        typer.echo(f"irsa: no server state in {directory}; start one with `irsa up`", err=True)
        raise typer.Exit(1)


def target(data_dir: Path | None) -> Target:
    """Where `irsa up` listens and its admin credentials, from the data dir (``AWS_ACCESS_KEY_ID`` /
    ``AWS_SECRET_ACCESS_KEY`` in the environment select another account's admin)."""
    endpoint, admin = server_state(data_dir)
    key = os.environ.get("AWS_ACCESS_KEY_ID") or admin["AccessKeyId"]
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY") if os.environ.get("AWS_ACCESS_KEY_ID") else admin["SecretAccessKey"]
    return Target(endpoint["endpoint"], endpoint["region"], key, secret or "", endpoint.get("ca_bundle") if endpoint.get("https") else None)


def call(t: Target, method: str, path: str, body: Any = None) -> Any:
    """One signed request; a Kubernetes ``Status`` error is printed and exits 1."""
    data = b"" if body is None else json.dumps(body).encode()
    request = AWSRequest(method=method, url=t.endpoint + path, data=data, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(t.access_key_id, t.secret_access_key), "irsa", t.region).add_auth(request)
    try:
        response = httpx.request(method, request.url, content=data, headers=dict(request.headers.items()),
                                 verify=ssl.create_default_context(cafile=t.ca_bundle) if t.ca_bundle else True, timeout=30)
    except httpx.HTTPError as exc:
        typer.echo(f"irsa: cannot reach {t.endpoint}: {exc}", err=True)
        raise typer.Exit(1)
    try:
        doc = response.json()
    except ValueError:
        doc = {"message": response.text.strip()}
    if response.status_code >= 400:
        typer.echo(f"irsa: {doc.get('reason', response.status_code)}: {doc.get('message', '')}", err=True)
        raise typer.Exit(1)
    return doc
