"""Ordered schema migrations, applied when a ``Database`` opens.

Each step has a version number (strictly increasing) and a function that runs inside the migration
transaction. ``schema_version`` records what was applied. A step is never edited once released; add a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection

from irsa.store import schema


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


def _v1(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=schema.V1_TABLES, checkfirst=True)


def _v2(conn: Connection) -> None:
    schema.eks_clusters.create(conn, checkfirst=True)


def _v3(conn: Connection) -> None:
    schema.cluster_keys.create(conn, checkfirst=True)
    schema.cluster_service_accounts.create(conn, checkfirst=True)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "accounts, access keys, OIDC providers, roles, policies, attachments, sealing keys, kv", _v1),
    Migration(2, "eks_clusters", _v2),
    Migration(3, "cluster signing keys and service accounts", _v3),
)

LATEST_VERSION = MIGRATIONS[-1].version
