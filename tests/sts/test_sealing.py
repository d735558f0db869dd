"""Sealed session tokens: round trip, tamper evidence, key rotation across replicas."""

from __future__ import annotations

import pytest

from irsa.sts.sealing import KeyRing, Session, TokenInvalid


class FakeClock:
    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def shared_store():
    rows: list[tuple[bytes, bytes, int]] = []
    return (lambda: list(rows)), (lambda kid, key, created: rows.append((kid, key, created))), rows


def session(**kw) -> Session:
    base = dict(access_key_id="ASIAAAAAAAAAAAAAAAAA", secret_access_key="s" * 40, account="111122223333",
                partition="aws", role_arn="arn:aws:iam::111122223333:role/r", role_name="r",
                role_id="AROAAAAAAAAAAAAAAAAAA", session_name="sess", expiration=1_700_003_600,
                issued=1_700_000_000, source="web-identity", session_policy='{"Statement":[]}',
                session_policy_arns=("arn:aws:iam::aws:policy/ReadOnlyAccess",), tags={"team": "a"},
                transitive_tag_keys=("team",), source_identity="alice",
                federated_provider="arn:aws:iam::111122223333:oidc-provider/x", web_identity={"sub": "s"})
    base.update(kw)
    return Session(**base)


def test_round_trip_preserves_every_field():
    load, store, _ = shared_store()
    ring = KeyRing(load, store, clock=FakeClock())
    s = session()
    assert ring.open(ring.seal(s)) == s


def test_tampering_is_detected():
    load, store, _ = shared_store()
    ring = KeyRing(load, store, clock=FakeClock())
    token = ring.seal(session())
    for i in (0, 5, 20, len(token) // 2, len(token) - 2):
        flipped = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
        with pytest.raises(TokenInvalid):
            ring.open(flipped)
    for bad in ("", "x", "!!!!", "A" * 20000):
        with pytest.raises(TokenInvalid):
            ring.open(bad)


def test_another_replica_opens_after_rotation():
    load, store, rows = shared_store()
    clock = FakeClock()
    a = KeyRing(load, store, rotate_after=100, clock=clock)
    b = KeyRing(load, store, rotate_after=100, clock=clock)
    t1 = a.seal(session())
    clock.t += 150  # a rotates on its next seal
    t2 = a.seal(session(session_name="two"))
    assert len(rows) == 2
    assert b.open(t1).session_name == "sess"  # b picks up the new key on demand
    assert b.open(t2).session_name == "two"


def test_a_foreign_ring_cannot_open():
    load1, store1, _ = shared_store()
    load2, store2, _ = shared_store()
    token = KeyRing(load1, store1, clock=FakeClock()).seal(session())
    with pytest.raises(TokenInvalid):
        KeyRing(load2, store2, clock=FakeClock()).open(token)


def test_prune_keeps_keys_of_live_sessions():
    load, store, rows = shared_store()
    clock = FakeClock()
    ring = KeyRing(load, store, rotate_after=100, clock=clock)
    ring.seal(session())
    clock.t += 150
    ring.seal(session())
    assert ring.prune(keep_seconds=1000) == []
    clock.t += 2000
    assert ring.prune(keep_seconds=1000) == [rows[0][0]]


def _seal_version_1(rows: list[tuple[bytes, bytes, int]], s: Session) -> str:
    """A token in the version-1 format (zlib-compressed JSON), built here independently of KeyRing.seal."""
    import base64
    import json
    import os
    import zlib

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    kid, key, _ = rows[-1]
    nonce = os.urandom(12)
    header = bytes([1]) + kid
    plaintext = zlib.compress(json.dumps(s.to_json(), separators=(",", ":")).encode(), 6)
    return base64.urlsafe_b64encode(header + nonce + AESGCM(key).encrypt(nonce, plaintext, header)).rstrip(b"=").decode()


def _version(token: str) -> int:
    import base64

    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))[0]


def test_version_1_tokens_still_open():
    load, store, rows = shared_store()
    ring = KeyRing(load, store, clock=FakeClock())
    ring.seal(session())  # creates the key
    s = session(session_name="old-format")
    assert ring.open(_seal_version_1(rows, s)) == s


def test_small_sessions_are_sealed_plain_and_large_ones_compressed():
    load, store, _ = shared_store()
    ring = KeyRing(load, store, clock=FakeClock())
    small = session(session_policy=None, session_policy_arns=(), tags={}, transitive_tag_keys=())
    large = session(session_policy='{"Version":"2012-10-17","Statement":[' + ",".join(
        ['{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-%d/*"}' % i for i in range(20)]) + "]}")
    small_token, large_token = ring.seal(small), ring.seal(large)
    assert _version(small_token) == 2
    assert _version(large_token) == 1
    assert ring.open(small_token) == small
    assert ring.open(large_token) == large


def test_the_version_byte_is_authenticated():
    import base64

    load, store, _ = shared_store()
    ring = KeyRing(load, store, clock=FakeClock())
    token = ring.seal(session(session_policy=None, session_policy_arns=()))
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    for version in (1, 3, 0):
        raw[0] = version
        with pytest.raises(TokenInvalid):
            ring.open(base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode())
