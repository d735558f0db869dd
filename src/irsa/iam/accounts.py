"""Accounts and their admin access keys (the credentials of the account root).

``ensure_account`` is what ``irsa up`` calls with credentials from the environment: it is idempotent, and
when it is given a key it makes the stored secret equal to the given one (the environment is the source of
truth). Secrets are compared with ``hmac.compare_digest`` by the SigV4 verifier, never here; they are never
logged. Keeping the database file private (0600) is the caller's concern.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import insert, select, update

from irsa import arn as arns
from irsa import errors
from irsa.errors import AwsError
from irsa.iam.ids import new_access_key_id, new_secret_access_key
from irsa.iam.validation import check_account_id
from irsa.store import schema
from irsa.store.db import Database

ACTIVE = "Active"
_KEY_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True)
class AdminCredentials:
    account_id: str
    access_key_id: str
    secret_access_key: str = ""

    def __repr__(self) -> str:  # never print the secret
        return f"AdminCredentials(account_id={self.account_id!r}, access_key_id={self.access_key_id!r}, secret_access_key='***')"


@dataclass(frozen=True)
class AccessKeyRecord:
    account_id: str
    secret_access_key: str
    principal_arn: str

    def __repr__(self) -> str:
        return f"AccessKeyRecord(account_id={self.account_id!r}, principal_arn={self.principal_arn!r}, secret_access_key='***')"


def _check_key_pair(access_key_id: str, secret: str) -> None:
    if not 16 <= len(access_key_id) <= 128 or not all(c in _KEY_CHARS for c in access_key_id):
        raise AwsError(errors.VALIDATION_ERROR, "Access key ID must be 16-128 characters of [A-Za-z0-9_].")
    if not 1 <= len(secret) <= 128 or not secret.isascii() or not secret.isprintable():
        raise AwsError(errors.VALIDATION_ERROR, "Secret access key must be 1-128 printable ASCII characters.")


class AccountStore:
    def __init__(self, db: Database, partition: str = "aws") -> None:
        self.db = db
        self.partition = partition

    def create_account(self, account_id: str) -> AdminCredentials:
        """A new account with a fresh admin key (``AKIA`` + 16, 40-character secret)."""
        check_account_id(account_id)
        now = datetime.now(timezone.utc)
        with self.db.begin() as conn:
            if conn.execute(select(schema.accounts.c.id).where(schema.accounts.c.id == account_id)).first():
                raise AwsError(errors.ENTITY_ALREADY_EXISTS, f"Account {account_id} already exists.")
            conn.execute(insert(schema.accounts).values(id=account_id, created=now))
            return self._new_key(conn, account_id, new_access_key_id(), new_secret_access_key(), now)

    def ensure_account(self, account_id: str, access_key_id: str | None = None, secret: str | None = None) -> AdminCredentials:
        """Idempotent. With a key pair: that key exists for the account with exactly that secret.
        Without: the account's first active admin key, created if there is none."""
        check_account_id(account_id)
        if (access_key_id is None) != (secret is None):
            raise AwsError(errors.VALIDATION_ERROR, "Give both an access key ID and a secret, or neither.")
        if access_key_id is not None and secret is not None:
            _check_key_pair(access_key_id, secret)
        now = datetime.now(timezone.utc)
        k = schema.access_keys
        with self.db.begin() as conn:
            if not conn.execute(select(schema.accounts.c.id).where(schema.accounts.c.id == account_id)).first():
                conn.execute(insert(schema.accounts).values(id=account_id, created=now))
            if access_key_id is None:
                row = conn.execute(
                    select(k.c.access_key_id, k.c.secret)
                    .where(k.c.account_id == account_id, k.c.status == ACTIVE)
                    .order_by(k.c.created, k.c.access_key_id)
                ).first()
                if row is not None:
                    return AdminCredentials(account_id, row.access_key_id, row.secret)
                return self._new_key(conn, account_id, new_access_key_id(), new_secret_access_key(), now)
            row = conn.execute(select(k.c.account_id).where(k.c.access_key_id == access_key_id)).first()
            if row is None:
                return self._new_key(conn, account_id, access_key_id, secret or "", now)
            if row.account_id != account_id:
                raise AwsError(errors.ENTITY_ALREADY_EXISTS, f"Access key {access_key_id} belongs to another account.")
            conn.execute(update(k).where(k.c.access_key_id == access_key_id).values(secret=secret, status=ACTIVE))
            return AdminCredentials(account_id, access_key_id, secret or "")

    def _new_key(self, conn, account_id: str, access_key_id: str, secret: str, now: datetime) -> AdminCredentials:  # type: ignore[no-untyped-def]
        conn.execute(
            insert(schema.access_keys).values(
                access_key_id=access_key_id, account_id=account_id, secret=secret,
                principal_arn=arns.account_root_arn(self.partition, account_id), status=ACTIVE, created=now,
            )
        )
        return AdminCredentials(account_id, access_key_id, secret)

    def lookup_access_key(self, access_key_id: str) -> AccessKeyRecord | None:
        """The active key's account, secret and principal; ``None`` for unknown or inactive keys."""
        k = schema.access_keys
        with self.db.read() as conn:
            row = conn.execute(
                select(k.c.account_id, k.c.secret, k.c.principal_arn, k.c.status).where(k.c.access_key_id == access_key_id)
            ).first()
        if row is None or row.status != ACTIVE:
            return None
        return AccessKeyRecord(row.account_id, row.secret, row.principal_arn)

    def set_access_key_status(self, access_key_id: str, active: bool) -> bool:
        """Activate/deactivate a key; returns False when the key does not exist."""
        k = schema.access_keys
        with self.db.begin() as conn:
            return bool(
                conn.execute(update(k).where(k.c.access_key_id == access_key_id).values(status=ACTIVE if active else "Inactive")).rowcount
            )

    def list_accounts(self) -> list[str]:
        with self.db.read() as conn:
            return [r.id for r in conn.execute(select(schema.accounts.c.id).order_by(schema.accounts.c.id))]
