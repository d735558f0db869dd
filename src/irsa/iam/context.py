"""What every IAM operation handler receives, and the shared row helpers (tags, pagination, lookups)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, func, insert, select, update

from irsa import errors
from irsa.errors import AwsError
from irsa.iam import limits
from irsa.iam.validation import decode_marker, encode_marker
from irsa.store import schema


@dataclass
class Ctx:
    """One request: the open transaction, the caller's account, our partition, and the request time."""

    conn: Connection
    account_id: str
    partition: str
    now: datetime


Handler = Callable[[Ctx, dict[str, Any]], dict[str, Any]]


def no_such_role(name: str) -> AwsError:
    return AwsError(errors.NO_SUCH_ENTITY, f"The role with name {name} cannot be found.")


def role_row(ctx: Ctx, name: str) -> Any:
    """The caller's role by name (IAM role names are case-insensitive), or NoSuchEntity."""
    t = schema.roles
    row = ctx.conn.execute(
        select(t).where(t.c.account_id == ctx.account_id, t.c.name_lower == name.lower())
    ).first()
    if row is None:
        raise no_such_role(name)
    return row


# ---------------------------------------------------------------------------- tags
@dataclass(frozen=True)
class TagTable:
    table: Table
    owner: str  # the owner FK column name
    quota_name: str


ROLE_TAGS = TagTable(schema.role_tags, "role_pk", "TagsPerRole")
PROVIDER_TAGS = TagTable(schema.oidc_provider_tags, "provider_pk", "TagsPerOpenIdConnectProvider")
POLICY_TAGS = TagTable(schema.managed_policy_tags, "policy_pk", "TagsPerPolicy")


def read_tags(ctx: Ctx, tags: TagTable, owner_pk: int) -> list[tuple[str, str]]:
    t = tags.table
    rows = ctx.conn.execute(select(t.c.key, t.c.value).where(t.c[tags.owner] == owner_pk).order_by(t.c.seq))
    return [(r.key, r.value) for r in rows]


def tag_list(pairs: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in pairs]


def merge_tags(ctx: Ctx, tags: TagTable, owner_pk: int, new: Sequence[tuple[str, str]]) -> None:
    """Add or overwrite tags (keys match case-insensitively; the new spelling wins). Quota: 50 in total."""
    t = tags.table
    existing = {r.key_lower: r.seq for r in ctx.conn.execute(select(t.c.key_lower, t.c.seq).where(t.c[tags.owner] == owner_pk))}
    added = [kv for kv in new if kv[0].lower() not in existing]
    if len(existing) + len(added) > limits.TAGS_PER_RESOURCE:
        raise AwsError(errors.LIMIT_EXCEEDED, limits.quota_message(tags.quota_name, limits.TAGS_PER_RESOURCE))
    seq = max(existing.values(), default=0)
    for key, value in new:
        low = key.lower()
        if low in existing:
            ctx.conn.execute(update(t).where(t.c[tags.owner] == owner_pk, t.c.key_lower == low).values(key=key, value=value))
        else:
            seq += 1
            existing[low] = seq
            ctx.conn.execute(insert(t).values({tags.owner: owner_pk, "key_lower": low, "key": key, "value": value, "seq": seq}))


def remove_tags(ctx: Ctx, tags: TagTable, owner_pk: int, keys: Sequence[str]) -> None:
    t = tags.table
    lowered = list({k.lower() for k in keys})
    if lowered:
        ctx.conn.execute(delete(t).where(t.c[tags.owner] == owner_pk, t.c.key_lower.in_(lowered)))


def list_tags_page(ctx: Ctx, tags: TagTable, owner_pk: int, params: dict[str, Any], max_items: int) -> dict[str, Any]:
    t = tags.table
    marker = decode_marker(params, 1)
    query = select(t.c.key, t.c.value, t.c.seq).where(t.c[tags.owner] == owner_pk)
    if marker is not None:
        query = query.where(t.c.seq > int(marker[0]))
    rows = ctx.conn.execute(query.order_by(t.c.seq).limit(max_items + 1)).all()
    out: dict[str, Any] = {"Tags": [{"Key": r.key, "Value": r.value} for r in rows[:max_items]]}
    return page_flags(out, rows, max_items, lambda r: [r.seq])


# ---------------------------------------------------------------------------- pagination
def page_flags(out: dict[str, Any], rows: Sequence[Any], max_items: int, key: Callable[[Any], list[Any]]) -> dict[str, Any]:
    """Set ``IsTruncated`` (and ``Marker`` when truncated) given ``rows`` fetched with ``limit max_items+1``."""
    truncated = len(rows) > max_items
    out["IsTruncated"] = truncated
    if truncated:
        out["Marker"] = encode_marker(key(rows[max_items - 1]))
    return out


def count(ctx: Ctx, table: Table, *where: Any) -> int:
    return int(ctx.conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())
