"""Which AWS endpoint and credentials the eksctl-style commands use.

Order (decided here, once):
1. ``--profile`` given, or ``AWS_ENDPOINT_URL`` set: a plain botocore session, configured exactly as the
   AWS CLI would be (environment, profile, ``AWS_CA_BUNDLE``; botocore reads ``AWS_ENDPOINT_URL`` itself).
2. otherwise, if ``irsa up`` state exists in the data dir: its endpoint and admin credentials
   (``irsa.cli.client.target``), so the commands work out of the box against the local server.
3. otherwise: a plain botocore session, i.e. real AWS.

For TLS to a cluster's issuer (the thumbprint) the system CAs are trusted plus ``AWS_CA_BUNDLE`` and, when
present, ``irsa up``'s local CA root (``<data dir>/ca/root.pem`` as recorded in ``endpoint.json``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
)

from irsa.cli.client import Target
from irsa.eksctl.naming import EksctlError
from irsa.server import runtime as rt

_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10, read_timeout=60)


@dataclass
class Aws:
    """botocore clients for one endpoint/credential set, plus what the admin API and issuer TLS need."""

    region: str
    client_kwargs: dict[str, Any]
    session: Any
    admin: Target | None  # a candidate `irsa up` admin API (probed before use)
    extra_ca_files: list[str] = field(default_factory=list)
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            try:
                self._clients[service] = self.session.create_client(service, region_name=self.region, config=_CONFIG, **self.client_kwargs)
            except (NoRegionError, BotoCoreError) as exc:
                raise EksctlError(f"cannot create the {service} client: {exc}") from None
        return self._clients[service]


def _local_state(data_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((data_dir / rt.ENDPOINT_FILE).read_text())
    except (OSError, ValueError):
        return None


def resolve(data_dir: Path | None = None, region: str | None = None, profile: str | None = None) -> Aws:
    directory = data_dir if data_dir is not None else rt.default_data_dir()
    local = _local_state(directory)
    extra = [p for p in (os.environ.get("AWS_CA_BUNDLE"), (local or {}).get("ca_bundle")) if p and Path(p).is_file()]
    extra = list(dict.fromkeys(extra))
    if profile or os.environ.get("AWS_ENDPOINT_URL") or local is None:
        try:
            session = botocore.session.Session(profile=profile)
            resolved_region = region or session.get_config_variable("region")
        except BotoCoreError as exc:
            raise EksctlError(f"AWS configuration: {exc}") from None
        if not resolved_region:
            raise EksctlError("no region: pass --region or set AWS_DEFAULT_REGION / AWS_REGION")
        admin = None
        endpoint = os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            creds = session.get_credentials()
            if creds is not None:
                frozen = creds.get_frozen_credentials()
                admin = Target(endpoint.rstrip("/"), resolved_region, frozen.access_key, frozen.secret_key,
                               os.environ.get("AWS_CA_BUNDLE") or None)
        return Aws(resolved_region, {}, session, admin, extra)
    from irsa.cli.client import target

    t = target(directory)
    session = botocore.session.get_session()
    kwargs: dict[str, Any] = {"endpoint_url": t.endpoint, "aws_access_key_id": t.access_key_id,
                              "aws_secret_access_key": t.secret_access_key, "verify": t.ca_bundle or True}
    return Aws(region or t.region, kwargs, session, t, extra)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def describe(exc: Exception) -> str:
    """One line for a failed AWS call."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code')}: {err.get('Message')}"
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile)"
    return str(exc)
