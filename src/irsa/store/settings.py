"""Small settings (``kv``) and the STS sealing keys: thin helpers over two tables."""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update

from irsa.store import schema
from irsa.store.db import Database


def get_setting(db: Database, name: str) -> str | None:
    with db.read() as conn:
        return conn.execute(select(schema.kv.c.value).where(schema.kv.c.name == name)).scalar_one_or_none()


def set_setting(db: Database, name: str, value: str) -> None:
    with db.begin() as conn:
        done = conn.execute(update(schema.kv).where(schema.kv.c.name == name).values(value=value)).rowcount
        if not done:
            conn.execute(insert(schema.kv).values(name=name, value=value))


def delete_setting(db: Database, name: str) -> None:
    with db.begin() as conn:
        conn.execute(delete(schema.kv).where(schema.kv.c.name == name))


def load_sealing_keys(db: Database, *, include_retired: bool = False) -> list[tuple[bytes, bytes, int]]:
    """Every sealing key as ``(key_id, key, created_epoch)``, oldest first."""
    t = schema.sealing_keys
    query = select(t.c.key_id, t.c.key, t.c.created).order_by(t.c.created, t.c.key_id)
    if not include_retired:
        query = query.where(t.c.retired.is_(None))
    with db.read() as conn:
        return [(bytes(r.key_id), bytes(r.key), int(r.created)) for r in conn.execute(query)]


def store_sealing_key(db: Database, key_id: bytes, key: bytes, created: int) -> None:
    with db.begin() as conn:
        conn.execute(insert(schema.sealing_keys).values(key_id=key_id, key=key, created=created, retired=None))


def retire_sealing_key(db: Database, key_id: bytes, retired: int) -> None:
    with db.begin() as conn:
        conn.execute(update(schema.sealing_keys).where(schema.sealing_keys.c.key_id == key_id).values(retired=retired))
