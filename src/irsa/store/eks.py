"""EKS clusters (``eks_clusters``): the stored ``Cluster`` documents that DescribeCluster/ListClusters serve.

Plain storage helpers; the document is the botocore ``Cluster`` structure as a JSON-able dict (timestamps as
ISO-8601 strings are the caller's choice). ``put_cluster`` inserts or replaces.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import delete, insert, select, update

from irsa.store import schema
from irsa.store.db import Database

T = schema.eks_clusters


def _ensure_account(conn: Any, account_id: str) -> None:
    a = schema.accounts
    if conn.execute(select(a.c.id).where(a.c.id == account_id)).first() is None:
        conn.execute(insert(a).values(id=account_id, created=datetime.now(timezone.utc)))


def put_cluster(
    db: Database, account_id: str, region: str, name: str, arn: str, document: dict[str, Any], issuer_url: str | None = None
) -> None:
    text = json.dumps(document, separators=(",", ":"), sort_keys=True)
    where = (T.c.account_id == account_id, T.c.region == region, T.c.name == name)
    with db.begin() as conn:
        _ensure_account(conn, account_id)
        if not conn.execute(update(T).where(*where).values(arn=arn, issuer_url=issuer_url, document=text)).rowcount:
            conn.execute(
                insert(T).values(
                    account_id=account_id, region=region, name=name, arn=arn, issuer_url=issuer_url, document=text,
                    created=datetime.now(timezone.utc),
                )
            )


def get_cluster(db: Database, account_id: str, region: str, name: str) -> dict[str, Any] | None:
    with db.read() as conn:
        text = conn.execute(
            select(T.c.document).where(T.c.account_id == account_id, T.c.region == region, T.c.name == name)
        ).scalar_one_or_none()
    return None if text is None else json.loads(text)


def list_clusters(db: Database, account_id: str, region: str) -> list[str]:
    with db.read() as conn:
        return [r.name for r in conn.execute(select(T.c.name).where(T.c.account_id == account_id, T.c.region == region).order_by(T.c.name))]


def delete_cluster(db: Database, account_id: str, region: str, name: str) -> bool:
    with db.begin() as conn:
        return bool(conn.execute(delete(T).where(T.c.account_id == account_id, T.c.region == region, T.c.name == name)).rowcount)
