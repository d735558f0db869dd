"""STS operations: AssumeRoleWithWebIdentity, AssumeRole, GetCallerIdentity.

The pipeline of AssumeRoleWithWebIdentity follows shared/docs/reference/sts-and-iam.md §7:
parameters (validated by the wire layer from the model), role ARN, token decoding, provider lookup by
``iss`` in the role's account, keys + signature, audience, time, trust policy, duration, session
policies, then credentials. Every failure is an ``AwsError`` with AWS's code and message, and nothing
is written: sessions are sealed into the token, not stored.
"""

from __future__ import annotations

import json
import math
import re
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

from irsa import arn as arns
from irsa import errors
from irsa.errors import AwsError
from irsa.iam.service import IamService
from irsa.oidc.jwks import JwksCache
from irsa.oidc.verify import decode_unverified, verify_web_identity_token
from irsa.policy import CompiledPolicy, PolicyKind, Principal, Request, compile_policy, evaluate
from irsa.sts.caller import Caller
from irsa.sts.context import request_context
from irsa.sts.credentials import new_secret_access_key, new_temporary_access_key_id
from irsa.sts.sealing import KeyRing, Session

DEFAULT_DURATION = 3600
CHAINED_MAX_DURATION = 3600
MAX_SESSION_POLICY_ARNS = 10
MAX_SESSION_POLICY_CHARS = 2048
# Our packed form is zlib(policy + policy ARNs + tags); AWS's packing is internal, this limit is
# chosen so that a 2,048-character policy alone stays well below 100% (see the closing note of issue 6).
PACKED_LIMIT_BYTES = 2048
MAX_SESSION_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
TAGS_CLAIM = "https://aws.amazon.com/tags"
SOURCE_IDENTITY_CLAIM = "https://aws.amazon.com/source_identity"
_SOURCE_IDENTITY = re.compile(r"[\w+=,.@-]{2,64}\Z")
_ALLOW_ALL = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'

AWRWI = "sts:AssumeRoleWithWebIdentity"
ASSUME_ROLE = "sts:AssumeRole"


def _denied(action: str) -> AwsError:
    return AwsError(errors.ACCESS_DENIED, f"Not authorized to perform {action}")


def _iso(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


@dataclass(frozen=True)
class SessionPolicies:
    inline: str | None
    arns: tuple[str, ...]
    compiled: tuple[CompiledPolicy, ...]
    packed_percent: int | None


class StsService:
    def __init__(
        self,
        iam: IamService,
        keyring: KeyRing,
        jwks: JwksCache,
        *,
        clock: Callable[[], float] = time.time,
        token_leeway_seconds: int = 60,
    ) -> None:
        self.iam = iam
        self.keyring = keyring
        self.jwks = jwks
        self.clock = clock
        self.leeway = token_leeway_seconds

    # ------------------------------------------------------------------ shared steps
    def _role_for(self, role_arn: str, action: str) -> Any:
        parsed = arns.parse_arn(role_arn)
        if parsed is None or parsed.service != "iam" or not parsed.resource.startswith("role/") or not parsed.account:
            raise AwsError(errors.VALIDATION_ERROR, "Request ARN is invalid")
        role = self.iam.get_role_by_arn(role_arn)
        if role is None:
            raise _denied(action)
        return role

    def _session_policies(self, account: str, policy: str | None, policy_arns: Sequence[dict], tags: dict[str, str]) -> SessionPolicies:
        arn_list = tuple(item.get("arn", "") for item in (policy_arns or ()))
        if len(arn_list) > MAX_SESSION_POLICY_ARNS:
            raise AwsError(
                errors.VALIDATION_ERROR,
                errors.validation_message("policyArns", "[...]", f"Member must have length less than or equal to {MAX_SESSION_POLICY_ARNS}"),
            )
        compiled: list[CompiledPolicy] = []
        if policy is not None:
            compiled.append(compile_policy(policy, PolicyKind.SESSION, policy_id="session-policy", policy_type="session"))
        for policy_arn in arn_list:
            doc = self.iam.managed_policy_document(account, policy_arn)
            if doc is None:
                raise AwsError(errors.INVALID_PARAMETER_VALUE, f"Policy {policy_arn} does not exist or is not attachable.")
            compiled.append(compile_policy(doc.document, PolicyKind.SESSION, policy_id=doc.policy_id, policy_type="session"))
        packed_percent = None
        if policy is not None or arn_list or tags:
            packed = zlib.compress(json.dumps([policy or "", list(arn_list), sorted(tags.items())], separators=(",", ":")).encode())
            packed_percent = math.ceil(100 * len(packed) / PACKED_LIMIT_BYTES)
            if packed_percent > 100:
                raise AwsError(errors.PACKED_POLICY_TOO_LARGE, f"Packed policy consumes {packed_percent}% of allotted space, please use smaller policy.")
        return SessionPolicies(policy, arn_list, tuple(compiled), packed_percent)

    def _check_duration(self, requested: int | None, role: Any, chained: bool) -> int:
        duration = DEFAULT_DURATION if requested is None else int(requested)
        if chained and duration > CHAINED_MAX_DURATION:
            raise AwsError(
                errors.VALIDATION_ERROR,
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
            )
        if duration > role.max_session_duration:
            raise AwsError(errors.VALIDATION_ERROR, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
        return duration

    def _issue(
        self, role: Any, session_name: str, duration: int, source: str, policies: SessionPolicies, *,
        tags: dict[str, str] | None = None, transitive: Sequence[str] = (), source_identity: str | None = None,
        federated_provider: str | None = None, web_identity: dict[str, object] | None = None,
    ) -> tuple[Session, str, dict[str, Any]]:
        now = int(self.clock())
        account = role.account_id
        partition = arns.parse_arn(role.arn).partition  # type: ignore[union-attr]
        session = Session(
            access_key_id=new_temporary_access_key_id(),
            secret_access_key=new_secret_access_key(),
            account=account, partition=partition, role_arn=role.arn, role_name=role.name, role_id=role.role_id,
            session_name=session_name, expiration=now + duration, issued=now, source=source,
            session_policy=policies.inline, session_policy_arns=policies.arns, tags=dict(tags or {}),
            transitive_tag_keys=tuple(transitive), source_identity=source_identity,
            federated_provider=federated_provider, web_identity=dict(web_identity or {}),
        )
        token = self.keyring.seal(session)
        result: dict[str, Any] = {
            "Credentials": {
                "AccessKeyId": session.access_key_id,
                "SecretAccessKey": session.secret_access_key,
                "SessionToken": token,
                "Expiration": _iso(session.expiration),
            },
            "AssumedRoleUser": {
                "AssumedRoleId": f"{role.role_id}:{session_name}",
                "Arn": arns.assumed_role_arn(partition, account, role.name, session_name),
            },
        }
        if policies.packed_percent is not None:
            result["PackedPolicySize"] = policies.packed_percent
        if source_identity:
            result["SourceIdentity"] = source_identity
        return session, token, result

    # ------------------------------------------------------------------ AssumeRoleWithWebIdentity
    def assume_role_with_web_identity(self, params: dict[str, Any], *, source_ip: str | None = None, secure: bool = False) -> dict[str, Any]:
        role = self._role_for(params["RoleArn"], AWRWI)
        token = decode_unverified(params["WebIdentityToken"].strip())
        issuer = token.claims.get("iss")
        if not isinstance(issuer, str) or not issuer:
            raise AwsError(errors.INVALID_IDENTITY_TOKEN, "Missing a required claim: iss")
        provider = self.iam.find_oidc_provider(role.account_id, issuer)
        if provider is None:
            raise AwsError(errors.INVALID_IDENTITY_TOKEN, f"No OpenIDConnect provider found in your account for {issuer}")
        verified = verify_web_identity_token(
            token, client_ids=provider.client_ids, thumbprints=provider.thumbprints, jwks=self.jwks,
            now=self.clock(), leeway_seconds=self.leeway,
        )
        claims = verified.claims
        tags, transitive = _token_tags(claims.get(TAGS_CLAIM))
        source_identity = _token_source_identity(claims.get(SOURCE_IDENTITY_CLAIM))
        session_name = params["RoleSessionName"]
        prov = provider.url  # host + path: the condition-key prefix
        keys: dict[str, Any] = {
            f"{prov}:aud": verified.audience,
            f"{prov}:oaud": claims.get("aud"),
            f"{prov}:sub": verified.subject,
            "aws:FederatedProvider": provider.arn,
            "sts:RoleSessionName": session_name,
        }
        if "azp" in claims:
            keys[f"{prov}:azp"] = claims.get("azp")
        if "amr" in claims:
            keys[f"{prov}:amr"] = claims.get("amr")
        if "email" in claims:
            keys[f"{prov}:email"] = claims.get("email")
        context = request_context(
            self.clock(), source_ip=source_ip, secure=secure, extra=keys, request_tags=tags,
            transitive_tag_keys=transitive, source_identity=source_identity, resource_tags=role.tags,
        )
        principal = Principal(provider.arn, role.account_id, kind="federated", federated=provider.arn)
        trust = compile_policy(role.assume_role_policy_document, PolicyKind.TRUST, policy_id="trust-policy", policy_type="resource")
        actions = [AWRWI] + (["sts:TagSession"] if tags else []) + (["sts:SetSourceIdentity"] if source_identity else [])
        for action in actions:
            if not evaluate(Request(principal, action, role.arn, context), resource_policy=trust).allowed:
                raise _denied(AWRWI)
        duration = self._check_duration(params.get("DurationSeconds"), role, chained=False)
        policies = self._session_policies(role.account_id, params.get("Policy"), params.get("PolicyArns") or (), tags)
        web_identity = {"sub": verified.subject, "aud": verified.audience, "amr": claims.get("amr"), "provider": prov}
        _, _, result = self._issue(
            role, session_name, duration, "web-identity", policies, tags=tags, transitive=transitive,
            source_identity=source_identity, federated_provider=provider.arn, web_identity=web_identity,
        )
        result["SubjectFromWebIdentityToken"] = verified.subject
        result["Provider"] = provider.arn
        result["Audience"] = verified.audience
        return result

    # ------------------------------------------------------------------ AssumeRole
    def assume_role(self, caller: Caller, params: dict[str, Any], *, identity: Sequence[CompiledPolicy],
                    boundary: CompiledPolicy | None, session: Sequence[CompiledPolicy] | None,
                    source_ip: str | None = None, secure: bool = False) -> dict[str, Any]:
        """``identity``/``boundary``/``session`` are the caller's own policies (the server resolves them)."""
        role = self._role_for(params["RoleArn"], ASSUME_ROLE)
        session_name = params["RoleSessionName"]
        tags = {t["Key"]: t["Value"] for t in params.get("Tags") or ()}
        if len(tags) > MAX_SESSION_TAGS:
            raise AwsError(errors.VALIDATION_ERROR, errors.validation_message("tags", "[...]", f"Member must have length less than or equal to {MAX_SESSION_TAGS}"))
        transitive = list(params.get("TransitiveTagKeys") or ())
        inherited: dict[str, str] = {}
        if caller.session is not None:  # role chaining: transitive tags carry over
            for key in caller.session.transitive_tag_keys:
                if key in caller.session.tags:
                    inherited[key] = caller.session.tags[key]
            for key, value in tags.items():
                if key.lower() in {k.lower() for k in inherited}:
                    raise AwsError(errors.INVALID_PARAMETER_VALUE, f"Cannot override transitive session tag {key}")
            transitive = list(dict.fromkeys(list(caller.session.transitive_tag_keys) + transitive))
        all_tags = {**inherited, **tags}
        source_identity = params.get("SourceIdentity")
        if caller.session is not None and caller.session.source_identity:
            if source_identity and source_identity != caller.session.source_identity:
                raise AwsError(errors.ACCESS_DENIED, "Source identity cannot be changed once set")
            source_identity = caller.session.source_identity
        if source_identity is not None:
            _check_source_identity(source_identity)
        extra: dict[str, Any] = {"sts:RoleSessionName": session_name}
        if params.get("ExternalId") is not None:
            extra["sts:ExternalId"] = params["ExternalId"]
        context = request_context(
            self.clock(), source_ip=source_ip, secure=secure, extra=extra, request_tags=tags,
            transitive_tag_keys=transitive, source_identity=source_identity, resource_tags=role.tags,
            caller=caller,
        )
        principal = principal_for(caller)
        trust = compile_policy(role.assume_role_policy_document, PolicyKind.TRUST, policy_id="trust-policy", policy_type="resource")
        if caller.is_root:
            identity = (compile_policy(_ALLOW_ALL, PolicyKind.IDENTITY, policy_id="root", policy_type="root"),)
            boundary, session = None, None
        actions = [ASSUME_ROLE] + (["sts:TagSession"] if tags else []) + (["sts:SetSourceIdentity"] if params.get("SourceIdentity") else [])
        for action in actions:
            decision = evaluate(Request(principal, action, role.arn, context), identity=identity,
                                resource_policy=trust, boundary=boundary, session=session)
            if decision.allowed and caller.account != role.account_id:
                # across accounts both sides must allow: the trust policy and the caller's own policies
                decision = evaluate(Request(principal, action, role.arn, context), identity=identity,
                                    boundary=boundary, session=session)
            if not decision.allowed:
                raise AwsError(errors.ACCESS_DENIED, f"User: {caller.arn} is not authorized to perform: {action} on resource: {role.arn}")
        duration = self._check_duration(params.get("DurationSeconds"), role, chained=caller.session is not None)
        policies = self._session_policies(role.account_id, params.get("Policy"), params.get("PolicyArns") or (), all_tags)
        _, _, result = self._issue(role, session_name, duration, "assume-role", policies, tags=all_tags,
                                   transitive=transitive, source_identity=source_identity)
        return result

    # ------------------------------------------------------------------ GetCallerIdentity
    @staticmethod
    def get_caller_identity(caller: Caller) -> dict[str, Any]:
        return {"UserId": caller.user_id, "Account": caller.account, "Arn": caller.arn}


def principal_for(caller: Caller) -> Principal:
    if caller.session is None:
        return Principal(caller.arn, caller.account, kind="root")
    s = caller.session
    return Principal(caller.arn, caller.account, kind="role-session", role_arn=s.role_arn, session_arn=caller.arn)


def _check_source_identity(value: str) -> None:
    if not _SOURCE_IDENTITY.match(value) or value.lower().startswith("aws:"):
        raise AwsError(
            errors.VALIDATION_ERROR,
            errors.validation_message("sourceIdentity", value, r"Member must satisfy regular expression pattern: [\w+=,.@-]*"),
        )


def _token_source_identity(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _SOURCE_IDENTITY.match(value) or value.lower().startswith("aws:"):
        raise AwsError(errors.INVALID_IDENTITY_TOKEN, "The source identity in the web identity token is invalid")
    return value


def _token_tags(value: object) -> tuple[dict[str, str], list[str]]:
    """Session tags from the ``https://aws.amazon.com/tags`` claim (reference §2.6)."""
    if value is None:
        return {}, []
    bad = AwsError(errors.INVALID_IDENTITY_TOKEN, "The session tags in the web identity token are invalid")
    if not isinstance(value, dict):
        raise bad
    principal_tags = value.get("principal_tags") or {}
    transitive = value.get("transitive_tag_keys") or []
    if not isinstance(principal_tags, dict) or not isinstance(transitive, list) or len(principal_tags) > MAX_SESSION_TAGS:
        raise bad
    tags: dict[str, str] = {}
    seen: set[str] = set()
    for key, values in principal_tags.items():
        if not isinstance(values, list) or len(values) != 1 or not isinstance(values[0], str):
            raise bad  # each tag value is a one-element array; multi-valued tags are unsupported
        if not (1 <= len(key) <= MAX_TAG_KEY) or len(values[0]) > MAX_TAG_VALUE or key.lower() in seen:
            raise bad
        seen.add(key.lower())
        tags[key] = values[0]
    if any(not isinstance(k, str) or k.lower() not in seen for k in transitive):
        raise bad
    return tags, [str(k) for k in transitive]
