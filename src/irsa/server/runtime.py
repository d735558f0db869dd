"""Assembles one running identity service from its settings: data dir, database, accounts, services."""

from __future__ import annotations

import ipaddress
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from irsa import arn as arns
from irsa.cluster.api import ClusterAdminApi, EksOperations, issuer_response
from irsa.cluster.service import ClusterService
from irsa.files import write_private_file
from irsa.iam.accounts import AccountStore, AdminCredentials
from irsa.iam.service import IamService
from irsa.oidc.jwks import HttpsJwksFetcher, JwksCache
from irsa.oidc.tls import LocalCA
from irsa.server.asgi import AwsEndpoint
from irsa.server.audit import AuditLog
from irsa.server.dispatch import Dispatcher
from irsa.store.db import Database
from irsa.store.settings import load_sealing_keys, store_sealing_key
from irsa.sts.sealing import KeyRing
from irsa.sts.service import StsService

DEFAULT_PORT = 4577
DEFAULT_ISSUER_PORT = 4578
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
ADMIN_FILE = "admin-credentials.json"
ENDPOINT_FILE = "endpoint.json"
ENV_ACCESS_KEY = "IRSA_ADMIN_ACCESS_KEY_ID"
ENV_SECRET_KEY = "IRSA_ADMIN_SECRET_ACCESS_KEY"


def default_data_dir() -> Path:
    return Path(os.environ.get("IRSA_DATA_DIR") or Path.home() / ".irsa")


def write_private(path: Path, text: str) -> None:
    """A file only its owner can read, in a directory only its owner can enter."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private_file(path, text.encode())


@dataclass
class Settings:
    data_dir: Path = field(default_factory=default_data_dir)
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    account_id: str = DEFAULT_ACCOUNT
    region: str = DEFAULT_REGION
    database_url: str | None = None
    ca_bundle: str | None = None  # extra CA bundle trusted when fetching issuers' keys
    audit: bool = True
    issuer_host: str | None = None  # host name in issuer URLs (default: host)
    issuer_port: int = DEFAULT_ISSUER_PORT
    https: bool = False  # serve the AWS endpoint over TLS too (certificate from the local CA)
    max_token_expiration: int = 48 * 3600

    @property
    def partition(self) -> str:
        return arns.partition_for_region(self.region)

    @property
    def endpoint(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.https else 'http'}://{host}:{self.port}"

    @property
    def issuer_base_url(self) -> str:
        host = self.issuer_host or self.host
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        return f"https://{f'[{host}]' if ':' in host else host}:{self.issuer_port}"

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'irsa.db'}"


def _admin_credentials(settings: Settings, accounts: AccountStore) -> AdminCredentials:
    """Environment first, then the saved file, else new ones; saved 0600 and registered."""
    env_key, env_secret = os.environ.get(ENV_ACCESS_KEY), os.environ.get(ENV_SECRET_KEY)
    path = settings.data_dir / ADMIN_FILE
    if env_key and env_secret:
        creds = accounts.ensure_account(settings.account_id, access_key_id=env_key, secret=env_secret)
    elif path.exists():
        saved = json.loads(path.read_text())
        creds = accounts.ensure_account(settings.account_id, access_key_id=saved["AccessKeyId"], secret=saved["SecretAccessKey"])
    else:
        creds = accounts.ensure_account(settings.account_id)
    write_private(path, json.dumps({"AccountId": settings.account_id, "AccessKeyId": creds.access_key_id,
                                    "SecretAccessKey": creds.secret_access_key}, indent=2) + "\n")
    return creds


def _trust_bundle(settings: Settings, ca: LocalCA) -> Path:
    """The CAs trusted when fetching issuers' keys: the local CA, plus ``--ca-bundle`` if given."""
    path = settings.data_dir / "trust-bundle.pem"
    text = ca.root_pem.decode()
    if settings.ca_bundle:
        text += "\n" + Path(settings.ca_bundle).read_text()
    if not path.exists() or path.read_text() != text:
        write_private(path, text)  # atomic: worker processes starting together may read it meanwhile
    return path


class Runtime:
    """Everything `irsa up` serves, built once."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.db = Database(settings.resolved_database_url())
        self.accounts = AccountStore(self.db, partition=settings.partition)
        self.admin = _admin_credentials(settings, self.accounts)
        self.iam = IamService(self.db, partition=settings.partition)
        self.keyring = KeyRing(lambda: load_sealing_keys(self.db),
                               lambda kid, key, created: store_sealing_key(self.db, kid, key, created), clock=clock)
        # TLS: a local CA (kept 0600 in the data dir) certifies the issuer listener (and the AWS endpoint with --https)
        self.ca = LocalCA.load_or_create(settings.data_dir / "ca")
        self.trust_bundle = _trust_bundle(settings, self.ca)
        self.jwks = JwksCache(HttpsJwksFetcher(ca_bundle=str(self.trust_bundle)))
        self.sts = StsService(self.iam, self.keyring, self.jwks, clock=clock)
        self.audit = AuditLog(settings.data_dir / "audit.log" if settings.audit else None)
        self.clusters = ClusterService(self.db, partition=settings.partition, region=settings.region,
                                       issuer_base_url=settings.issuer_base_url, ca_pem=self.ca.root_pem,
                                       max_token_expiration=settings.max_token_expiration, clock=clock,
                                       on_keys_changed=self.jwks.invalidate)
        self.dispatcher = Dispatcher(iam=self.iam, accounts=self.accounts, sts=self.sts, keyring=self.keyring,
                                     partition=settings.partition, audit=self.audit, clock=clock, region=settings.region,
                                     eks=EksOperations(self.clusters))
        self.cluster_admin = ClusterAdminApi(self.clusters, self.dispatcher.authenticate)

    def server_certificate(self) -> tuple[Path, Path]:
        """A fresh certificate for this run's listeners (issuer host, the bind host, localhost): (chain, key)."""
        s = self.settings
        names = {"localhost"}
        ips = {"127.0.0.1", "::1"}
        for host in (s.issuer_host or s.host, s.host):
            try:
                ipaddress.ip_address(host)
                if host not in ("0.0.0.0", "::"):
                    ips.add(host)
            except ValueError:
                names.add(host)
        cert = self.ca.issue_server_certificate(sorted(names), sorted(ips))
        return cert.write(s.data_dir / "tls", "server")

    def aws_endpoint(self) -> AwsEndpoint:
        return AwsEndpoint(self.dispatcher.handle, inline_handler=self.dispatcher.handle_inline,
                           prefix_routes=[("/irsa/v1/", self.cluster_admin.handle)])

    def issuer_endpoint(self) -> AwsEndpoint:
        return AwsEndpoint(lambda request: issuer_response(self.clusters, request))

    def write_endpoint_file(self) -> None:
        s = self.settings
        write_private(s.data_dir / ENDPOINT_FILE, json.dumps({
            "endpoint": s.endpoint, "region": s.region, "account_id": s.account_id, "issuer_base_url": s.issuer_base_url,
            "ca_bundle": str(self.ca.bundle_path), "https": s.https,
            "database_url": s.resolved_database_url(), "pid": os.getpid(),
        }, indent=2) + "\n")

    def close(self) -> None:
        self.audit.close()
        self.db.dispose()

