"""The request context (condition keys) that AWS supplies with a request.

One builder serves trust evaluation in STS and the authorization of signed calls, so that the same
global keys (``aws:CurrentTime``, ``aws:SourceIp``, principal keys, tags) exist in both.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from irsa.policy import Context
from irsa.sts.caller import Caller
from irsa.wire.query_xml import iso8601  # the same second-precision UTC text as strftime("%Y-%m-%dT%H:%M:%SZ")


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def request_context(
    now: float,
    *,
    source_ip: str | None = None,
    secure: bool = False,
    extra: Mapping[str, Any] | None = None,
    request_tags: Mapping[str, str] | None = None,
    transitive_tag_keys: Sequence[str] = (),
    source_identity: str | None = None,
    resource_tags: Mapping[str, str] | None = None,
    caller: Caller | None = None,
    region: str | None = None,
) -> Context:
    ctx = Context()
    epoch = int(now)
    ctx.add("aws:CurrentTime", iso8601(epoch), "date")
    ctx.add("aws:EpochTime", str(epoch), "numeric")
    ctx.add("aws:SecureTransport", "true" if secure else "false", "boolean")
    if source_ip:
        ctx.add("aws:SourceIp", [source_ip], "ip")
    if region:
        ctx.add("aws:RequestedRegion", [region], "string")
    for key, value in (extra or {}).items():
        if value.__class__ is str:  # what _strings would give as its one value
            ctx.add(key, value, "string")
            continue
        values = _strings(value)
        if values:
            ctx.add(key, values, "stringList" if isinstance(value, (list, tuple)) else "string")
    if request_tags:
        for key, value in request_tags.items():
            ctx.add(f"aws:RequestTag/{key}", value, "string")
        ctx.add("aws:TagKeys", list(request_tags), "stringList")
    if transitive_tag_keys:
        ctx.add("sts:TransitiveTagKeys", list(transitive_tag_keys), "stringList")
    if source_identity:
        ctx.add("sts:SourceIdentity", source_identity, "string")
    for key, value in (resource_tags or {}).items():
        ctx.add(f"aws:ResourceTag/{key}", value, "string")
    if caller is not None:
        add_principal_keys(ctx, caller)
    return ctx


def add_principal_keys(ctx: Context, caller: Caller) -> None:
    """``aws:Principal*``, ``aws:userid`` and session keys for a signed caller."""
    ctx.add("aws:PrincipalAccount", [caller.account], "string")
    ctx.add("aws:userid", [caller.user_id], "string")
    if caller.session is None:
        ctx.add("aws:PrincipalArn", [caller.arn], "string")
        ctx.add("aws:PrincipalType", ["Account"], "string")
        return
    s = caller.session
    ctx.add("aws:PrincipalArn", [s.role_arn], "string")
    ctx.add("aws:PrincipalType", ["AssumedRole"], "string")
    ctx.add("aws:TokenIssueTime", iso8601(s.issued), "date")
    for key, value in s.tags.items():
        ctx.add(f"aws:PrincipalTag/{key}", [value], "string")
    if s.source_identity:
        ctx.add("aws:SourceIdentity", [s.source_identity], "string")
    if s.federated_provider:
        ctx.add("aws:FederatedProvider", [s.federated_provider], "string")
        prov = s.web_identity.get("provider")
        for claim in ("sub", "aud", "amr"):
            raw = s.web_identity.get(claim)
            values = _strings(raw)
            if prov and values:
                ctx.add(f"{prov}:{claim}", values, "stringList" if isinstance(raw, (list, tuple)) else "string")
