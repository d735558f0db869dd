"""IAM OIDC identity providers (sts-and-iam.md §3).

Decisions:
- ``DeleteOpenIDConnectProvider`` of a provider that does not exist raises ``NoSuchEntity``
  (``OpenIDConnect Provider not found for arn <arn>``). The botocore model lists NoSuchEntity for it and
  every other IAM Delete* behaves so; tools (Terraform, CloudFormation) treat NoSuchEntity on delete as
  "already gone". The doc sentence about idempotency is not followed.
- A provider ARN naming another account is ``NoSuchEntity`` (never leaks that account's providers).
- Client IDs and thumbprints are stored de-duplicated, in the order given. Add/Remove of a client ID is
  idempotent (doc).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from irsa import arn as arns
from irsa import errors
from irsa.errors import AwsError
from irsa.iam import limits
from irsa.iam.context import PROVIDER_TAGS, Ctx, count, list_tags_page, merge_tags, read_tags, remove_tags, tag_list
from irsa.iam.validation import (
    check_client_id,
    check_client_ids,
    check_max_items,
    check_tag_keys,
    check_tags,
    check_thumbprints,
    parse_iam_arn,
    provider_url_without_scheme,
    require_str,
)
from irsa.store import schema

P = schema.oidc_providers


def _not_found(arn: str) -> AwsError:
    return AwsError(errors.NO_SUCH_ENTITY, f"OpenIDConnect Provider not found for arn {arn}")


def _provider_row(ctx: Ctx, params: dict[str, Any]) -> Any:
    arn = require_str(params, "OpenIDConnectProviderArn", "openIDConnectProviderArn")
    account, _ = parse_iam_arn(arn, ctx.partition, "oidc-provider")
    if account != ctx.account_id:
        raise _not_found(arn)
    row = ctx.conn.execute(select(P).where(P.c.arn == arn)).first()
    if row is None:
        raise _not_found(arn)
    return row


def create(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    url = require_str(params, "Url", "url")
    rest = provider_url_without_scheme(url)
    client_ids = check_client_ids(params.get("ClientIDList"))
    thumbprints = check_thumbprints(params.get("ThumbprintList"))
    tags = check_tags(params.get("Tags"))
    if ctx.conn.execute(select(P.c.pk).where(P.c.account_id == ctx.account_id, P.c.url == rest)).first() is not None:
        raise AwsError(errors.ENTITY_ALREADY_EXISTS, f"Provider with url {url} already exists.")
    if count(ctx, P, P.c.account_id == ctx.account_id) >= limits.OIDC_PROVIDERS_PER_ACCOUNT:
        raise AwsError(
            errors.LIMIT_EXCEEDED, limits.quota_message("OpenIdConnectProvidersPerAccount", limits.OIDC_PROVIDERS_PER_ACCOUNT)
        )
    arn = arns.oidc_provider_arn(ctx.partition, ctx.account_id, rest)
    try:
        with ctx.conn.begin_nested():
            pk = ctx.conn.execute(
                insert(P).values(
                    account_id=ctx.account_id, url=rest, arn=arn, client_ids=json.dumps(client_ids),
                    thumbprints=json.dumps(thumbprints), created=ctx.now,
                )
            ).inserted_primary_key[0]
    except IntegrityError:
        raise AwsError(errors.ENTITY_ALREADY_EXISTS, f"Provider with url {url} already exists.") from None
    merge_tags(ctx, PROVIDER_TAGS, pk, tags)
    out: dict[str, Any] = {"OpenIDConnectProviderArn": arn}
    if tags:
        out["Tags"] = tag_list(tags)
    return out


def get(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    row = _provider_row(ctx, params)
    return {
        "Url": row.url,
        "ClientIDList": json.loads(row.client_ids),
        "ThumbprintList": json.loads(row.thumbprints),
        "CreateDate": row.created,
        "Tags": tag_list(read_tags(ctx, PROVIDER_TAGS, row.pk)),
    }


def list_(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    rows = ctx.conn.execute(select(P.c.arn).where(P.c.account_id == ctx.account_id).order_by(P.c.arn))
    return {"OpenIDConnectProviderList": [{"Arn": r.arn} for r in rows]}


def delete_(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    row = _provider_row(ctx, params)
    ctx.conn.execute(delete(P).where(P.c.pk == row.pk))
    return {}


def add_client_id(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    client_id = check_client_id(require_str(params, "ClientID", "clientID"))
    row = _provider_row(ctx, params)
    ids: list[str] = json.loads(row.client_ids)
    if client_id in ids:
        return {}
    if len(ids) >= limits.CLIENT_IDS_PER_PROVIDER:
        raise AwsError(errors.LIMIT_EXCEEDED, limits.quota_message("ClientIdsPerOpenIdConnectProvider", limits.CLIENT_IDS_PER_PROVIDER))
    ctx.conn.execute(update(P).where(P.c.pk == row.pk).values(client_ids=json.dumps(ids + [client_id])))
    return {}


def remove_client_id(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    client_id = check_client_id(require_str(params, "ClientID", "clientID"))
    row = _provider_row(ctx, params)
    ids: list[str] = json.loads(row.client_ids)
    if client_id in ids:
        ctx.conn.execute(update(P).where(P.c.pk == row.pk).values(client_ids=json.dumps([i for i in ids if i != client_id])))
    return {}


def update_thumbprint(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("ThumbprintList") is None:
        raise AwsError(errors.VALIDATION_ERROR, errors.validation_message("thumbprintList", "null", "Member must not be null"))
    thumbprints = check_thumbprints(params.get("ThumbprintList"))
    row = _provider_row(ctx, params)
    ctx.conn.execute(update(P).where(P.c.pk == row.pk).values(thumbprints=json.dumps(thumbprints)))
    return {}


def tag(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    tags = check_tags(params.get("Tags") if params.get("Tags") is not None else [])
    row = _provider_row(ctx, params)
    merge_tags(ctx, PROVIDER_TAGS, row.pk, tags)
    return {}


def untag(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    keys = check_tag_keys(params.get("TagKeys"))
    row = _provider_row(ctx, params)
    remove_tags(ctx, PROVIDER_TAGS, row.pk, keys)
    return {}


def list_tags(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    max_items = check_max_items(params)
    row = _provider_row(ctx, params)
    return list_tags_page(ctx, PROVIDER_TAGS, row.pk, params, max_items)


OPERATIONS = {
    "CreateOpenIDConnectProvider": (create, True),
    "GetOpenIDConnectProvider": (get, False),
    "ListOpenIDConnectProviders": (list_, False),
    "DeleteOpenIDConnectProvider": (delete_, True),
    "AddClientIDToOpenIDConnectProvider": (add_client_id, True),
    "RemoveClientIDFromOpenIDConnectProvider": (remove_client_id, True),
    "UpdateOpenIDConnectProviderThumbprint": (update_thumbprint, True),
    "TagOpenIDConnectProvider": (tag, True),
    "UntagOpenIDConnectProvider": (untag, True),
    "ListOpenIDConnectProviderTags": (list_tags, False),
}
