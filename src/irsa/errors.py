"""AWS-shaped errors: one definition of every error code this system returns.

Each code carries its HTTP status and fault side as AWS documents them (see
shared/docs/reference/sts-and-iam.md §1.4, §1.5 and §3). Handlers raise
``AwsError``; the wire layer turns it into the protocol's error envelope.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorCode:
    code: str
    status: int
    sender_fault: bool = True


# --- common to every Query-protocol service -------------------------------------------------
INVALID_CLIENT_TOKEN_ID = ErrorCode("InvalidClientTokenId", 403)
EXPIRED_TOKEN = ErrorCode("ExpiredToken", 403)
SIGNATURE_DOES_NOT_MATCH = ErrorCode("SignatureDoesNotMatch", 403)
INCOMPLETE_SIGNATURE = ErrorCode("IncompleteSignature", 400)
MISSING_AUTHENTICATION_TOKEN = ErrorCode("MissingAuthenticationToken", 403)
REQUEST_EXPIRED = ErrorCode("RequestExpired", 400)
INVALID_ACTION = ErrorCode("InvalidAction", 400)
MISSING_ACTION = ErrorCode("MissingAction", 400)
MISSING_PARAMETER = ErrorCode("MissingParameter", 400)
INVALID_PARAMETER_VALUE = ErrorCode("InvalidParameterValue", 400)
INVALID_PARAMETER_COMBINATION = ErrorCode("InvalidParameterCombination", 400)
VALIDATION_ERROR = ErrorCode("ValidationError", 400)
ACCESS_DENIED = ErrorCode("AccessDenied", 403)
THROTTLING = ErrorCode("Throttling", 400)
INTERNAL_FAILURE = ErrorCode("InternalFailure", 500, sender_fault=False)
SERVICE_UNAVAILABLE = ErrorCode("ServiceUnavailable", 503, sender_fault=False)
REQUEST_ENTITY_TOO_LARGE = ErrorCode("RequestEntityTooLarge", 413)
NOT_FOUND = ErrorCode("NotFound", 404)

# --- STS -----------------------------------------------------------------------------------
INVALID_IDENTITY_TOKEN = ErrorCode("InvalidIdentityToken", 400)
EXPIRED_TOKEN_EXCEPTION = ErrorCode("ExpiredTokenException", 400)
IDP_REJECTED_CLAIM = ErrorCode("IDPRejectedClaim", 403)
IDP_COMMUNICATION_ERROR = ErrorCode("IDPCommunicationError", 400)
MALFORMED_POLICY_DOCUMENT = ErrorCode("MalformedPolicyDocument", 400)
PACKED_POLICY_TOO_LARGE = ErrorCode("PackedPolicyTooLarge", 400)
REGION_DISABLED = ErrorCode("RegionDisabledException", 403)

# --- IAM -----------------------------------------------------------------------------------
NO_SUCH_ENTITY = ErrorCode("NoSuchEntity", 404)
ENTITY_ALREADY_EXISTS = ErrorCode("EntityAlreadyExists", 409)
LIMIT_EXCEEDED = ErrorCode("LimitExceeded", 409)
INVALID_INPUT = ErrorCode("InvalidInput", 400)
DELETE_CONFLICT = ErrorCode("DeleteConflict", 409)
CONCURRENT_MODIFICATION = ErrorCode("ConcurrentModification", 409)
UNMODIFIABLE_ENTITY = ErrorCode("UnmodifiableEntity", 400)
POLICY_NOT_ATTACHABLE = ErrorCode("PolicyNotAttachable", 400)
POLICY_EVALUATION = ErrorCode("PolicyEvaluation", 500, sender_fault=False)
SERVICE_FAILURE = ErrorCode("ServiceFailure", 500, sender_fault=False)
OPEN_ID_IDP_COMMUNICATION_ERROR = ErrorCode("OpenIdIdpCommunicationError", 400)

# --- EKS (REST-JSON) -----------------------------------------------------------------------
RESOURCE_NOT_FOUND = ErrorCode("ResourceNotFoundException", 404)
RESOURCE_IN_USE = ErrorCode("ResourceInUseException", 409)
INVALID_PARAMETER_EXCEPTION = ErrorCode("InvalidParameterException", 400)
INVALID_REQUEST_EXCEPTION = ErrorCode("InvalidRequestException", 400)
SERVER_EXCEPTION = ErrorCode("ServerException", 500, sender_fault=False)


class AwsError(Exception):
    """An error that is answered to the client in AWS's shape."""

    def __init__(self, error: ErrorCode, message: str) -> None:
        super().__init__(f"{error.code}: {message}")
        self.error = error
        self.message = message

    @property
    def code(self) -> str:
        return self.error.code

    @property
    def status(self) -> int:
        return self.error.status

    @property
    def fault(self) -> str:
        return "Sender" if self.error.sender_fault else "Receiver"


def validation_message(member: str, value: object, constraint: str) -> str:
    """AWS's one-fault validation text, e.g. for a bad ``roleSessionName``.

    ``member`` is the lower-camel member name as AWS prints it.
    """
    return f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
