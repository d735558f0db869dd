"""Sealed session tokens: temporary credentials that any replica can verify without a database read.

A session token is ``base64url(version | key_id | nonce | AES-256-GCM(body))`` where the additional
authenticated data binds the version and key id, and the version says what ``body`` is:

* version 1: ``zlib(json(session))``, for sessions whose JSON is larger than ``PLAIN_MAX_BYTES`` (session
  policies, many tags), where compression keeps the token short;
* version 2: ``json(session)`` as it is, for the usual small session. Compressing ~500 bytes saves ~180 bytes
  of token but cost ~30 µs per AssumeRoleWithWebIdentity (deflate's state set-up dominates at this size).

Both versions are opened. (A replica running code older than version 2 rejects version-2 tokens: upgrade
every replica before tokens minted by the new code reach it.) The session carries everything a later call
needs: the secret key, the role, the session name, the expiry, the session policies and tags. Keys live in
the ``sealing_keys`` table; a new key is made when the newest is older than ``rotate_after`` and keys are
kept for verification until every session they sealed has expired.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from irsa.blocking import blocking_point

VERSION_ZLIB = 1
VERSION_PLAIN = 2
VERSION = VERSION_PLAIN  # the newest format
VERSIONS = frozenset({VERSION_ZLIB, VERSION_PLAIN})
PLAIN_MAX_BYTES = 1024  # session JSON up to this size is sealed uncompressed (version 2)
KEY_ID_BYTES = 8
NONCE_BYTES = 12
MAX_TOKEN_CHARS = 16384  # far above what we mint; bounds the work on forged input
MAX_SESSION_SECONDS = 43200


class TokenInvalid(Exception):
    """The token was not minted by us (or was tampered with)."""


@dataclass(frozen=True)
class Session:
    """What a temporary credential stands for."""

    access_key_id: str
    secret_access_key: str
    account: str
    partition: str
    role_arn: str
    role_name: str
    role_id: str
    session_name: str
    expiration: int  # epoch seconds
    issued: int
    source: str  # "web-identity" | "assume-role"
    session_policy: str | None = None
    session_policy_arns: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    transitive_tag_keys: tuple[str, ...] = ()
    source_identity: str | None = None
    federated_provider: str | None = None
    web_identity: dict[str, object] = field(default_factory=dict)  # sub, aud, amr of the token

    def to_json(self) -> dict[str, object]:
        return {
            "k": self.access_key_id, "s": self.secret_access_key, "a": self.account, "p": self.partition,
            "r": self.role_arn, "rn": self.role_name, "ri": self.role_id, "n": self.session_name,
            "e": self.expiration, "i": self.issued, "src": self.source, "sp": self.session_policy,
            "spa": list(self.session_policy_arns), "t": self.tags, "tt": list(self.transitive_tag_keys),
            "si": self.source_identity, "fp": self.federated_provider, "wi": self.web_identity,
        }

    @classmethod
    def from_json(cls, d: dict) -> "Session":
        return cls(
            access_key_id=d["k"], secret_access_key=d["s"], account=d["a"], partition=d["p"], role_arn=d["r"],
            role_name=d["rn"], role_id=d["ri"], session_name=d["n"], expiration=int(d["e"]), issued=int(d["i"]),
            source=d["src"], session_policy=d.get("sp"), session_policy_arns=tuple(d.get("spa") or ()),
            tags=dict(d.get("t") or {}), transitive_tag_keys=tuple(d.get("tt") or ()),
            source_identity=d.get("si"), federated_provider=d.get("fp"), web_identity=dict(d.get("wi") or {}),
        )


_JSON = json.JSONEncoder(separators=(",", ":"))  # what json.dumps(..., separators=...) builds on every call


def _compress(data: bytes) -> bytes:
    """A zlib stream of ``data`` (level 6), with the window and hash table sized to the input.

    ``zlib.compress`` allocates a 32 KiB window and a 64 KiB hash table per call. The window here still
    covers the whole input (deflate can reach back 2**wbits - 262 bytes), so every match the default finds
    stays reachable. The output is an ordinary zlib stream whose header records the window size;
    ``zlib.decompress`` (default wbits 15) reads it, as version-1 tokens always were.
    """
    wbits = max(9, min(15, (len(data) + 261).bit_length()))
    compressor = zlib.compressobj(6, zlib.DEFLATED, wbits, 4)
    return compressor.compress(data) + compressor.flush()


def _b64e(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def _b64d(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class KeyRing:
    """The sealing keys known to this process: the newest seals, all of them open.

    ``load`` returns every stored key as ``(key_id, key, created_epoch)``; ``store`` persists a new one.
    Both are thin adapters over the database so that every replica shares the ring.
    """

    def __init__(
        self,
        load: Callable[[], list[tuple[bytes, bytes, int]]],
        store: Callable[[bytes, bytes, int], None],
        *,
        rotate_after: int = 86400,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._load = load
        self._store = store
        self._rotate_after = rotate_after
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[bytes, AESGCM] = {}
        self._newest: tuple[bytes, int] | None = None
        self.refresh()

    def refresh(self) -> None:
        with self._lock:
            rows = self._load()
            self._keys = {kid: AESGCM(key) for kid, key, _ in rows}
            newest = max(rows, key=lambda r: r[2]) if rows else None
            self._newest = (newest[0], newest[2]) if newest else None

    def _current(self) -> tuple[bytes, AESGCM]:
        now = int(self._clock())
        with self._lock:
            if self._newest is None or now - self._newest[1] >= self._rotate_after:
                blocking_point()  # a database write
                kid, key = os.urandom(KEY_ID_BYTES), AESGCM.generate_key(bit_length=256)
                self._store(kid, key, now)
                self._keys[kid] = AESGCM(key)
                self._newest = (kid, now)
            kid = self._newest[0]
            return kid, self._keys[kid]

    def _opener(self, kid: bytes) -> AESGCM | None:
        with self._lock:
            found = self._keys.get(kid)
        if found is None:  # another replica may have rotated
            self.refresh()
            with self._lock:
                found = self._keys.get(kid)
        return found

    def seal(self, session: Session) -> str:
        kid, aead = self._current()
        nonce = os.urandom(NONCE_BYTES)
        plaintext = _JSON.encode(session.to_json()).encode()
        if len(plaintext) <= PLAIN_MAX_BYTES:
            header = bytes([VERSION_PLAIN]) + kid
        else:
            header = bytes([VERSION_ZLIB]) + kid
            plaintext = _compress(plaintext)
        return _b64e(header + nonce + aead.encrypt(nonce, plaintext, header))

    def open(self, token: str) -> Session:
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise TokenInvalid("size")
        try:
            raw = _b64d(token)
        except (ValueError, TypeError) as exc:
            raise TokenInvalid("encoding") from exc
        if len(raw) < 1 + KEY_ID_BYTES + NONCE_BYTES + 16 or raw[0] not in VERSIONS:
            raise TokenInvalid("format")
        header, nonce, body = raw[: 1 + KEY_ID_BYTES], raw[1 + KEY_ID_BYTES: 1 + KEY_ID_BYTES + NONCE_BYTES], raw[1 + KEY_ID_BYTES + NONCE_BYTES:]
        aead = self._opener(header[1:])
        if aead is None:
            raise TokenInvalid("key")
        try:
            plaintext = aead.decrypt(nonce, body, header)  # authenticates the version byte too
            if header[0] == VERSION_ZLIB:
                plaintext = zlib.decompress(plaintext, bufsize=65536)
            return Session.from_json(json.loads(plaintext))
        except (InvalidTag, zlib.error, ValueError, KeyError, TypeError) as exc:
            raise TokenInvalid("seal") from exc

    def prune(self, keep_seconds: int = MAX_SESSION_SECONDS + 3600) -> list[bytes]:
        """Key ids older than the longest session (plus margin) that are not the newest: safe to delete."""
        now = int(self._clock())
        with self._lock:
            newest = self._newest[0] if self._newest else None
        return [kid for kid, _, created in self._load() if kid != newest and now - created > self._rotate_after + keep_seconds]
