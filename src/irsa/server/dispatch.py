"""One AWS endpoint for IAM and STS: authenticate, parse, authorize, run, serialize, audit.

Requests are dispatched as on AWS: a signed request names its service in the SigV4 credential scope;
an unsigned request is accepted only for the operations the model marks ``noAuth``
(``AssumeRoleWithWebIdentity``, ``AssumeRoleWithSAML``).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Callable

from irsa import arn as arns
from irsa import errors
from irsa.blocking import WouldBlock, blocking_point, nonblocking
from irsa.errors import AwsError
from irsa.policy import PolicyKind, Request, compile_policy, evaluate
from irsa.server.audit import AuditLog
from irsa.server.http import HttpRequest, HttpResponse
from irsa.sts.caller import Caller
from irsa.sts.context import add_principal_keys, request_context
from irsa.sts.sealing import KeyRing, TokenInvalid
from irsa.sts.service import StsService, principal_for
from irsa.wire.query import QueryProtocol, parse_form
from irsa.wire.restjson import RestJsonProtocol
from irsa.wire.sigv4 import has_auth, verify_request

log = logging.getLogger("irsa.server")

QUERY_SERVICES = ("iam", "sts")
INVALID_TOKEN_MESSAGE = "The security token included in the request is invalid."
EXPIRED_TOKEN_MESSAGE = "The security token included in the request is expired"
# operations cheap enough to run on the event loop when their lookups are cached (see irsa.blocking)
INLINE_OPERATIONS = {"sts:AssumeRoleWithWebIdentity", "sts:AssumeRole", "sts:GetCallerIdentity"}
# operations whose authorization is part of the operation itself (trust policy + identity)
SELF_AUTHORIZED = {"sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:GetCallerIdentity"}


class Dispatcher:
    def __init__(self, *, iam: Any, accounts: Any, sts: StsService, keyring: KeyRing, partition: str,
                 audit: AuditLog, clock: Callable[[], float], region: str = "us-east-1", eks: Any = None) -> None:
        self.iam = iam
        self.accounts = accounts
        self.sts = sts
        self.keyring = keyring
        self.partition = partition
        self.audit = audit
        self.clock = clock
        self.region = region
        self.eks = eks
        self.eks_protocol = RestJsonProtocol("eks")
        self.protocols = {name: QueryProtocol(name) for name in QUERY_SERVICES}
        self.operations = {name: frozenset(self.protocols[name].operation_names) for name in QUERY_SERVICES}

    # ---------------------------------------------------------------- credentials
    def resolve(self, access_key_id: str, security_token: str | None) -> Caller:
        if access_key_id.startswith("ASIA"):
            if not security_token:
                raise AwsError(errors.INVALID_CLIENT_TOKEN_ID, INVALID_TOKEN_MESSAGE)
            try:
                session = self.keyring.open(security_token)
            except TokenInvalid:
                raise AwsError(errors.INVALID_CLIENT_TOKEN_ID, INVALID_TOKEN_MESSAGE) from None
            if session.access_key_id != access_key_id:
                raise AwsError(errors.INVALID_CLIENT_TOKEN_ID, INVALID_TOKEN_MESSAGE)
            if session.expiration <= self.clock():
                raise AwsError(errors.EXPIRED_TOKEN, EXPIRED_TOKEN_MESSAGE)
            return Caller(
                account=session.account, partition=session.partition,
                arn=arns.assumed_role_arn(session.partition, session.account, session.role_name, session.session_name),
                user_id=f"{session.role_id}:{session.session_name}", kind="role-session",
                access_key_id=access_key_id, secret_access_key=session.secret_access_key, session=session,
            )
        record = self.accounts.lookup_access_key(access_key_id)
        if record is None:
            raise AwsError(errors.INVALID_CLIENT_TOKEN_ID, INVALID_TOKEN_MESSAGE)
        return Caller(
            account=record.account_id, partition=self.partition, arn=arns.account_root_arn(self.partition, record.account_id),
            user_id=record.account_id, kind="root", access_key_id=access_key_id, secret_access_key=record.secret_access_key,
        )

    # ---------------------------------------------------------------- the caller's own policies
    def caller_policies(self, caller: Caller) -> tuple[list, Any, list | None]:
        """Identity policies, boundary and session policies of a role-session caller."""
        assert caller.session is not None
        role = self.iam.get_role_by_arn(caller.session.role_arn)
        identity: list = []
        boundary = None
        if role is not None:
            for doc in self.iam.role_permission_policies(role):
                identity.append(compile_policy(doc.document, PolicyKind.IDENTITY, policy_id=doc.policy_id, policy_type=doc.policy_type))
            bdoc = self.iam.role_boundary_policy(role)
            if bdoc is not None:
                boundary = compile_policy(bdoc.document, PolicyKind.BOUNDARY, policy_id=bdoc.policy_id, policy_type=bdoc.policy_type)
        session = None
        s = caller.session
        if s.session_policy is not None or s.session_policy_arns:
            session = []
            if s.session_policy is not None:
                session.append(compile_policy(s.session_policy, PolicyKind.SESSION, policy_id="session-policy", policy_type="session"))
            for policy_arn in s.session_policy_arns:
                doc = self.iam.managed_policy_document(s.account, policy_arn)
                if doc is not None:  # a policy deleted since: it grants nothing
                    session.append(compile_policy(doc.document, PolicyKind.SESSION, policy_id=doc.policy_id, policy_type="session"))
        return identity, boundary, session

    def resource_for(self, service: str, operation: str, params: dict[str, Any], caller: Caller) -> str:
        account = caller.account
        if service == "iam":
            if "RoleName" in params:
                role = self.iam.get_role(account, params["RoleName"])
                if role is not None:
                    return role.arn
                return arns.role_arn(self.partition, account, params.get("Path") or "/", params["RoleName"])
            for key in ("PolicyArn", "OpenIDConnectProviderArn", "PolicySourceArn"):
                if key in params:
                    return str(params[key])
            if operation == "CreateOpenIDConnectProvider" and isinstance(params.get("Url"), str):
                url = params["Url"]
                return arns.oidc_provider_arn(self.partition, account, url.split("://", 1)[-1])
            if operation == "CreatePolicy" and "PolicyName" in params:
                return arns.policy_arn(self.partition, account, params.get("Path") or "/", params["PolicyName"])
        if service == "eks" and isinstance(params.get("name"), str):
            return arns.eks_cluster_arn(self.partition, self.region, account, params["name"])
        return "*"

    def authorize(self, caller: Caller, service: str, operation: str, params: dict[str, Any], request: HttpRequest, region: str) -> None:
        action = f"{service}:{operation}"
        if caller.is_root or action in SELF_AUTHORIZED:
            return
        resource = self.resource_for(service, operation, params, caller)
        identity, boundary, session = self.caller_policies(caller)
        ctx = request_context(self.clock(), source_ip=request.client_ip, secure=request.secure, region=region)
        add_principal_keys(ctx, caller)
        decision = evaluate(Request(principal_for(caller), action, resource, ctx), identity=identity,
                            boundary=boundary, session=session)
        if decision.allowed:
            return
        if decision.result == "explicitDeny":
            why = "with an explicit deny in an identity-based policy"
        elif boundary is not None and not evaluate(Request(principal_for(caller), action, resource, ctx), identity=[boundary]).allowed:
            why = f"because no permissions boundary allows the {action} action"
        elif session is not None:
            why = f"because no session policy allows the {action} action"
        else:
            why = f"because no identity-based policy allows the {action} action"
        raise AwsError(errors.ACCESS_DENIED, f"User: {caller.arn} is not authorized to perform: {action} on resource: {resource} {why}")

    # ---------------------------------------------------------------- the request
    def handle_inline(self, request: HttpRequest) -> HttpResponse:
        """``handle`` on the event loop; raises ``WouldBlock`` when it must run in a worker thread."""
        with nonblocking():
            return self.handle(request)

    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4())
        service = "sts"
        caller: Caller | None = None
        operation = None
        try:
            signed = has_auth(request.query_string.decode("latin-1"), request.headers)
            region = ""
            if signed:
                verified = verify_request(request.method, request.raw_path, request.query_string, request.headers,
                                          request.body, self.resolve)
                caller = verified.identity
                service = verified.scope.service
                region = verified.scope.region
                if service == "eks" and self.eks is not None:
                    blocking_point()
                    return self._handle_eks(request, caller, region, request_id)
                if service not in self.protocols:
                    raise AwsError(errors.INVALID_ACTION, f"The service {service} is not served at this endpoint")
            params = parse_form(request.body, request.query_string)
            if not signed:
                service = "iam" if params.get("Action", "") in self.operations["iam"] else "sts"
            protocol = self.protocols[service]
            operation, input_params = protocol.parse(params)
            if f"{service}:{operation}" not in INLINE_OPERATIONS:
                blocking_point()
            if caller is None and protocol.operation_has_auth(operation):
                raise AwsError(errors.MISSING_AUTHENTICATION_TOKEN, "Request is missing Authentication Token")
            if caller is not None:
                self.authorize(caller, service, operation, input_params, request, region)
            output = self.run(service, operation, input_params, caller, request)
            body = protocol.serialize(operation, output, request_id)
            self.audit.record(operation=f"{service}:{operation}", principal=caller.arn if caller else None,
                              access_key_id=caller.access_key_id if caller else None, source_ip=request.client_ip,
                              decision="allowed", request_id=request_id, **_audit_extra(service, operation, input_params, output))
            return HttpResponse(200, body, [("content-type", "text/xml"), ("x-amzn-requestid", request_id)])
        except AwsError as exc:
            return self._error(exc, service, operation, caller, request, request_id)
        except WouldBlock:
            raise
        except Exception:  # never a traceback to the client
            log.exception("internal failure in %s:%s (request %s)", service, operation, request_id)
            exc = AwsError(errors.INTERNAL_FAILURE, "The request processing has failed because of an unknown error, exception or failure.")
            return self._error(exc, service, operation, caller, request, request_id)

    def authenticate(self, request: HttpRequest) -> Caller:
        """SigV4 only (for the cluster admin API): the verified caller, or ``AwsError``."""
        if not has_auth(request.query_string.decode("latin-1"), request.headers):
            raise AwsError(errors.MISSING_AUTHENTICATION_TOKEN, "Request is missing Authentication Token")
        return verify_request(request.method, request.raw_path, request.query_string, request.headers,
                              request.body, self.resolve).identity

    def _handle_eks(self, request: HttpRequest, caller: Caller, region: str, request_id: str) -> HttpResponse:
        assert self.eks is not None
        operation = None
        name = None
        try:
            operation, params = self.eks_protocol.parse(request.method, request.raw_path.decode("latin-1"),
                                                        request.query_string.decode("latin-1"), request.body)
            name = params.get("name")
            self.authorize(caller, "eks", operation, params, request, region)
            output = self.eks.call(caller.account, operation, params)
            status, headers, body = self.eks_protocol.serialize(operation, output, request_id)
            self.audit.record(operation=f"eks:{operation}", principal=caller.arn, access_key_id=caller.access_key_id,
                              source_ip=request.client_ip, decision="allowed", request_id=request_id, cluster=name)
        except AwsError as exc:
            self.audit.record(operation=f"eks:{operation}" if operation else None, principal=caller.arn,
                              access_key_id=caller.access_key_id, source_ip=request.client_ip,
                              decision="denied" if exc.code == "AccessDenied" else "error", error_code=exc.code,
                              request_id=request_id)
            status, headers, body = self.eks_protocol.serialize_error(exc, request_id, {"clusterName": name} if exc.code == "ResourceNotFoundException" else None)
        except Exception:
            log.exception("internal failure in eks:%s (request %s)", operation, request_id)
            exc = AwsError(errors.SERVER_EXCEPTION, "An internal error occurred.")
            status, headers, body = self.eks_protocol.serialize_error(exc, request_id)
        return HttpResponse(status, body, list(headers))

    def _error(self, exc: AwsError, service: str, operation: str | None, caller: Caller | None, request: HttpRequest, request_id: str) -> HttpResponse:
        protocol = self.protocols.get(service) or self.protocols["sts"]
        self.audit.record(operation=f"{service}:{operation}" if operation else None, principal=caller.arn if caller else None,
                          access_key_id=caller.access_key_id if caller else None, source_ip=request.client_ip,
                          decision="denied" if exc.code in ("AccessDenied",) else "error", error_code=exc.code,
                          request_id=request_id)
        return HttpResponse(exc.status, protocol.serialize_error(exc, request_id),
                            [("content-type", "text/xml"), ("x-amzn-requestid", request_id)])

    def run(self, service: str, operation: str, params: dict[str, Any], caller: Caller | None, request: HttpRequest) -> dict[str, Any]:
        if service == "iam":
            assert caller is not None
            return self.iam.call(caller.account, operation, params)
        if operation == "AssumeRoleWithWebIdentity":
            return self.sts.assume_role_with_web_identity(params, source_ip=request.client_ip, secure=request.secure)
        if caller is None:
            raise AwsError(errors.MISSING_AUTHENTICATION_TOKEN, "Request is missing Authentication Token")
        if operation == "GetCallerIdentity":
            return self.sts.get_caller_identity(caller)
        if operation == "AssumeRole":
            if caller.is_root:
                return self.sts.assume_role(caller, params, identity=(), boundary=None, session=None,
                                            source_ip=request.client_ip, secure=request.secure)
            identity, boundary, session = self.caller_policies(caller)
            return self.sts.assume_role(caller, params, identity=identity, boundary=boundary, session=session,
                                        source_ip=request.client_ip, secure=request.secure)
        raise AwsError(errors.INVALID_ACTION, f"Could not find operation {operation} for version 2011-06-15")


def _audit_extra(service: str, operation: str, params: dict[str, Any], output: dict[str, Any]) -> dict[str, Any]:
    """Non-secret facts worth auditing: the role and, for web identity, the token's subject."""
    extra: dict[str, Any] = {}
    if "RoleArn" in params:
        extra["role_arn"] = params["RoleArn"]
    if "RoleName" in params:
        extra["role_name"] = params["RoleName"]
    if operation == "AssumeRoleWithWebIdentity":
        extra["subject"] = output.get("SubjectFromWebIdentityToken")
    if "AssumedRoleUser" in output:
        extra["session_arn"] = output["AssumedRoleUser"].get("Arn")
        extra["temporary_access_key_id"] = output.get("Credentials", {}).get("AccessKeyId")
    return extra
