"""Web-identity token verification: every failure mode with AWS's code and message (sts-and-iam.md §1.4,
§2, §7), against a real HTTPS issuer."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest

from irsa.errors import AwsError
from irsa.oidc.documents import jwks_document
from irsa.oidc.jwks import HttpsJwksFetcher, JwksCache
from irsa.oidc.keys import generate_signing_key
from irsa.oidc.verify import MAX_TOKEN_CHARS, UnverifiedToken, decode_unverified, verify_web_identity_token
from tests.support.issuer import IssuerServer

# AWS's real texts (reference sts-and-iam.md §1.4); written out here, not imported from the code under test
MISSING_AUD = "Missing a required claim: aud"
INCORRECT_AUDIENCE = "Incorrect token audience"
KEY_RETRIEVAL = (
    "Couldn't retrieve verification key from your identity provider,  please reference "
    "AssumeRoleWithWebIdentity documentation for requirements"
)
THUMBPRINT = "OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint"
CLIENT_IDS = ["sts.amazonaws.com"]


@pytest.fixture
def cache(issuer_server: IssuerServer) -> JwksCache:
    return JwksCache(HttpsJwksFetcher(ca_bundle=issuer_server.ca_bundle, use_system_cas=False))


def _verify(token: str, cache: JwksCache, *, now: float | None = None, client_ids=CLIENT_IDS,  # type: ignore[no-untyped-def]
            thumbprints=(), **kw):
    return verify_web_identity_token(
        decode_unverified(token), client_ids=client_ids, thumbprints=list(thumbprints), jwks=cache,
        now=time.time() if now is None else now, **kw,
    )


def _err(fn, *args, **kw) -> AwsError:  # type: ignore[no-untyped-def]
    with pytest.raises(AwsError) as info:
        fn(*args, **kw)
    return info.value


def _b64(obj: object) -> str:
    raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _with_header(token: str, header: dict) -> str:
    _, p, s = token.split(".")
    return _b64(header) + "." + p + "." + s


# --- happy paths ------------------------------------------------------------------------------


def test_valid_rsa_token(issuer_server: IssuerServer, cache: JwksCache) -> None:
    now = int(time.time())
    token = issuer_server.mint(sub="system:serviceaccount:team:app", now=now, amr=["pwd"])
    v = _verify(token, cache, now=now)
    assert v.issuer == issuer_server.issuer
    assert v.subject == "system:serviceaccount:team:app"
    assert v.audience == "sts.amazonaws.com"
    assert v.audiences == ["sts.amazonaws.com"]
    assert v.kid == issuer_server.signing_key.kid and v.alg == "RS256"
    assert v.expires_at == now + 3600 and v.issued_at == now and v.not_before == now
    assert v.amr == ["pwd"] and v.azp is None
    assert v.claims["kubernetes.io"]["namespace"] == "team"


def test_valid_es256_token(tmp_path: Path) -> None:
    with IssuerServer(tmp_path, key_type="EC") as server:
        cache = JwksCache(HttpsJwksFetcher(ca_bundle=server.ca_bundle))
        v = _verify(server.mint(), cache)
        assert v.alg == "ES256"


def test_audience_string_list_and_azp(issuer_server: IssuerServer, cache: JwksCache) -> None:
    assert _verify(issuer_server.mint(aud="sts.amazonaws.com"), cache).audience == "sts.amazonaws.com"
    v = _verify(issuer_server.mint(aud=["other", "sts.amazonaws.com"]), cache, client_ids=["x", "sts.amazonaws.com"])
    assert v.audience == "sts.amazonaws.com" and v.audiences == ["other", "sts.amazonaws.com"]
    v = _verify(issuer_server.mint(aud="web-app", azp="sts.amazonaws.com"), cache)
    assert v.audience == "sts.amazonaws.com" and v.azp == "sts.amazonaws.com" and v.audiences == ["web-app"]


def test_incorrect_audience(issuer_server: IssuerServer, cache: JwksCache) -> None:
    e = _err(_verify, issuer_server.mint(aud=["something-else"], azp="nope"), cache)
    assert (e.code, e.message, e.status) == ("InvalidIdentityToken", INCORRECT_AUDIENCE, 400)


def test_missing_aud_before_anything_else(issuer_server: IssuerServer) -> None:
    # a legacy Secret token: no aud → AWS answers "Missing a required claim: aud" (aws-sdk-ruby#2698)
    for token in (issuer_server.mint(aud=None), issuer_server.mint(aud=[])):
        e = _err(decode_unverified, token)
        assert (e.code, e.message) == ("InvalidIdentityToken", MISSING_AUD)
    assert decode_unverified(issuer_server.mint(aud=None), require_aud=False).audiences == []


# --- malformed tokens (step 4) ----------------------------------------------------------------


def _malformed_tokens(good: str) -> list[str]:
    h, p, s = good.split(".")
    return [
        "",
        "abc",
        h + "." + p,
        h + "." + p + "." + s + ".x",
        h + "." + p + ".",
        "." + p + "." + s,
        h + "=." + p + "." + s,  # padding
        h + "." + p + "+" + "." + s,  # non-url alphabet
        h + "." + p + "." + s + "!",
        _b64(b"not json") + "." + p + "." + s,
        _b64([1, 2]) + "." + p + "." + s,  # header not an object
        _b64({"kid": "x"}) + "." + p + "." + s,  # no alg
        _b64({"alg": 5}) + "." + p + "." + s,
        _b64({"alg": "RS256", "kid": 7}) + "." + p + "." + s,
        _b64({"alg": "RS256", "crit": ["exp"]}) + "." + p + "." + s,
        _b64(b'{"alg":"RS256","alg":"none"}') + "." + p + "." + s,  # duplicate member
        h + "." + _b64(b'{"aud":"a","aud":"b","iss":"x","sub":"y"}') + "." + s,
        h + "." + _b64(b'{"aud":"a","exp":NaN,"iss":"x","sub":"y"}') + "." + s,
        h + "." + _b64(b"[" * 5000 + b"]" * 5000) + "." + s,
        h + "." + _b64(b"\xff\xfe") + "." + s,  # not UTF-8
        "a" * (MAX_TOKEN_CHARS + 1),
        h + "." + p + "." + "A" * (MAX_TOKEN_CHARS - len(h) - len(p)),  # just over the bound
    ]


def test_malformed_tokens_are_invalid_identity_token(issuer_server: IssuerServer) -> None:
    good = issuer_server.mint()
    decode_unverified(good)
    for bad in _malformed_tokens(good):
        e = _err(decode_unverified, bad)
        assert e.code == "InvalidIdentityToken", bad[:80]


def test_non_canonical_base64_refused(issuer_server: IssuerServer) -> None:
    h, p, s = issuer_server.mint().split(".")
    # change the last signature char so only the unused low bits differ: same bytes, other text
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(s[-1])
    unused_bits = {2: 4, 3: 2}.get(len(s) % 4, 0)  # 2 chars → 4 unused bits, 3 chars → 2
    assert unused_bits, "RSA-2048 signature length leaves unused bits"
    forged = s[:-1] + alphabet[last ^ 1]
    assert forged != s
    e = _err(decode_unverified, f"{h}.{p}.{forged}")
    assert e.code == "InvalidIdentityToken"


def test_whitespace_around_token_is_stripped(issuer_server: IssuerServer, cache: JwksCache) -> None:
    assert _verify("  \n" + issuer_server.mint() + "\n", cache).subject


def test_missing_iss_or_sub(issuer_server: IssuerServer) -> None:
    assert _err(decode_unverified, issuer_server.mint(iss=None)).message == "Missing a required claim: iss"
    assert _err(decode_unverified, issuer_server.mint(sub="", iss=issuer_server.issuer)).code == "InvalidIdentityToken"


# --- algorithms and signatures (steps 6-7) ---------------------------------------------------


def test_alg_none_hs256_ps256_rejected_without_fetching(issuer_server: IssuerServer, cache: JwksCache) -> None:
    assert _err(decode_unverified, issuer_server.mint(sign="none")).code == "InvalidIdentityToken"  # empty sig
    for token in (
        issuer_server.mint(sign="none", signature=b"\x00" * 32),
        issuer_server.mint(sign="hs256-public"),
        issuer_server.mint(alg="PS256"),
        _with_header(issuer_server.mint(), {"alg": "RS1", "kid": issuer_server.signing_key.kid}),
    ):
        e = _err(_verify, token, cache)
        assert e.code == "InvalidIdentityToken"
    assert cache.fetch_count == 0 and issuer_server.requests == []


def test_tampered_payload_fails_signature(issuer_server: IssuerServer, cache: JwksCache) -> None:
    e = _err(_verify, issuer_server.mint(tamper=True), cache)
    assert e.code == "InvalidIdentityToken" and e.message != KEY_RETRIEVAL


def test_published_kid_signed_by_other_key(issuer_server: IssuerServer, cache: JwksCache) -> None:
    other = generate_signing_key("RSA")
    e = _err(_verify, issuer_server.mint(key=other, kid=issuer_server.signing_key.kid), cache)
    assert e.code == "InvalidIdentityToken" and e.message != KEY_RETRIEVAL


def test_unknown_kid_is_key_retrieval_error(issuer_server: IssuerServer, cache: JwksCache) -> None:
    e = _err(_verify, issuer_server.mint(key=generate_signing_key("RSA")), cache)
    assert (e.code, e.message) == ("InvalidIdentityToken", KEY_RETRIEVAL)
    assert "  please" in e.message  # AWS's double space


def test_alg_must_fit_the_jwk(tmp_path: Path) -> None:
    with IssuerServer(tmp_path / "rsa") as rsa_server, IssuerServer(tmp_path / "ec", key_type="EC") as ec_server:
        rsa_cache = JwksCache(HttpsJwksFetcher(ca_bundle=rsa_server.ca_bundle))
        ec_cache = JwksCache(HttpsJwksFetcher(ca_bundle=ec_server.ca_bundle))
        # an ES256 header naming the RSA key
        e = _err(_verify, rsa_server.mint(alg="ES256", sign="key", key=ec_server.signing_key,
                                          kid=rsa_server.signing_key.kid), rsa_cache)
        assert (e.code, e.message) == ("InvalidIdentityToken", KEY_RETRIEVAL)
        # ES384 with a P-256 key
        e = _err(_verify, _with_header(ec_server.mint(), {"alg": "ES384", "kid": ec_server.signing_key.kid}), ec_cache)
        assert (e.code, e.message) == ("InvalidIdentityToken", KEY_RETRIEVAL)
        # the JWK says RS256; an RS384 signature by the very same key is refused
        e = _err(_verify, rsa_server.mint(alg="RS384"), rsa_cache)
        assert (e.code, e.message) == ("InvalidIdentityToken", KEY_RETRIEVAL)
        # a JWK without alg (irsa-operator publishes such) accepts any RS* signature of its key
        jwks = jwks_document(rsa_server.published)
        for jwk in jwks["keys"]:
            del jwk["alg"]
        rsa_server.jwks_override = jwks
        fresh = JwksCache(HttpsJwksFetcher(ca_bundle=rsa_server.ca_bundle))
        assert _verify(rsa_server.mint(alg="RS384"), fresh).alg == "RS384"
        assert _verify(rsa_server.mint(alg="RS512"), fresh).alg == "RS512"


def test_kidless_token_matches_empty_kid(issuer_server: IssuerServer) -> None:
    # STS treats a missing kid as "" and needs a JWK with "kid": "" (reference issuer-cli §1.5)
    jwks = jwks_document(issuer_server.published)
    cache = JwksCache(HttpsJwksFetcher(ca_bundle=issuer_server.ca_bundle))
    token = issuer_server.mint(header={"kid": None})
    assert "kid" not in decode_unverified(token).header
    e = _err(_verify, token, cache)
    assert e.message == KEY_RETRIEVAL
    jwks["keys"].append(dict(jwks["keys"][0], kid=""))
    issuer_server.jwks_override = jwks
    cache.invalidate()
    assert _verify(token, cache).kid == ""


# --- time (step 9) ----------------------------------------------------------------------------


def test_expired_token_message(issuer_server: IssuerServer, cache: JwksCache) -> None:
    now = 1_900_000_000
    token = issuer_server.mint(now=now - 7200, exp_offset=3600)  # exp = now - 3600
    e = _err(_verify, token, cache, now=now)
    assert e.code == "ExpiredTokenException" and e.status == 400
    assert e.message == f"Token expired: current date/time {now} must be before the expiration date/time{now - 3600}"


def test_exp_leeway(issuer_server: IssuerServer, cache: JwksCache) -> None:
    now = 1_900_000_000
    token = issuer_server.mint(now=now - 3630, exp_offset=3600)  # expired 30 s ago
    assert _verify(token, cache, now=now, leeway_seconds=60).subject
    assert _err(_verify, token, cache, now=now, leeway_seconds=0).code == "ExpiredTokenException"


def test_nbf_and_iat_in_the_future(issuer_server: IssuerServer, cache: JwksCache) -> None:
    now = 1_900_000_000
    assert _verify(issuer_server.mint(now=now, nbf=now + 30), cache, now=now).subject  # within leeway
    e = _err(_verify, issuer_server.mint(now=now, nbf=now + 120), cache, now=now)
    assert e.code == "InvalidIdentityToken"
    e = _err(_verify, issuer_server.mint(now=now, iat=now + 120, nbf=None), cache, now=now)
    assert e.code == "InvalidIdentityToken"


@pytest.mark.parametrize("field,value", [("exp", 1.9e9 + 0.5), ("exp", "1900003600"), ("exp", True),
                                         ("iat", 1.5), ("nbf", "0"), ("exp", None)])
def test_timestamps_must_be_integers(issuer_server: IssuerServer, cache: JwksCache, field: str, value: object) -> None:
    now = 1_900_000_000
    e = _err(_verify, issuer_server.mint(now=now, **{field: value}), cache, now=now)
    assert e.code == "InvalidIdentityToken"


def test_max_age(issuer_server: IssuerServer, cache: JwksCache) -> None:
    now = 1_900_000_000
    token = issuer_server.mint(now=now - 500, exp_offset=86400)
    assert _verify(token, cache, now=now, max_age_seconds=600).subject
    e = _err(_verify, token, cache, now=now, max_age_seconds=100)
    assert (e.code, e.message) == ("ExpiredTokenException", "Token too old: 500")


# --- TLS trust and network (step 6) -----------------------------------------------------------


def test_thumbprint_pinned_path(issuer_server: IssuerServer) -> None:
    # no CA bundle: the local CA is unknown to the system store, so only the thumbprint can vouch
    cache = JwksCache(HttpsJwksFetcher())
    token = issuer_server.mint()
    assert _verify(token, cache, thumbprints=[issuer_server.thumbprint.upper()]).subject
    fresh = JwksCache(HttpsJwksFetcher())
    e = _err(_verify, token, fresh, thumbprints=["0" * 40])
    assert (e.code, e.message) == ("InvalidIdentityToken", THUMBPRINT)
    e = _err(_verify, token, JwksCache(HttpsJwksFetcher()), thumbprints=[])
    assert (e.code, e.message) == ("InvalidIdentityToken", THUMBPRINT)


def test_unreachable_idp_is_communication_error(tmp_path: Path) -> None:
    server = IssuerServer(tmp_path).start()
    token = server.mint()
    cache = JwksCache(HttpsJwksFetcher(ca_bundle=server.ca_bundle, timeout_seconds=2))
    server.stop()
    e = _err(_verify, token, cache)
    assert (e.code, e.status) == ("IDPCommunicationError", 400)


def test_unverified_token_is_frozen_and_hides_raw(issuer_server: IssuerServer) -> None:
    token = issuer_server.mint()
    u = decode_unverified(token)
    assert isinstance(u, UnverifiedToken)
    assert token not in repr(u)  # never log a full token
    with pytest.raises(AttributeError):
        u.raw = "x"  # type: ignore[misc]


def test_kube_style_minted_token_passes_sts_verification(issuer_server: IssuerServer, cache: JwksCache) -> None:
    from irsa.oidc.tokens import ObjectRef, mint_service_account_token

    token = mint_service_account_token(
        issuer_server.signing_key, issuer=issuer_server.issuer, namespace="default", service_account="s3-reader",
        service_account_uid="sa-uid", audiences=["sts.amazonaws.com"], expiration_seconds=86400,
        pod=ObjectRef("p", "pod-uid"),
    )
    v = _verify(token, cache)
    assert (v.subject, v.audience, v.issuer) == (
        "system:serviceaccount:default:s3-reader", "sts.amazonaws.com", issuer_server.issuer)
