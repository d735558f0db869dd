"""Web-identity token verification as AWS STS does it for AssumeRoleWithWebIdentity.

Reference sts-and-iam.md §2 and §7 steps 4 and 6–9:

- step 4 ``decode_unverified``: bounded (> 20000 chars refused, the STS model's maximum), strict base64url
  (alphabet only, no padding, canonical), strict JSON objects (no duplicate names, no NaN), header with a
  string ``alg``; ``aud`` missing → ``Missing a required claim: aud`` (real text). This runs before the
  provider lookup, because AWS answers a legacy (aud-less) Kubernetes token with this message, not with
  "No OpenIDConnect provider found" (aws-sdk-ruby#2698).
- step 6 key retrieval through a ``JwksCache`` (network failure → ``IDPCommunicationError``; unusable keys or
  unknown ``kid`` → ``Couldn't retrieve verification key …``; TLS not trusted and no matching thumbprint →
  ``OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint``);
- step 7 signature: only RS256/384/512 and ES256/384/512, and the JWK must fit the algorithm (``kty`` RSA for
  RS*, ``kty`` EC with the matching ``crv`` for ES*; a JWK ``alg``, when present, must equal the token's);
  the check itself is ``cryptography``'s RSASSA-PKCS1-v1_5 / ECDSA verification over the segments already
  decoded here (no second parse; the JWS signing input is the exact received text);
- step 8 audience: ``aud`` (string or list) ∩ client ids, or ``azp`` ∈ client ids → else
  ``Incorrect token audience``;
- step 9 time: integer ``exp``/``nbf``/``iat`` only; ``exp`` (+ leeway) → ``ExpiredTokenException`` with AWS's
  text (sic: no space before the expiry); ``nbf``/``iat`` beyond the leeway in the future →
  ``InvalidIdentityToken``; optional maximum age on ``iat`` → ``ExpiredTokenException: Token too old: <age>``.

Messages marked (inferred) are ours: AWS's real text for those cases is not documented.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from irsa import errors
from irsa.errors import AwsError

if TYPE_CHECKING:
    from irsa.oidc.jwks import JwksCache

MAX_TOKEN_CHARS = 20000  # STS model: WebIdentityToken max length 20000 (botocore 1.20.53)
ALLOWED_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"})
DEFAULT_LEEWAY_SECONDS = 60

MSG_MISSING_AUD = "Missing a required claim: aud"
MSG_INCORRECT_AUDIENCE = "Incorrect token audience"
MSG_KEY_RETRIEVAL = (
    "Couldn't retrieve verification key from your identity provider,  please reference "
    "AssumeRoleWithWebIdentity documentation for requirements"
)
MSG_THUMBPRINT = "OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint"
MSG_MALFORMED = "The web identity token is not a valid JWT"  # (inferred)
MSG_BAD_SIGNATURE = "The web identity token's signature is invalid"  # (inferred)
MSG_UNSUPPORTED_ALG = "The web identity token is signed with an unsupported algorithm"  # (inferred)

_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")


def _invalid(message: str) -> AwsError:
    return AwsError(errors.INVALID_IDENTITY_TOKEN, message)


def _b64url_decode_strict(segment: str) -> bytes:
    """base64url without padding, strictly: only the URL-safe alphabet, no ``=``, canonical encoding."""
    raw = segment.encode("ascii", "strict")
    if len(raw) % 4 == 1 or b"+" in raw or b"/" in raw or b"=" in raw:
        raise ValueError("not base64url")
    standard = raw.translate(_URLSAFE_TO_STANDARD) + b"=" * (-len(raw) % 4)
    decoded = binascii.a2b_base64(standard, strict_mode=True)  # rejects any character outside the alphabet
    # canonical form only: unused trailing bits must be zero (re-encoding gives the same text)
    if binascii.b2a_base64(decoded, newline=False) != standard:
        raise ValueError("non-canonical base64url")
    return decoded


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate member name")
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)


def _json_object(data: bytes) -> dict[str, Any]:
    value = _DECODER.decode(data.decode("utf-8"))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


@dataclass(frozen=True)
class UnverifiedToken:
    """A structurally valid JWS compact token whose signature has NOT been checked yet."""

    raw: str = field(repr=False)
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes = field(repr=False)
    signature: bytes = field(repr=False)

    @property
    def alg(self) -> str:
        return str(self.header["alg"])

    @property
    def kid(self) -> str | None:
        kid = self.header.get("kid")
        return kid if isinstance(kid, str) else None

    @property
    def issuer(self) -> str | None:
        iss = self.claims.get("iss")
        return iss if isinstance(iss, str) else None

    @property
    def subject(self) -> str | None:
        sub = self.claims.get("sub")
        return sub if isinstance(sub, str) else None

    @property
    def audiences(self) -> list[str]:
        """``aud`` as a list (RFC 7519 allows a single string or an array of strings)."""
        aud = self.claims.get("aud")
        if isinstance(aud, str):
            return [aud]
        if isinstance(aud, list):
            return [a for a in aud if isinstance(a, str)]
        return []


@dataclass(frozen=True)
class VerifiedToken:
    """A token whose signature, audience and time claims passed. ``audience`` is the matched client id
    (the response's ``Audience``; also the value for ``<provider>:aud``)."""

    claims: dict[str, Any]
    header: dict[str, Any]
    issuer: str
    subject: str
    audience: str
    audiences: list[str]  # the token's own aud (``<provider>:oaud``)
    azp: str | None
    amr: list[str]
    expires_at: int
    issued_at: int | None
    not_before: int | None
    kid: str
    alg: str


def decode_unverified(token: str, *, require_aud: bool = True) -> UnverifiedToken:
    """Split and decode a compact JWS without verifying it (§7 step 4).

    Leading/trailing whitespace is stripped (STS trims the parameter). Raises
    ``AwsError(InvalidIdentityToken)`` for anything malformed, and ``Missing a required claim: aud`` when
    ``require_aud`` and there is no ``aud``. ``require_aud=False`` is for diagnosis (e.g. recognising a
    legacy Secret token), never for STS.
    """
    if not isinstance(token, str):
        raise _invalid(MSG_MALFORMED)
    token = token.strip()
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise _invalid(MSG_MALFORMED)
    parts = token.split(".")
    if len(parts) != 3 or not parts[0] or not parts[1] or not parts[2]:
        raise _invalid(MSG_MALFORMED)
    try:
        header = _json_object(_b64url_decode_strict(parts[0]))
        claims = _json_object(_b64url_decode_strict(parts[1]))
        signature = _b64url_decode_strict(parts[2])
    except (ValueError, UnicodeError, RecursionError, binascii.Error):
        raise _invalid(MSG_MALFORMED) from None
    alg = header.get("alg")
    if not isinstance(alg, str) or not alg:
        raise _invalid(MSG_MALFORMED)
    if "kid" in header and not isinstance(header["kid"], str):
        raise _invalid(MSG_MALFORMED)
    if "crit" in header:  # we understand no JWS extensions (RFC 7515 §4.1.11)
        raise _invalid(MSG_MALFORMED)
    if require_aud:
        aud = claims.get("aud")
        if aud is None or aud == [] or aud == "":
            raise _invalid(MSG_MISSING_AUD)
        if not (isinstance(aud, str) or (isinstance(aud, list) and all(isinstance(a, str) for a in aud))):
            raise _invalid("Invalid claim: aud must be a string or an array of strings")  # (inferred)
        for name in ("iss", "sub"):
            value = claims.get(name)
            if value is None or value == "":
                raise _invalid(f"Missing a required claim: {name}")  # (inferred, by analogy with aud)
            if not isinstance(value, str):
                raise _invalid(f"Invalid claim: {name} must be a string")  # (inferred)
    signing_input = (parts[0] + "." + parts[1]).encode("ascii")
    return UnverifiedToken(raw=token, header=header, claims=claims, signing_input=signing_input, signature=signature)


def _int_claim(claims: dict[str, Any], name: str, *, required: bool) -> int | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise _invalid(f"Missing a required claim: {name}")  # (inferred)
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        # AWS doc: "Timestamps must be integers or longs"
        raise _invalid(f"Invalid claim: {name} must be an integer NumericDate")  # (inferred)
    return value


def verify_web_identity_token(
    token: UnverifiedToken,
    *,
    client_ids: Sequence[str],
    thumbprints: Sequence[str],
    jwks: "JwksCache",
    now: float,
    leeway_seconds: int = DEFAULT_LEEWAY_SECONDS,
    max_age_seconds: int | None = None,
) -> VerifiedToken:
    """§7 steps 6–9 for a token whose ``iss`` already matched an IAM OIDC provider (step 5).

    ``client_ids``/``thumbprints`` are the provider's; ``now`` is epoch seconds.
    """
    issuer = token.issuer
    if issuer is None:
        raise _invalid("Missing a required claim: iss")  # (inferred)
    alg = token.alg
    if alg not in ALLOWED_ALGORITHMS:
        raise _invalid(MSG_UNSUPPORTED_ALG)

    # step 6: key by kid ("" for a kid-less token, as STS matches it, reference §1.5)
    key = jwks.get_key(issuer, token.kid or "", thumbprints=thumbprints)

    # step 7: the key must fit the algorithm, then the signature
    if not key.accepts(alg):
        raise _invalid(MSG_KEY_RETRIEVAL)
    if not key.verify_signature(alg, token.signing_input, token.signature):
        raise _invalid(MSG_BAD_SIGNATURE)

    claims = token.claims
    # step 8: audience
    audiences = token.audiences
    if not audiences:
        raise _invalid(MSG_MISSING_AUD)
    allowed = set(client_ids)
    azp = claims.get("azp") if isinstance(claims.get("azp"), str) else None
    if azp is not None and azp in allowed:
        matched = azp
    else:
        matched = next((a for a in audiences if a in allowed), None)
        if matched is None:
            raise _invalid(MSG_INCORRECT_AUDIENCE)

    # step 9: time
    exp = _int_claim(claims, "exp", required=True)
    nbf = _int_claim(claims, "nbf", required=False)
    iat = _int_claim(claims, "iat", required=False)
    assert exp is not None
    current = int(now)
    if current >= exp + leeway_seconds:
        raise AwsError(
            errors.EXPIRED_TOKEN_EXCEPTION,
            f"Token expired: current date/time {current} must be before the expiration date/time{exp}",
        )
    if nbf is not None and nbf > current + leeway_seconds:
        raise _invalid(f"Token not yet valid: current date/time {current} is before the not-before date/time {nbf}")
    if iat is not None and iat > current + leeway_seconds:
        raise _invalid(f"Token issued in the future: issued-at date/time {iat} is after current date/time {current}")
    if max_age_seconds is not None and iat is not None and current - iat > max_age_seconds:
        raise AwsError(errors.EXPIRED_TOKEN_EXCEPTION, f"Token too old: {current - iat}")

    amr_claim = claims.get("amr")
    if isinstance(amr_claim, str):
        amr = [amr_claim]
    elif isinstance(amr_claim, list):
        amr = [a for a in amr_claim if isinstance(a, str)]
    else:
        amr = []
    subject = token.subject
    if subject is None:
        raise _invalid("Missing a required claim: sub")  # (inferred)
    return VerifiedToken(
        claims=claims,
        header=token.header,
        issuer=issuer,
        subject=subject,
        audience=matched,
        audiences=audiences,
        azp=azp,
        amr=amr,
        expires_at=exp,
        issued_at=iat,
        not_before=nbf,
        kid=key.kid,
        alg=alg,
    )
