"""JWKS retrieval (OIDC discovery over HTTPS, with IAM thumbprint pinning) and a thread-safe key cache.

Retrieval (reference sts-and-iam.md §2.2, §7 step 6): ``<iss>/.well-known/openid-configuration`` →
``jwks_uri`` → JWK Set, https only (redirects followed only to https, at most 3), responses bounded to
1 MiB, 5 s socket timeout and a 10 s overall deadline per document.

TLS trust, per host: the chain must verify against the system CAs plus an optional extra CA bundle (for
``irsa up``'s local CA). When it does not, and the provider has thumbprints, the connection is accepted iff
the SHA-1 of the *last certificate the server presents* (the top intermediate CA) is one of them, and the
presented chain leads from the leaf to that certificate for the requested host name. Otherwise:
``InvalidIdentityToken: OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint``.

How the presented chain is read on Python 3.11.7: ``ssl.SSLSocket`` has no public accessor before 3.13, but
the C object behind it does: ``sslsock._sslobj.get_unverified_chain()`` (present since 3.10) returns
``_ssl.Certificate`` objects whose ``public_bytes(_ssl.ENCODING_DER)`` gives the DER. A failed verification
aborts the handshake before anything can be read, so the pinned path is a second handshake with a
non-verifying context; the chain it reads is then checked with ``cryptography.x509.verification`` (leaf →
pinned certificate as trust anchor, host name included), so pinning still binds the certificate to the host.
(Single-certificate chains: the pin is the leaf itself; the exact match suffices.)

Errors (AWS codes; §7 step 6): network failure, timeout or HTTP 5xx → ``IDPCommunicationError`` (botocore
retries it); an unusable answer (4xx, not JSON, too large, no https ``jwks_uri``, > 100 keys, no key for the
token's ``kid``) → ``InvalidIdentityToken: Couldn't retrieve verification key …``.
"""

from __future__ import annotations

import _ssl
import base64
import binascii
import http.client
import ipaddress
import json
import os
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from joserfc.jwk import ECKey, RSAKey

from irsa.blocking import blocking_point
from irsa import errors
from irsa.errors import AwsError
from irsa.oidc.keys import EC_CURVES, MIN_RSA_KEY_BITS, PublicKey
from irsa.oidc.tls import certificate_thumbprint, normalize_thumbprint
from irsa.oidc.verify import ALLOWED_ALGORITHMS, MSG_KEY_RETRIEVAL, MSG_THUMBPRINT

MAX_KEYS = 100  # AWS handles at most 100 keys in a JWKS (spiffe/spire#4699)
MAX_DOCUMENT_BYTES = 1 << 20
DEFAULT_TIMEOUT_SECONDS = 5.0
DEFAULT_DEADLINE_SECONDS = 10.0
MAX_REDIRECTS = 3
DEFAULT_TTL_SECONDS = 300.0
DEFAULT_REFETCH_INTERVAL_SECONDS = 10.0
USER_AGENT = "irsa-sts/1 (OIDC key retrieval)"

_DIGESTS: dict[str, Callable[[], hashes.HashAlgorithm]] = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
_CRV_BY_NAME = {crv: (name, alg, size) for name, (crv, alg, size) in EC_CURVES.items()}
_CURVE_OBJECTS: dict[str, ec.EllipticCurve] = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}


def _key_retrieval_error() -> AwsError:
    return AwsError(errors.INVALID_IDENTITY_TOKEN, MSG_KEY_RETRIEVAL)


def _thumbprint_error() -> AwsError:
    return AwsError(errors.INVALID_IDENTITY_TOKEN, MSG_THUMBPRINT)


def _communication_error(detail: str) -> AwsError:
    return AwsError(
        errors.IDP_COMMUNICATION_ERROR,
        f"The identity provider could not be reached to retrieve its verification keys ({detail}).",
    )


# --- parsed keys --------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerificationKey:
    """A usable public key from a JWKS, parsed once and cached."""

    kid: str
    kty: str  # "RSA" | "EC"
    crv: str | None
    alg: str | None  # the JWK's own alg, if it declared one
    public_key: PublicKey = field(repr=False)
    jose_key: RSAKey | ECKey = field(repr=False, compare=False)

    def accepts(self, alg: str) -> bool:
        """Whether a token signed with ``alg`` may be verified with this key (alg ↔ kty/crv, JWK alg)."""
        if alg not in ALLOWED_ALGORITHMS or (self.alg is not None and self.alg != alg):
            return False
        if alg.startswith("RS"):
            return self.kty == "RSA"
        return self.kty == "EC" and self.crv is not None and _CRV_BY_NAME[self.crv][1] == alg

    def verify_signature(self, alg: str, signing_input: bytes, signature: bytes) -> bool:
        """RFC 7518 §3.3 (RS*) / §3.4 (ES*: ``r || s``, each exactly the curve size) verification."""
        if not self.accepts(alg):
            return False
        digest = _DIGESTS[alg[2:]]()
        try:
            if isinstance(self.public_key, rsa.RSAPublicKey):
                self.public_key.verify(signature, signing_input, padding.PKCS1v15(), digest)
                return True
            size = _CRV_BY_NAME[self.crv or ""][2]
            if len(signature) != 2 * size:
                return False
            r = int.from_bytes(signature[:size], "big")
            s = int.from_bytes(signature[size:], "big")
            self.public_key.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(digest))
            return True
        except InvalidSignature:
            return False


def _b64url_int(value: Any, *, size: int | None = None) -> int:
    if not isinstance(value, str) or not value or len(value) > 2048:
        raise ValueError("bad JWK member")
    raw = value.encode("ascii")
    data = base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    if base64.urlsafe_b64encode(data).rstrip(b"=") != raw:
        raise ValueError("non-canonical base64url")
    if size is not None and len(data) != size:
        raise ValueError("bad coordinate length")
    return int.from_bytes(data, "big")


def parse_jwk(jwk: Mapping[str, Any]) -> VerificationKey | None:
    """One JWK → ``VerificationKey``, or None when it is not a usable signature key (other kty, use≠sig,
    unsupported curve/alg, RSA below 2048 bits, bad numbers or a point off the curve)."""
    kid = jwk.get("kid", "")
    if not isinstance(kid, str):
        return None
    use = jwk.get("use")
    if use is not None and use != "sig":
        return None
    alg = jwk.get("alg")
    if alg is not None and alg not in ALLOWED_ALGORITHMS:
        return None
    kty = jwk.get("kty")
    try:
        if kty == "RSA":
            if alg is not None and not alg.startswith("RS"):
                return None
            n = _b64url_int(jwk.get("n"))
            e = _b64url_int(jwk.get("e"))
            if n.bit_length() < MIN_RSA_KEY_BITS or e < 3 or e % 2 == 0:
                return None
            rsa_key = rsa.RSAPublicNumbers(e, n).public_key()
            return VerificationKey(kid, "RSA", None, alg, rsa_key, RSAKey.import_key(rsa_key))
        if kty == "EC":
            crv = jwk.get("crv")
            if not isinstance(crv, str) or crv not in _CRV_BY_NAME:
                return None
            _, curve_alg, size = _CRV_BY_NAME[crv]
            if alg is not None and alg != curve_alg:
                return None
            x = _b64url_int(jwk.get("x"), size=size)
            y = _b64url_int(jwk.get("y"), size=size)
            ec_key = ec.EllipticCurvePublicNumbers(x, y, _CURVE_OBJECTS[crv]).public_key()
            return VerificationKey(kid, "EC", crv, alg, ec_key, ECKey.import_key(ec_key))
    except (ValueError, TypeError, UnicodeError, binascii.Error):
        return None
    return None


def parse_jwks(document: Any) -> dict[str, VerificationKey]:
    """A JWK Set → usable keys by kid (a missing kid counts as ""; first key wins on duplicates).

    Raises ``Couldn't retrieve verification key …`` when the document is not a JWK Set or holds more than
    100 keys (AWS cannot use such a set)."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise _key_retrieval_error()
    entries = document["keys"]
    if len(entries) > MAX_KEYS:
        raise _key_retrieval_error()
    keys: dict[str, VerificationKey] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        key = parse_jwk(entry)
        if key is not None and key.kid not in keys:
            keys[key.kid] = key
    return keys


# --- fetching -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchedJwks:
    """A retrieved JWK Set and the thumbprints its retrieval relied on (empty when every host's
    certificate verified against trusted CAs)."""

    document: Any
    pinned: frozenset[str] = frozenset()


class JwksFetcher(Protocol):
    def fetch(self, issuer: str, thumbprints: Sequence[str]) -> FetchedJwks: ...


class StaticJwksFetcher:
    """Keys given directly (the "trust local static JWKS" mode, §2.2 (c), and in-process issuers)."""

    def __init__(self, documents: Mapping[str, Any] | None = None) -> None:
        self._documents: dict[str, Any] = dict(documents or {})
        self._lock = threading.Lock()

    def set(self, issuer: str, jwks: Any) -> None:
        with self._lock:
            self._documents[issuer] = jwks

    def fetch(self, issuer: str, thumbprints: Sequence[str]) -> FetchedJwks:
        with self._lock:
            doc = self._documents.get(issuer)
        if doc is None:
            raise _key_retrieval_error()
        return FetchedJwks(doc)


def _host_identity(host: str) -> x509.DNSName | x509.IPAddress:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


class HttpsJwksFetcher:
    """Fetch discovery + JWKS over HTTPS with CA verification and IAM thumbprint pinning (see module doc)."""

    def __init__(
        self,
        *,
        ca_bundle: str | os.PathLike[str] | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
        max_bytes: int = MAX_DOCUMENT_BYTES,
        use_system_cas: bool = True,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self.deadline_seconds = deadline_seconds
        self.max_bytes = max_bytes
        verified = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # check_hostname + CERT_REQUIRED by default
        verified.minimum_version = ssl.TLSVersion.TLSv1_2
        if use_system_cas:
            verified.load_default_certs(ssl.Purpose.SERVER_AUTH)
        if ca_bundle is not None:
            verified.load_verify_locations(cafile=os.fspath(ca_bundle))
        self._verified = verified
        unverified = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        unverified.check_hostname = False
        unverified.verify_mode = ssl.CERT_NONE
        unverified.minimum_version = ssl.TLSVersion.TLSv1_2
        self._unverified = unverified

    def fetch(self, issuer: str, thumbprints: Sequence[str]) -> FetchedJwks:
        pins = frozenset(normalize_thumbprint(t) for t in thumbprints)
        used: set[str] = set()
        discovery = self.get_json(issuer.rstrip("/") + "/.well-known/openid-configuration", pins, used)
        jwks_uri = discovery.get("jwks_uri") if isinstance(discovery, dict) else None
        if not isinstance(jwks_uri, str) or urlsplit(jwks_uri).scheme != "https":
            raise _key_retrieval_error()
        document = self.get_json(jwks_uri, pins, used)
        return FetchedJwks(document, frozenset(used))

    def get_json(self, url: str, pins: frozenset[str], used: set[str] | None = None) -> Any:
        """GET ``url`` (https only) and parse JSON; ``used`` collects the thumbprints relied on."""
        deadline = time.monotonic() + self.deadline_seconds
        for _ in range(MAX_REDIRECTS + 1):
            status, location, body = self._get(url, pins, used if used is not None else set(), deadline)
            if status in (301, 302, 303, 307, 308) and location:
                url = urljoin(url, location)
                if urlsplit(url).scheme != "https":
                    raise _key_retrieval_error()
                continue
            if 500 <= status <= 599:
                raise _communication_error(f"HTTP {status}")
            if status != 200:
                raise _key_retrieval_error()
            try:
                return json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeError, RecursionError):
                raise _key_retrieval_error() from None
        raise _key_retrieval_error()

    # -- one request -----------------------------------------------------------------------------

    def _connect(self, host: str, port: int, pins: frozenset[str], used: set[str]) -> http.client.HTTPSConnection:
        conn = http.client.HTTPSConnection(host, port, context=self._verified, timeout=self.timeout_seconds)
        try:
            conn.connect()
            return conn
        except ssl.SSLCertVerificationError:
            conn.close()
            if not pins:
                raise _thumbprint_error() from None
        conn = http.client.HTTPSConnection(host, port, context=self._unverified, timeout=self.timeout_seconds)
        conn.connect()
        try:
            sock = conn.sock
            assert isinstance(sock, ssl.SSLSocket)
            presented_chain = sock._sslobj.get_unverified_chain() or []  # type: ignore[attr-defined]
            chain = [c.public_bytes(_ssl.ENCODING_DER) for c in presented_chain]
            if not chain:
                raise _thumbprint_error()
            presented = certificate_thumbprint(chain[-1])
            if presented not in pins or not self._chain_reaches_pin(chain, host):
                raise _thumbprint_error()
            used.add(presented)
            return conn
        except BaseException:
            conn.close()
            raise

    @staticmethod
    def _chain_reaches_pin(chain: list[bytes], host: str) -> bool:
        if len(chain) == 1:
            return True  # the pinned certificate is the leaf itself
        try:
            certs = [x509.load_der_x509_certificate(der) for der in chain]
            verifier = PolicyBuilder().store(Store([certs[-1]])).build_server_verifier(_host_identity(host))
            verifier.verify(certs[0], certs[1:-1])
            return True
        except (VerificationError, ValueError):
            return False

    def _get(self, url: str, pins: frozenset[str], used: set[str], deadline: float) -> tuple[int, str | None, bytes]:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise _key_retrieval_error()
        try:
            port = parts.port or 443
        except ValueError:
            raise _key_retrieval_error() from None
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn: http.client.HTTPSConnection | None = None
        try:
            conn = self._connect(parts.hostname, port, pins, used)
            conn.request("GET", path, headers={"Accept": "application/json", "User-Agent": USER_AGENT})
            resp = conn.getresponse()
            length = resp.getheader("Content-Length")
            if length is not None and length.isdigit() and int(length) > self.max_bytes:
                raise _key_retrieval_error()
            chunks: list[bytes] = []
            total = 0
            while True:
                if time.monotonic() > deadline:
                    raise _communication_error("timed out")
                chunk = resp.read(65536)
                if not chunk:
                    break
                total += len(chunk)
                if total > self.max_bytes:
                    raise _key_retrieval_error()
                chunks.append(chunk)
            return resp.status, resp.getheader("Location"), b"".join(chunks)
        except AwsError:
            raise
        except ssl.SSLCertVerificationError:
            raise _thumbprint_error() from None
        except (OSError, http.client.HTTPException) as exc:  # includes ssl.SSLError, timeouts, DNS, refused
            raise _communication_error(type(exc).__name__) from None
        finally:
            if conn is not None:
                conn.close()


# --- cache --------------------------------------------------------------------------------------


@dataclass
class _Entry:
    keys: dict[str, VerificationKey]
    fetched_at: float
    pinned: frozenset[str]


@dataclass
class _Failure:
    error: AwsError
    at: float


class JwksCache:
    """Parsed keys per (issuer, kid), thread-safe.

    - An entry lives ``ttl_seconds`` (default 300), then the next lookup refetches it.
    - An unknown ``kid`` triggers ONE refetch, at most once per ``refetch_interval_seconds`` (default 10)
      per issuer, so a key rotation at the issuer is picked up while random kids cannot make us hammer it.
      A refetch replaces the issuer's keys entirely: keys removed from the JWKS stop verifying.
    - A failed retrieval is remembered for ``refetch_interval_seconds`` (same error re-raised), so an
      unreachable IdP costs one timeout per interval rather than one per request.
    - An entry retrieved by thumbprint pinning serves only callers whose thumbprints include the pin used.
    - One fetch at a time per issuer; other issuers are not blocked.
    """

    def __init__(
        self,
        fetcher: JwksFetcher,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        refetch_interval_seconds: float = DEFAULT_REFETCH_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetcher = fetcher
        self._ttl = ttl_seconds
        self._interval = refetch_interval_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._failures: dict[tuple[str, frozenset[str]], _Failure] = {}
        self._issuer_locks: dict[str, threading.Lock] = {}
        self.fetch_count = 0  # retrievals attempted (observability, tests)

    def _usable(self, entry: _Entry | None, pins: frozenset[str], now: float) -> bool:
        return entry is not None and now - entry.fetched_at < self._ttl and entry.pinned <= pins

    def get_key(self, issuer: str, kid: str, *, thumbprints: Sequence[str] = ()) -> VerificationKey:
        pins = frozenset(normalize_thumbprint(t) for t in thumbprints)
        with self._lock:
            entry = self._entries.get(issuer)
            issuer_lock = self._issuer_locks.setdefault(issuer, threading.Lock())
        now = self._clock()
        if self._usable(entry, pins, now):
            assert entry is not None
            key = entry.keys.get(kid)
            if key is not None:
                return key
            if now - entry.fetched_at < self._interval:
                raise _key_retrieval_error()
        blocking_point()  # a retrieval (or a wait for another thread's) is ahead
        with issuer_lock:
            now = self._clock()
            with self._lock:
                entry = self._entries.get(issuer)
                failure = self._failures.get((issuer, pins))
            if self._usable(entry, pins, now):
                assert entry is not None
                key = entry.keys.get(kid)
                if key is not None:
                    return key
                if now - entry.fetched_at < self._interval:  # another thread just refetched
                    raise _key_retrieval_error()
            if failure is not None and now - failure.at < self._interval:
                raise failure.error
            with self._lock:
                self.fetch_count += 1
            try:
                fetched = self._fetcher.fetch(issuer, sorted(pins))
                keys = parse_jwks(fetched.document)
            except AwsError as exc:
                with self._lock:
                    self._failures[(issuer, pins)] = _Failure(exc, self._clock())
                raise
            entry = _Entry(keys, self._clock(), fetched.pinned)
            with self._lock:
                self._entries[issuer] = entry
                self._failures.pop((issuer, pins), None)
        key = entry.keys.get(kid)
        if key is None:
            raise _key_retrieval_error()
        return key

    def invalidate(self, issuer: str | None = None) -> None:
        """Drop cached keys (one issuer, or all)."""
        with self._lock:
            if issuer is None:
                self._entries.clear()
                self._failures.clear()
            else:
                self._entries.pop(issuer, None)
                for k in [k for k in self._failures if k[0] == issuer]:
                    del self._failures[k]
