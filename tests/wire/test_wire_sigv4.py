"""SigV4 verifier: the AWS SigV4 test suite, plus botocore- and awscrt-signed requests."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from irsa import errors
from irsa.errors import AwsError
from irsa.wire import sigv4
from irsa.wire.sigv4 import CredentialScope, SignedRequest, verify_request

SUITE = Path(__file__).parent / "aws4_testsuite"
SUITE_KEY = "AKIDEXAMPLE"
SUITE_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SUITE_NOW = datetime(2015, 8, 30, 12, 36, 0, tzinfo=timezone.utc)

AK = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLETOKEN+/=="


@dataclass(frozen=True)
class Ident:
    secret_access_key: str
    token: str | None = None


def resolver(keys: dict[str, str]):
    def resolve(access_key_id: str, token: str | None) -> Ident:
        if access_key_id not in keys:
            raise AwsError(errors.INVALID_CLIENT_TOKEN_ID, "The security token included in the request is invalid.")
        return Ident(keys[access_key_id], token)

    return resolve


# --- the AWS suite --------------------------------------------------------------------------------


def _suite_cases() -> list[Path]:
    return sorted(p.parent / p.stem for p in SUITE.rglob("*.sreq"))


def _parse_sreq(case: Path):
    raw = case.with_suffix(".sreq").read_bytes().decode("utf-8")
    head, _, body = raw.partition("\n\n")
    lines = head.split("\n")
    # A request line may contain spaces in the path ("GET /example space/ HTTP/1.1").
    method, rest = lines[0].split(" ", 1)
    target = rest.rsplit(" ", 1)[0]
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:  # obs-fold continuation
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip())
            continue
        name, _, value = line.partition(":")
        headers.append((name, value))
    headers = [(n, v) for n, v in headers if n.lower() != "authorization"]
    headers.append(("Authorization", case.with_suffix(".authz").read_text().strip()))
    path, _, query = target.partition("?")
    return method, path, query, headers, body.encode("utf-8")


CASES = _suite_cases()


def test_suite_is_present():
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_aws_suite_case(case: Path):
    method, path, query, headers, body = _parse_sreq(case)
    resolve = resolver({SUITE_KEY: SUITE_SECRET})
    if case.name == "post-sts-header-after":
        # The token was added after signing: we require it to be signed (brief, libraries.md §3).
        with pytest.raises(AwsError) as ei:
            verify_request(method, path, query, headers, body, resolve, now=SUITE_NOW)
        assert ei.value.code == "IncompleteSignature"
        return
    result = verify_request(method, path, query, headers, body, resolve, now=SUITE_NOW)
    assert isinstance(result, SignedRequest)
    assert result.scope == CredentialScope(SUITE_KEY, "20150830", "us-east-1", "service")
    # The canonical request and string to sign are the suite's own.
    hmap = sigv4._header_map(headers)
    signed = result.signed_headers
    creq = sigv4.canonical_request(
        method, path, sigv4.canonical_query(sigv4.query_pairs(query)), hmap, signed,
        hashlib.sha256(body).hexdigest(),
    )
    assert creq == case.with_suffix(".creq").read_text()
    assert sigv4.string_to_sign("20150830T123600Z", result.scope, creq) == case.with_suffix(".sts").read_text()


def test_suite_wrong_secret_rejected():
    method, path, query, headers, body = _parse_sreq(SUITE / "get-vanilla" / "get-vanilla")
    with pytest.raises(AwsError) as ei:
        verify_request(method, path, query, headers, body, resolver({SUITE_KEY: SECRET}), now=SUITE_NOW)
    assert ei.value.code == "SignatureDoesNotMatch" and ei.value.status == 403


# --- botocore as a signer ---------------------------------------------------------------------------


def botocore_signed(
    body: bytes = b"Action=GetCallerIdentity&Version=2011-06-15",
    *,
    method: str = "POST",
    url: str = "https://sts.example.test/",
    token: str | None = None,
    region: str = "eu-west-1",
    service: str = "sts",
    extra_headers: dict[str, str] | None = None,
    secret: str = SECRET,
):
    req = AWSRequest(method=method, url=url, data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8", **(extra_headers or {})})
    SigV4Auth(Credentials(AK, secret, token), service, region).add_auth(req)
    prepared = req.prepare()
    from urllib.parse import urlsplit

    parts = urlsplit(prepared.url)
    headers = [(k, v if isinstance(v, str) else v.decode()) for k, v in prepared.headers.items()]
    headers.append(("Host", parts.netloc))
    return method, parts.path or "/", parts.query, headers, prepared.body or b""


def _verify(args, *, now=None, keys=None, **kw):
    method, path, query, headers, body = args
    return verify_request(method, path, query, headers, body, resolver(keys or {AK: SECRET}), now=now, **kw)


def _rejects(args, code: str, **kw) -> AwsError:
    with pytest.raises(AwsError) as ei:
        _verify(args, **kw)
    assert ei.value.code == code, ei.value.message
    return ei.value


def test_botocore_signed_post_verifies():
    result = _verify(botocore_signed(), service="sts")
    assert result.identity.secret_access_key == SECRET
    assert result.scope.region == "eu-west-1" and result.scope.service == "sts"
    assert result.security_token is None and not result.presigned


def test_botocore_signed_get_with_query_verifies():
    args = botocore_signed(b"", method="GET", url="https://iam.example.test/?Version=2010-05-08&Action=ListRoles&X=a%20b&Y=%2B%2F")
    assert _verify(args).scope.service == "sts"


def test_botocore_signed_path_with_escapes_verifies():
    args = botocore_signed(b"{}", url="https://eks.example.test/clusters/my%20cluster/a%2Fb/./c")
    _verify(args)


def test_botocore_signed_with_session_token_verifies():
    result = _verify(botocore_signed(token=TOKEN))
    assert result.security_token == TOKEN
    assert "x-amz-security-token" in result.signed_headers


def test_any_region_accepted():
    for region in ("us-east-1", "cn-north-1", "us-gov-west-1", "xx-made-up-9"):
        assert _verify(botocore_signed(region=region)).scope.region == region


def test_wrong_service_rejected_when_expected():
    _rejects(botocore_signed(service="iam"), "SignatureDoesNotMatch", service="sts")


def test_tampered_body_rejected():
    method, path, query, headers, _ = botocore_signed()
    _rejects((method, path, query, headers, b"Action=CreateAccessKey&UserName=admin&Version=2010-05-08"), "SignatureDoesNotMatch")


def test_body_swap_with_signed_content_sha256_rejected():
    """libraries.md §3: botocore-reuse verifiers accept this swap; we hash the body ourselves."""
    method, path, query, headers, _ = botocore_signed(
        extra_headers={"X-Amz-Content-SHA256": hashlib.sha256(b"Action=GetCallerIdentity&Version=2011-06-15").hexdigest()})
    assert any(k.lower() == "x-amz-content-sha256" for k, _ in headers)
    _rejects((method, path, query, headers, b"Action=CreateAccessKey&UserName=admin"), "SignatureDoesNotMatch")


@pytest.mark.parametrize("value", ["UNSIGNED-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"])
def test_unsigned_or_streaming_payload_rejected(value):
    _rejects(botocore_signed(extra_headers={"X-Amz-Content-SHA256": value}), "SignatureDoesNotMatch")


def test_matching_content_sha256_accepted():
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    _verify(botocore_signed(body, extra_headers={"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()}))


def test_tampered_signed_header_rejected():
    method, path, query, headers, body = botocore_signed()
    headers = [(k, "text/plain" if k.lower() == "content-type" else v) for k, v in headers]
    _rejects((method, path, query, headers, body), "SignatureDoesNotMatch")


def test_tampered_host_rejected():
    method, path, query, headers, body = botocore_signed()
    headers = [(k, "evil.example.test" if k.lower() == "host" else v) for k, v in headers]
    _rejects((method, path, query, headers, body), "SignatureDoesNotMatch")


def test_unsigned_extra_header_is_ignored():
    method, path, query, headers, body = botocore_signed()
    _verify((method, path, query, headers + [("X-Forwarded-For", "1.2.3.4")], body))


def test_wrong_secret_rejected():
    _rejects(botocore_signed(secret="x" * 40), "SignatureDoesNotMatch")


def test_unknown_key_error_comes_from_resolver():
    e = _rejects(botocore_signed(), "InvalidClientTokenId", keys={"AKIAOTHER": SECRET})
    assert e.status == 403


def test_expired_token_error_comes_from_resolver():
    def resolve(ak, token):
        raise AwsError(errors.EXPIRED_TOKEN, "The security token included in the request is expired")

    method, path, query, headers, body = botocore_signed(token=TOKEN)
    with pytest.raises(AwsError) as ei:
        verify_request(method, path, query, headers, body, resolve)
    assert ei.value.code == "ExpiredToken"


def test_sixteen_minutes_old_rejected_fifteen_accepted():
    args = botocore_signed()
    amz = next(v for k, v in args[3] if k.lower() == "x-amz-date")
    signed_at = datetime.strptime(amz, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    e = _rejects(args, "RequestExpired", now=signed_at + timedelta(minutes=16))
    assert e.message.startswith(f"Signature expired: {amz} is now earlier than ")
    _rejects(args, "RequestExpired", now=signed_at - timedelta(minutes=16))
    _verify(args, now=signed_at + timedelta(minutes=15))
    _verify(args, now=signed_at - timedelta(minutes=15))


def test_security_token_not_signed_rejected():
    method, path, query, headers, body = botocore_signed()
    e = _rejects((method, path, query, headers + [("X-Amz-Security-Token", TOKEN)], body), "IncompleteSignature")
    assert "X-Amz-Security-Token" in e.message


def test_no_auth_at_all():
    e = _rejects(("POST", "/", "", [("Host", "sts.example.test")], b"Action=GetCallerIdentity"), "MissingAuthenticationToken")
    assert e.status == 403 and e.message == "Request is missing Authentication Token"


@pytest.mark.parametrize(
    "authz, needle",
    [
        ("AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=abc", "'Credential'"),
        ("AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/sts/aws4_request, Signature=abc", "'SignedHeaders'"),
        ("AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date", "'Signature'"),
        ("AWS4-HMAC-SHA256", "'Credential'"),
        ("AWS AKIDEXAMPLE:abc", "algorithm"),
        ("Bearer abc.def.ghi", "algorithm"),
        ("AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc", "scoped"),
        ("AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/sts/aws4_request, SignedHeaders=x-amz-date, Signature=abc", "'Host'"),
    ],
)
def test_malformed_authorization_is_incomplete_signature(authz, needle):
    headers = [("Host", "sts.example.test"), ("X-Amz-Date", "20150830T123600Z"), ("Authorization", authz)]
    e = _rejects(("GET", "/", "", headers, b""), "IncompleteSignature", now=SUITE_NOW)
    assert needle in e.message and e.status == 400


def test_missing_amz_date_is_incomplete_signature():
    headers = [("Host", "h"), ("Authorization", "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=ab")]
    e = _rejects(("GET", "/", "", headers, b""), "IncompleteSignature")
    assert "X-Amz-Date" in e.message


def test_bad_date_format():
    headers = [("Host", "h"), ("X-Amz-Date", "2015-08-30T12:36:00Z"),
               ("Authorization", "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=ab")]
    e = _rejects(("GET", "/", "", headers, b""), "IncompleteSignature")
    assert "ISO-8601 'basic format'" in e.message


def test_scope_terminator_and_date_checks():
    base = [("Host", "h"), ("X-Amz-Date", "20150830T123600Z")]
    bad_term = base + [("Authorization", "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/sts/aws4_reqest, SignedHeaders=host;x-amz-date, Signature=ab")]
    e = _rejects(("GET", "/", "", bad_term, b""), "SignatureDoesNotMatch", now=SUITE_NOW)
    assert "terminator" in e.message
    bad_date = base + [("Authorization", "AWS4-HMAC-SHA256 Credential=AK/20150831/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=ab")]
    e = _rejects(("GET", "/", "", bad_date, b""), "SignatureDoesNotMatch", now=SUITE_NOW)
    assert "Date in Credential scope does not match" in e.message


def test_repeated_headers_joined_in_order():
    # get-header-key-duplicate from the suite covers the canonical side; here: a reordering breaks it.
    method, path, query, headers, body = _parse_sreq(SUITE / "get-header-key-duplicate" / "get-header-key-duplicate")
    resolve = resolver({SUITE_KEY: SUITE_SECRET})
    verify_request(method, path, query, headers, body, resolve, now=SUITE_NOW)
    reordered = sorted(headers, key=lambda kv: (kv[0].lower() != "my-header1", kv[1]))
    with pytest.raises(AwsError) as ei:
        verify_request(method, path, query, reordered, body, resolve, now=SUITE_NOW)
    assert ei.value.code == "SignatureDoesNotMatch"


def test_signing_key_is_cached():
    sigv4.signing_key.cache_clear()
    _verify(botocore_signed())
    _verify(botocore_signed())
    info = sigv4.signing_key.cache_info()
    assert info.hits >= 1 and info.misses == 1


# --- presigned (query) auth ---------------------------------------------------------------------------


def botocore_presigned(url: str, *, expires: int = 900, token: str | None = None):
    req = AWSRequest(method="GET", url=url)
    SigV4QueryAuth(Credentials(AK, SECRET, token), "sts", "us-east-1", expires=expires).add_auth(req)
    from urllib.parse import urlsplit

    prepared = req.prepare()
    parts = urlsplit(prepared.url)
    headers = [(k, v) for k, v in prepared.headers.items()] + [("Host", parts.netloc)]
    return "GET", parts.path or "/", parts.query, headers, b""


def test_botocore_presigned_get_verifies():
    args = botocore_presigned("https://sts.example.test/?Action=GetCallerIdentity&Version=2011-06-15")
    assert "X-Amz-Signature=" in args[2]
    result = _verify(args)
    assert result.presigned and result.scope.service == "sts"


def test_botocore_presigned_with_token_verifies():
    args = botocore_presigned("https://sts.example.test/?Action=GetCallerIdentity&Version=2011-06-15", token=TOKEN)
    assert _verify(args).security_token == TOKEN


def test_presigned_expired_and_tampered():
    args = botocore_presigned("https://sts.example.test/?Action=GetCallerIdentity&Version=2011-06-15", expires=60)
    amz = [v for k, v in sigv4.query_pairs(args[2]) if k == b"X-Amz-Date"][0].decode()
    signed_at = datetime.strptime(amz, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    _verify(args, now=signed_at + timedelta(seconds=60))
    _rejects(args, "RequestExpired", now=signed_at + timedelta(seconds=61))
    method, path, query, headers, body = args
    _rejects((method, path, query.replace("GetCallerIdentity", "GetSessionToken"), headers, body), "SignatureDoesNotMatch")


def test_header_and_query_auth_together_rejected():
    method, path, query, headers, body = botocore_presigned("https://sts.example.test/?Action=GetCallerIdentity&Version=2011-06-15")
    _rejects((method, path, query, headers + [("Authorization", "AWS4-HMAC-SHA256 x")], body), "IncompleteSignature")


# --- awscrt: an independent signer ---------------------------------------------------------------------


def _crt_sign(body: bytes, *, query_auth: bool = False, token: str | None = None, path: str = "/"):
    from awscrt.auth import (
        AwsCredentialsProvider,
        AwsSignatureType,
        AwsSignedBodyHeaderType,
        AwsSigningAlgorithm,
        AwsSigningConfig,
        aws_sign_request,
    )
    from awscrt.http import HttpHeaders, HttpRequest

    provider = AwsCredentialsProvider.new_static(AK, SECRET, token)
    config = AwsSigningConfig(
        algorithm=AwsSigningAlgorithm.V4,
        signature_type=AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS if query_auth else AwsSignatureType.HTTP_REQUEST_HEADERS,
        credentials_provider=provider,
        region="eu-central-1",
        service="iam",
        signed_body_header_type=AwsSignedBodyHeaderType.NONE,
        expiration_in_seconds=300 if query_auth else None,
    )
    method = "GET" if query_auth else "POST"
    headers = HttpHeaders([("Host", "iam.example.test"), ("Content-Type", "application/x-www-form-urlencoded")])
    req = HttpRequest(method, path, headers, io.BytesIO(body))
    aws_sign_request(req, config).result(timeout=10)
    raw_path, _, query = req.path.partition("?")
    return method, raw_path, query, list(req.headers), body


def test_awscrt_signed_header_auth_verifies():
    args = _crt_sign(b"Action=ListRoles&Version=2010-05-08")
    result = _verify(args, service="iam")
    assert result.scope.region == "eu-central-1"


def test_awscrt_signed_with_token_and_path_verifies():
    args = _crt_sign(b"{}", token=TOKEN, path="/a/./b//c%20d/")
    assert _verify(args).security_token == TOKEN


def test_awscrt_presigned_verifies_and_tamper_fails():
    args = _crt_sign(b"", query_auth=True, path="/?Action=GetCallerIdentity&Version=2011-06-15")
    assert _verify(args).presigned
    method, path, query, headers, body = args
    _rejects((method, path, query.replace("2011-06-15", "2011-06-16"), headers, body), "SignatureDoesNotMatch")


def test_asgi_byte_headers_and_bytes_path_accepted():
    method, path, query, headers, body = botocore_signed(url="https://sts.example.test/a%20b")
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    assert sigv4.has_auth(query, raw)
    assert verify_request(method, path.encode(), query.encode(), raw, body, resolver({AK: SECRET})).scope.access_key_id == AK


def test_security_token_in_query_with_header_auth():
    args = botocore_signed(b"", method="GET", url=f"https://sts.example.test/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Security-Token={TOKEN.replace('+', '%2B').replace('/', '%2F').replace('=', '%3D')}")
    assert _verify(args).security_token == TOKEN


def test_presigned_expires_bounds_and_header_order():
    method, path, query, headers, body = botocore_presigned("https://sts.example.test/?Action=GetCallerIdentity&Version=2011-06-15")
    too_long = "&".join(p if not p.startswith("X-Amz-Expires=") else "X-Amz-Expires=604801" for p in query.split("&"))
    assert "X-Amz-Expires=604801" in too_long
    _rejects((method, path, too_long, headers, body), "IncompleteSignature")
    bad = "&".join(p if not p.startswith("X-Amz-Expires=") else "X-Amz-Expires=-5" for p in query.split("&"))
    _rejects((method, path, bad, headers, body), "IncompleteSignature")
    unsorted = [("Host", "h"), ("X-Amz-Date", "20150830T123600Z"),
                ("Authorization", "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/sts/aws4_request, SignedHeaders=x-amz-date;host, Signature=ab")]
    _rejects(("GET", "/", "", unsorted, b""), "IncompleteSignature", now=SUITE_NOW)


def test_naive_now_is_utc():
    method, path, query, headers, body = _parse_sreq(SUITE / "get-vanilla" / "get-vanilla")
    verify_request(method, path, query, headers, body, resolver({SUITE_KEY: SUITE_SECRET}), now=SUITE_NOW.replace(tzinfo=None))


def test_non_ascii_or_surrogate_credential_is_incomplete_signature():
    for cred in ("AK\udcff/20150830/us-east-1/sts/aws4_request", "AKé/20150830/us-east-1/sts/aws4_request"):
        headers = [("Host", "h"), ("X-Amz-Date", "20150830T123600Z"),
                   ("Authorization", f"AWS4-HMAC-SHA256 Credential={cred}, SignedHeaders=host;x-amz-date, Signature=ab")]
        _rejects(("GET", "/", "", headers, b""), "IncompleteSignature", now=SUITE_NOW)
