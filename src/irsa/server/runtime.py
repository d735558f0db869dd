"""Assembles one running identity service from its settings: data dir, database, accounts, services."""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from irsa import arn as arns
from irsa.iam.accounts import AccountStore, AdminCredentials
from irsa.iam.service import IamService
from irsa.oidc.jwks import HttpsJwksFetcher, JwksCache
from irsa.server.audit import AuditLog
from irsa.server.dispatch import Dispatcher
from irsa.store.db import Database
from irsa.store.settings import load_sealing_keys, store_sealing_key
from irsa.sts.sealing import KeyRing
from irsa.sts.service import StsService

DEFAULT_PORT = 4577
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
ADMIN_FILE = "admin-credentials.json"
ENDPOINT_FILE = "endpoint.json"
ENV_ACCESS_KEY = "IRSA_ADMIN_ACCESS_KEY_ID"
ENV_SECRET_KEY = "IRSA_ADMIN_SECRET_ACCESS_KEY"


def default_data_dir() -> Path:
    return Path(os.environ.get("IRSA_DATA_DIR") or Path.home() / ".irsa")


def write_private(path: Path, text: str) -> None:
    """Write a file that only its owner can read (created 0600, never widened)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + f".{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


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

    @property
    def partition(self) -> str:
        return arns.partition_for_region(self.region)

    @property
    def endpoint(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

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
        self.jwks = JwksCache(HttpsJwksFetcher(ca_bundle=settings.ca_bundle))
        self.sts = StsService(self.iam, self.keyring, self.jwks, clock=clock)
        self.audit = AuditLog(settings.data_dir / "audit.log" if settings.audit else None)
        self.dispatcher = Dispatcher(iam=self.iam, accounts=self.accounts, sts=self.sts, keyring=self.keyring,
                                     partition=settings.partition, audit=self.audit, clock=clock)

    def write_endpoint_file(self) -> None:
        s = self.settings
        write_private(s.data_dir / ENDPOINT_FILE, json.dumps({
            "endpoint": s.endpoint, "region": s.region, "account_id": s.account_id,
            "database_url": s.resolved_database_url(), "pid": os.getpid(),
        }, indent=2) + "\n")

    def close(self) -> None:
        self.audit.close()
        self.db.dispose()

