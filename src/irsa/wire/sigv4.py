"""AWS Signature Version 4 verification (server side), standard library only.

Two forms are accepted:

* header auth: ``Authorization: AWS4-HMAC-SHA256 Credential=AK/date/region/service/aws4_request,
  SignedHeaders=a;b, Signature=hex`` with an ``X-Amz-Date`` header;
* query auth (presigned URLs): ``X-Amz-Algorithm``, ``X-Amz-Credential``, ``X-Amz-Date``,
  ``X-Amz-Expires``, ``X-Amz-SignedHeaders``, ``X-Amz-Signature`` in the query string.

Rules (shared/docs/reference/libraries.md §3, sts-and-iam.md §1.5, §5.7):

* the body is always hashed here; a present ``X-Amz-Content-SHA256`` must equal sha256(body),
  so ``UNSIGNED-PAYLOAD`` and the streaming values are refused (``SignatureDoesNotMatch``, as real
  STS answers for both);
* scope: terminator ``aws4_request``, scope date == ``X-Amz-Date[:8]``, any region, optional
  expected service; ``host`` must be signed; an ``X-Amz-Security-Token`` header must be signed;
* clock: ``|now - X-Amz-Date| <= 15 min`` else ``RequestExpired``;
* path: RFC 3986 dot-segment removal and slash collapsing, then every segment URI-encoded (the
  non-S3 rule: the path as sent is encoded once more, so ``%`` becomes ``%25``);
* query: decoded and re-encoded canonically, sorted by key then value;
* only the signed headers are used, repeated headers joined with ``,`` in arrival order;
* signatures are compared with ``hmac.compare_digest``; signing keys are derived once per
  (secret, date, region, service) and cached.

Decisions (VERIFY items, documented here):

* structural faults (missing Credential/SignedHeaders/Signature, malformed credential, bad date
  format, ``host`` or the security token not signed) are ``IncompleteSignature`` (400);
* scope content faults (terminator, date, service) and payload-hash faults are
  ``SignatureDoesNotMatch`` (403), like a wrong signature;
* a request carrying both header auth and query auth is ``IncompleteSignature``;
* no auth at all is ``MissingAuthenticationToken`` (403).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Generic, Protocol, TypeVar
from urllib.parse import quote_from_bytes, unquote_to_bytes

from irsa import errors
from irsa.errors import AwsError

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
MAX_SKEW = timedelta(minutes=15)
MAX_PRESIGN_EXPIRES = 604800  # 7 days, the SigV4 maximum for X-Amz-Expires
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_AUTH_HEADER = 8192

SIGNATURE_MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
MISSING_TOKEN_MESSAGE = "Request is missing Authentication Token"

_PRESIGN_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")
_PRESIGN_KEYS = tuple(name.encode() for name in _PRESIGN_PARAMS)


class HasSecret(Protocol):
    secret_access_key: str


T = TypeVar("T", bound=HasSecret)


@dataclass(frozen=True)
class CredentialScope:
    access_key_id: str
    date: str  # YYYYMMDD
    region: str
    service: str

    @property
    def scope(self) -> str:
        """``date/region/service/aws4_request`` as it appears in the string to sign."""
        return f"{self.date}/{self.region}/{self.service}/{TERMINATOR}"


@dataclass(frozen=True)
class SignedRequest(Generic[T]):
    identity: T
    scope: CredentialScope
    signed_headers: tuple[str, ...]
    security_token: str | None
    request_time: datetime
    presigned: bool


@dataclass(frozen=True)
class _AuthParts:
    credential: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str
    presigned: bool
    expires: int | None
    security_token: str | None


# --- canonical pieces -------------------------------------------------------------------------


def _uri_encode(data: bytes) -> str:
    # quote_from_bytes always keeps A-Z a-z 0-9 - _ . ~ (RFC 3986 unreserved) and nothing else here.
    return quote_from_bytes(data, safe="")


def normalize_path(path: str) -> str:
    """RFC 3986 §5.2.4 dot-segment removal plus collapsing of empty segments (``//``)."""
    if not path:
        return "/"
    out: list[str] = []
    for seg in path.split("/"):
        if not seg or seg == ".":
            continue
        if seg == "..":
            if out:
                out.pop()
            continue
        out.append(seg)
    head = "/" if path.startswith("/") else ""
    tail = "/" if path.endswith("/") and out else ""
    return head + "/".join(out) + tail


def canonical_uri(raw_path: str) -> str:
    """The canonical URI of a non-S3 request: normalised, then each segment URI-encoded.

    ``raw_path`` is the path exactly as sent (percent escapes kept), e.g. ASGI's ``raw_path``
    decoded with ``utf-8``/``surrogateescape``.
    """
    normalized = normalize_path(raw_path)
    return "/".join(
        _uri_encode(seg.encode("utf-8", "surrogateescape")) for seg in normalized.split("/")
    )


def _decode_component(text: str) -> bytes:
    return unquote_to_bytes(text.replace("+", " ").encode("utf-8", "surrogateescape"))


def query_pairs(raw_query: str) -> list[tuple[bytes, bytes]]:
    """Decoded ``(key, value)`` byte pairs of a raw query string, blanks kept."""
    pairs: list[tuple[bytes, bytes]] = []
    if not raw_query:
        return pairs
    for item in raw_query.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        pairs.append((_decode_component(key), _decode_component(value)))
    return pairs


def canonical_query(pairs: Sequence[tuple[bytes, bytes]], *, exclude: bytes | None = None) -> str:
    encoded = sorted((_uri_encode(k), _uri_encode(v)) for k, v in pairs if k != exclude)
    return "&".join(f"{k}={v}" for k, v in encoded)


def _header_map(headers: Sequence[tuple[str, str]] | Sequence[tuple[bytes, bytes]]) -> dict[str, list[str]]:
    """Lower-cased name -> values in arrival order; ASGI byte pairs are decoded as latin-1."""
    out: dict[str, list[str]] = {}
    for name, value in headers:
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        out.setdefault(name.strip().lower(), []).append(value)
    return out


def _trim_all(value: str) -> str:
    return " ".join(value.split())


def canonical_request(
    method: str,
    raw_path: str,
    query: str,
    header_map: dict[str, list[str]],
    signed_headers: Sequence[str],
    payload_hash: str,
) -> str:
    lines = [f"{name}:{','.join(_trim_all(v) for v in header_map.get(name, ()))}" for name in signed_headers]
    return "\n".join(
        [
            method.upper(),
            canonical_uri(raw_path),
            query,
            "\n".join(lines) + "\n",
            ";".join(signed_headers),
            payload_hash,
        ]
    )


def string_to_sign(amz_date: str, scope: CredentialScope, creq: str) -> str:
    digest = hashlib.sha256(creq.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope.scope}\n{digest}"


@lru_cache(maxsize=4096)
def signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret_access_key).encode("utf-8")
    for part in (date, region, service, TERMINATOR):
        key = hmac.digest(key, part.encode("utf-8"), "sha256")
    return key


def sign(secret_access_key: str, scope: CredentialScope, sts: str) -> str:
    key = signing_key(secret_access_key, scope.date, scope.region, scope.service)
    return hmac.digest(key, sts.encode("utf-8"), "sha256").hex()


# --- parsing the auth material ------------------------------------------------------------------


def _incomplete(message: str) -> AwsError:
    return AwsError(errors.INCOMPLETE_SIGNATURE, message)


def _mismatch(message: str = SIGNATURE_MISMATCH_MESSAGE) -> AwsError:
    return AwsError(errors.SIGNATURE_DOES_NOT_MATCH, message)


def _parse_header_auth(value: str, header_map: dict[str, list[str]], query_token: str | None) -> _AuthParts:
    if len(value) > MAX_AUTH_HEADER:
        raise _incomplete("Authorization header is too long.")
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise _incomplete(f"Unsupported AWS 'algorithm': '{algorithm[:64]}'.")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        name, sep, val = item.strip().partition("=")
        if sep and name not in fields:
            fields[name] = val.strip()
    problems = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not fields.get(name)
    ]
    dates = header_map.get("x-amz-date")
    if not dates:
        problems.append("Authorization header requires existence of a 'X-Amz-Date' header.")
    if problems:
        raise _incomplete(" ".join(problems))
    tokens = header_map.get("x-amz-security-token")
    return _AuthParts(
        credential=fields["Credential"],
        signed_headers=tuple(fields["SignedHeaders"].split(";")),
        signature=fields["Signature"],
        amz_date=dates[0].strip() if dates else "",
        presigned=False,
        expires=None,
        security_token=tokens[0].strip() if tokens else query_token,
    )


def _parse_query_auth(params: dict[bytes, bytes]) -> _AuthParts:
    def get(name: str) -> str | None:
        raw = params.get(name.encode())
        return None if raw is None else raw.decode("utf-8", "replace")

    algorithm = get("X-Amz-Algorithm")
    if algorithm != ALGORITHM:
        raise _incomplete(f"Unsupported AWS 'algorithm': '{(algorithm or '')[:64]}'.")
    problems = [
        f"AWS query-string parameters must include '{name}'."
        for name in ("X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date", "X-Amz-Expires")
        if not get(name)
    ]
    if problems:
        raise _incomplete(" ".join(problems) + " Re-examine the query-string parameters.")
    expires_text = get("X-Amz-Expires") or ""
    if not expires_text.isdigit() or len(expires_text) > 7:
        raise _incomplete("X-Amz-Expires must be a non-negative integer.")
    expires = int(expires_text)
    if expires > MAX_PRESIGN_EXPIRES:
        raise _incomplete("X-Amz-Expires must be less than a week (in seconds) that is 604800.")
    return _AuthParts(
        credential=get("X-Amz-Credential") or "",
        signed_headers=tuple((get("X-Amz-SignedHeaders") or "").split(";")),
        signature=get("X-Amz-Signature") or "",
        amz_date=get("X-Amz-Date") or "",
        presigned=True,
        expires=expires,
        security_token=get("X-Amz-Security-Token"),
    )


def _parse_amz_date(text: str) -> datetime:
    digits = text[:8] + text[9:15]
    if len(text) == 16 and text[8] == "T" and text[15] == "Z" and digits.isascii() and digits.isdigit():
        try:
            return datetime(
                int(text[0:4]), int(text[4:6]), int(text[6:8]),
                int(text[9:11]), int(text[11:13]), int(text[13:15]), tzinfo=timezone.utc,
            )
        except ValueError:
            pass
    raise _incomplete(
        f"Date must be in ISO-8601 'basic format'. Got '{text[:32]}'. See http://en.wikipedia.org/wiki/ISO_8601"
    )


def _parse_scope(credential: str) -> CredentialScope:
    parts = credential.split("/")
    if len(parts) != 5 or not all(parts) or not credential.isascii() or len(credential) > 512:
        raise _incomplete(
            "Credential should be scoped to a valid region, service and terminator: "
            "'<access-key-id>/<YYYYMMDD>/<region>/<service>/aws4_request'."
        )
    if parts[4] != TERMINATOR:
        raise _mismatch(f"Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{parts[4][:32]}'.")
    return CredentialScope(parts[0], parts[1], parts[2], parts[3])


def _fmt(ts: datetime) -> str:
    return ts.strftime("%Y%m%dT%H%M%SZ")


def _check_clock(request_time: datetime, now: datetime, parts: _AuthParts) -> None:
    if parts.presigned:
        assert parts.expires is not None
        if now > request_time + timedelta(seconds=parts.expires):
            raise AwsError(errors.REQUEST_EXPIRED, "Request has expired.")
        if request_time - now > MAX_SKEW:
            raise AwsError(
                errors.REQUEST_EXPIRED,
                f"Signature not yet current: {_fmt(request_time)} is still later than "
                f"{_fmt(now + MAX_SKEW)} ({_fmt(now)} + 15 min.)",
            )
        return
    if now - request_time > MAX_SKEW:
        raise AwsError(
            errors.REQUEST_EXPIRED,
            f"Signature expired: {_fmt(request_time)} is now earlier than {_fmt(now - MAX_SKEW)} ({_fmt(now)} - 15 min.)",
        )
    if request_time - now > MAX_SKEW:
        raise AwsError(
            errors.REQUEST_EXPIRED,
            f"Signature not yet current: {_fmt(request_time)} is still later than {_fmt(now + MAX_SKEW)} ({_fmt(now)} + 15 min.)",
        )


def has_auth(raw_query: str, headers: Sequence[tuple[str, str]]) -> bool:
    """True when the request carries any SigV4 material (header or query)."""
    for name, _ in headers:  # the names as _header_map keys them, without building the map (hot path)
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if name.strip().lower() == "authorization":
            return True
    return any(k in _PRESIGN_KEYS for k, _ in query_pairs(raw_query))


# --- the verifier -------------------------------------------------------------------------------


def verify_request(
    method: str,
    raw_path: str | bytes,
    raw_query: str | bytes,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    resolve: Callable[[str, str | None], T],
    *,
    now: datetime | None = None,
    service: str | None = None,
) -> SignedRequest[T]:
    """Verify a SigV4-signed request; raise ``AwsError`` with AWS's code when it is not valid.

    ``resolve(access_key_id, security_token_or_None)`` returns the caller's identity (any object
    with ``secret_access_key``) or raises ``AwsError`` (``InvalidClientTokenId``, ``ExpiredToken``).
    ``service``, when given, is the only service name accepted in the credential scope.
    """
    if isinstance(raw_path, bytes):
        raw_path = raw_path.decode("utf-8", "surrogateescape")
    if isinstance(raw_query, bytes):
        raw_query = raw_query.decode("utf-8", "surrogateescape")
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    header_map = _header_map(headers)
    pairs = query_pairs(raw_query)
    query_params: dict[bytes, bytes] = {}
    for k, v in pairs:
        query_params.setdefault(k, v)
    auth_values = header_map.get("authorization")
    has_query_auth = any(name in query_params for name in _PRESIGN_KEYS)

    if auth_values and has_query_auth:
        raise _incomplete(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter "
            "or the Authorization header should be specified."
        )
    if auth_values:
        query_token = query_params.get(b"X-Amz-Security-Token")
        parts = _parse_header_auth(
            auth_values[0], header_map, None if query_token is None else query_token.decode("utf-8", "replace")
        )
        query = canonical_query(pairs)
    elif has_query_auth:
        parts = _parse_query_auth(query_params)
        query = canonical_query(pairs, exclude=b"X-Amz-Signature")
    else:
        raise AwsError(errors.MISSING_AUTHENTICATION_TOKEN, MISSING_TOKEN_MESSAGE)

    scope = _parse_scope(parts.credential)
    signed = parts.signed_headers
    if any(not h or h != h.lower() for h in signed) or list(signed) != sorted(set(signed)):
        raise _incomplete("SignedHeaders must be lowercase header names, sorted and separated by ';'.")
    if "host" not in signed:
        raise _incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    if not parts.presigned and "x-amz-security-token" in header_map and "x-amz-security-token" not in signed:
        raise _incomplete("'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.")
    missing = [h for h in signed if h not in header_map]
    if missing:
        raise _mismatch()
    request_time = _parse_amz_date(parts.amz_date)
    if scope.date != parts.amz_date[:8]:
        raise _mismatch(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{scope.date[:16]}' != '{parts.amz_date[:8]}', from '{parts.amz_date}'."
        )
    if service is not None and scope.service != service:
        raise _mismatch(f"Credential should be scoped to correct service: '{service}'. ")
    _check_clock(request_time, now, parts)

    payload_hash = hashlib.sha256(body).hexdigest()
    declared = header_map.get("x-amz-content-sha256")
    if declared is not None and declared[0].strip() != payload_hash:
        raise _mismatch()

    identity = resolve(scope.access_key_id, parts.security_token)
    creq = canonical_request(method, raw_path, query, header_map, signed, payload_hash)
    expected = sign(identity.secret_access_key, scope, string_to_sign(parts.amz_date, scope, creq))
    if not hmac.compare_digest(expected.encode(), parts.signature.encode("utf-8", "replace")):
        raise _mismatch()
    return SignedRequest(
        identity=identity,
        scope=scope,
        signed_headers=signed,
        security_token=parts.security_token,
        request_time=request_time,
        presigned=parts.presigned,
    )
