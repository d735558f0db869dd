"""A self-hosted issuer's key state directory and its staged rotation.

Lifecycle (reference issuer-cli-and-doctor.md §1.11, §7: kops create → promote → distrust, the Azure WI and
ccoctl runbooks): every key is ``staged`` → ``active`` → ``retiring`` → ``retired``. The JWKS and the
apiserver's verification bundle hold the staged, active and retiring keys; only the active key signs.

Rotation is three separate commands, so each can follow a rollout of the control plane:

1. ``publish`` — generate the new key (staged) and publish old+new; the old key still signs.
2. ``switch``  — the new key becomes ``sa-signer.key`` (``--service-account-signing-key-file``); the old one is
   ``retiring`` and stays published, so tokens it signed keep verifying.
3. ``drop``    — the old key leaves the JWKS and the bundle, and its private key is deleted. Refused until
   ``min_wait`` (default 24 h) after ``switch``: the kubelet refreshes a projected token only when it is older
   than 80 % of its lifetime or 24 h (§1.9), so a token signed just before the switch lives that long.

Directory layout (private key files 0600, created so)::

    irsa-issuer.json     the manifest (no secrets)
    sa-signer.key        the active private key   -> --service-account-signing-key-file
                                                     (and kube-controller-manager --service-account-private-key-file)
    sa-signer.pub        the active public key (SPKI PEM)
    sa-keys.pub          every published public key, active first -> --service-account-key-file
    keys/<kid>.pub       each key's public half (kept after retirement, for the record)
    keys/<kid>.key       the private key of a staged or retiring key (deleted on drop)

The paths given to kube-apiserver never change; a rotation changes their contents.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from irsa.files import write_private_file, write_public_file
from irsa.oidc.keys import (
    KeyType,
    PublicKey,
    SigningKey,
    generate_signing_key,
    key_id,
    load_public_keys,
    load_signing_key,
)

MANIFEST = "irsa-issuer.json"
SIGNING_KEY_FILE = "sa-signer.key"
SIGNING_PUBLIC_FILE = "sa-signer.pub"
KEY_BUNDLE_FILE = "sa-keys.pub"
KEYS_DIR = "keys"
FORMAT_VERSION = 1
DEFAULT_DROP_WAIT = dt.timedelta(hours=24)  # kubelet refresh bound (§1.9)
MAX_MANIFEST_BYTES = 1 << 20

PUBLISHED_STATUSES: tuple[str, ...] = ("active", "staged", "retiring")  # JWKS order: active first


class StateError(Exception):
    """The state directory is missing, inconsistent, or the requested step is out of order."""


class DropTooEarly(StateError):
    """``drop`` before the wait after ``switch`` has passed (and without ``force``)."""

    def __init__(self, earliest: dt.datetime, message: str) -> None:
        super().__init__(message)
        self.earliest = earliest


@dataclass
class KeyRecord:
    kid: str
    key_type: str
    status: str
    created_at: str
    activated_at: str | None = None
    retiring_at: str | None = None
    retired_at: str | None = None


@dataclass
class Rotation:
    stage: str  # "publish" (done) or "switch" (done)
    old_kid: str
    new_kid: str
    published_at: str
    switched_at: str | None = None


@dataclass
class IssuerState:
    directory: Path
    private_key_format: str
    keys: list[KeyRecord]
    rotation: Rotation | None = None
    issuer_url: str | None = None
    publish_dir: str | None = None

    # -- paths ---------------------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.directory / MANIFEST

    @property
    def signing_key_path(self) -> Path:
        return self.directory / SIGNING_KEY_FILE

    @property
    def signing_public_path(self) -> Path:
        return self.directory / SIGNING_PUBLIC_FILE

    @property
    def key_bundle_path(self) -> Path:
        return self.directory / KEY_BUNDLE_FILE

    def public_key_path(self, kid: str) -> Path:
        return self.directory / KEYS_DIR / f"{kid}.pub"

    def private_key_path(self, kid: str) -> Path:
        return self.directory / KEYS_DIR / f"{kid}.key"

    # -- views ---------------------------------------------------------------------------------------
    @property
    def active(self) -> KeyRecord:
        found = [k for k in self.keys if k.status == "active"]
        if len(found) != 1:
            raise StateError(f"{self.manifest_path}: expected exactly one active key, found {len(found)}")
        return found[0]

    @property
    def published(self) -> list[KeyRecord]:
        return sorted(
            (k for k in self.keys if k.status in PUBLISHED_STATUSES), key=lambda k: PUBLISHED_STATUSES.index(k.status)
        )

    def record(self, kid: str) -> KeyRecord:
        for k in self.keys:
            if k.kid == kid:
                return k
        raise StateError(f"{self.manifest_path}: no key {kid}")

    def public_keys(self) -> list[PublicKey]:
        """The published public keys (active first), read from ``keys/<kid>.pub`` and checked against their kid."""
        out: list[PublicKey] = []
        for rec in self.published:
            path = self.public_key_path(rec.kid)
            try:
                (key,) = load_public_keys(path)
            except (OSError, ValueError) as exc:
                raise StateError(f"{path}: {exc}") from None
            if key_id(key) != rec.kid:
                raise StateError(f"{path}: holds key {key_id(key)}, the manifest says {rec.kid}")
            out.append(key)
        return out

    def signing_key(self) -> SigningKey:
        """The active private key from ``sa-signer.key``; refused when it is not the manifest's active key."""
        try:
            key = load_signing_key(self.signing_key_path)
        except (OSError, ValueError) as exc:
            raise StateError(f"{self.signing_key_path}: {exc}") from None
        if key.kid != self.active.kid:
            raise StateError(
                f"{self.signing_key_path} holds key {key.kid}, but the manifest's active key is {self.active.kid}"
            )
        return key

    # -- persistence ---------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "private_key_format": self.private_key_format,
            "issuer_url": self.issuer_url,
            "publish_dir": self.publish_dir,
            "keys": [asdict(k) for k in self.keys],
            "rotation": asdict(self.rotation) if self.rotation is not None else None,
        }

    def save(self) -> None:
        write_public_file(self.manifest_path, (json.dumps(self.to_json(), indent=2) + "\n").encode("utf-8"))


def timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def _now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else dt.datetime.now(dt.UTC)


def private_pem(key: SigningKey, fmt: str) -> bytes:
    """``pkcs8`` (``PRIVATE KEY``) or ``pkcs1`` (``RSA PRIVATE KEY``; SEC1 ``EC PRIVATE KEY`` for EC keys, the
    traditional form). kube-apiserver reads all three (``keyutil.ParsePrivateKeyPEM``)."""
    if fmt == "pkcs8":
        return key.private_pem()
    if fmt == "pkcs1":
        return key.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    raise ValueError(f"private key format must be 'pkcs8' or 'pkcs1', not {fmt!r}")


# --- create / load ---------------------------------------------------------------------------------


def init_state(
    directory: str | os.PathLike[str], key: SigningKey, *, private_key_format: str = "pkcs8",
    now: dt.datetime | None = None,
) -> IssuerState:
    """A new state directory whose active key is ``key``. Refuses a directory that already holds one."""
    d = Path(directory)
    private_pem(key, private_key_format)  # validates the format before anything is written
    if d.exists() and not d.is_dir():
        raise StateError(f"{d} exists and is not a folder")
    if (d / MANIFEST).exists() or (d / SIGNING_KEY_FILE).exists():
        raise StateError(
            f"{d} already holds a signing key; refusing to overwrite it (rotate with `irsa issuer rotate --state {d}`)"
        )
    try:
        (d / KEYS_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StateError(f"cannot create {d / KEYS_DIR}: {exc.strerror or exc}") from None
    stamp = timestamp(_now(now))
    state = IssuerState(d, private_key_format, [KeyRecord(key.kid, key.key_type, "active", stamp, activated_at=stamp)])
    try:
        write_public_file(state.public_key_path(key.kid), key.public_pem())
        write_public_file(state.signing_public_path, key.public_pem())
        write_private_file(state.signing_key_path, private_pem(key, private_key_format))
        _write_bundle(state)
        state.save()  # last: a directory without a manifest is not a state directory
    except OSError as exc:
        raise StateError(f"cannot write to {d}: {exc.strerror or exc}") from None
    return state


def load_state(directory: str | os.PathLike[str]) -> IssuerState:
    d = Path(directory)
    path = d / MANIFEST
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise StateError(f"{d} is not an issuer state directory (no {MANIFEST}); create one with `irsa issuer keygen --out {d}`") from None
    except OSError as exc:
        raise StateError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_MANIFEST_BYTES:
        raise StateError(f"{path} is too large")
    try:
        data = json.loads(raw)
        if data.get("format") != FORMAT_VERSION:
            raise StateError(f"{path}: unsupported format {data.get('format')!r}")
        keys = [KeyRecord(**k) for k in data["keys"]]
        rot = Rotation(**data["rotation"]) if data.get("rotation") else None
        state = IssuerState(d, data["private_key_format"], keys, rot, data.get("issuer_url"), data.get("publish_dir"))
    except StateError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise StateError(f"{path} is not a valid manifest: {exc}") from None
    state.active  # noqa: B018 - validates there is exactly one active key
    return state


def _write_bundle(state: IssuerState) -> None:
    """``sa-keys.pub``: the published public keys, active first (one PEM file can hold several keys)."""
    pems = [state.public_key_path(rec.kid).read_bytes() for rec in state.published]
    write_public_file(state.key_bundle_path, b"".join(pems))


# --- rotation --------------------------------------------------------------------------------------


def stage_publish(
    state: IssuerState, *, key: SigningKey | None = None, key_type: KeyType | None = None,
    now: dt.datetime | None = None,
) -> SigningKey:
    """Stage 1: a new staged key (``key``, or a fresh one of ``key_type``/the active key's type), published
    next to the active one. Returns the new key."""
    if state.rotation is not None:
        raise StateError(
            f"a rotation is already in progress (stage {state.rotation.stage} done for key {state.rotation.new_kid}); "
            f"next: {_next_stage(state.rotation.stage)}"
        )
    old = state.active
    state.signing_key()  # the active key file must be intact before we build on it
    new = key if key is not None else generate_signing_key(key_type or old.key_type)  # type: ignore[arg-type]
    if any(k.kid == new.kid for k in state.keys):
        raise StateError(f"key {new.kid} was already used by this issuer")
    stamp = timestamp(_now(now))
    try:
        write_private_file(state.private_key_path(new.kid), private_pem(new, state.private_key_format))
        write_public_file(state.public_key_path(new.kid), new.public_pem())
        state.keys.append(KeyRecord(new.kid, new.key_type, "staged", stamp))
        state.rotation = Rotation("publish", old.kid, new.kid, stamp)
        _write_bundle(state)
        state.save()
    except OSError as exc:
        raise StateError(f"cannot write to {state.directory}: {exc.strerror or exc}") from None
    return new


def stage_switch(state: IssuerState, *, now: dt.datetime | None = None) -> SigningKey:
    """Stage 2: the staged key becomes the signing key; the old one is retiring (still published)."""
    rot = _rotation_at(state, "publish")
    old_key = state.signing_key()
    try:
        new_key = load_signing_key(state.private_key_path(rot.new_kid))
    except (OSError, ValueError) as exc:
        raise StateError(f"{state.private_key_path(rot.new_kid)}: {exc}") from None
    if new_key.kid != rot.new_kid:
        raise StateError(f"{state.private_key_path(rot.new_kid)} holds key {new_key.kid}, expected {rot.new_kid}")
    stamp = timestamp(_now(now))
    try:
        # the old private key is kept (keys/<kid>.key) until drop, so a switch can still be undone by hand
        write_private_file(state.private_key_path(old_key.kid), private_pem(old_key, state.private_key_format))
        write_private_file(state.signing_key_path, private_pem(new_key, state.private_key_format))
        write_public_file(state.signing_public_path, new_key.public_pem())
        state.private_key_path(new_key.kid).unlink()
        old, new = state.record(rot.old_kid), state.record(rot.new_kid)
        old.status, old.retiring_at = "retiring", stamp
        new.status, new.activated_at = "active", stamp
        rot.stage, rot.switched_at = "switch", stamp
        _write_bundle(state)
        state.save()
    except OSError as exc:
        raise StateError(f"cannot write to {state.directory}: {exc.strerror or exc}") from None
    return new_key


def earliest_drop(state: IssuerState, min_wait: dt.timedelta = DEFAULT_DROP_WAIT) -> dt.datetime:
    rot = _rotation_at(state, "switch")
    assert rot.switched_at is not None
    return parse_timestamp(rot.switched_at) + min_wait


def stage_drop(
    state: IssuerState, *, now: dt.datetime | None = None, min_wait: dt.timedelta = DEFAULT_DROP_WAIT,
    force: bool = False,
) -> KeyRecord:
    """Stage 3: the retiring key leaves the JWKS and the bundle; its private key file is deleted."""
    rot = check_drop(state, now=now, min_wait=min_wait, force=force)
    moment = _now(now)
    old = state.record(rot.old_kid)
    stamp = timestamp(moment)
    try:
        old.status, old.retired_at = "retired", stamp
        state.rotation = None
        _write_bundle(state)
        state.save()
        state.private_key_path(old.kid).unlink(missing_ok=True)
    except OSError as exc:
        raise StateError(f"cannot write to {state.directory}: {exc.strerror or exc}") from None
    return old


def check_drop(
    state: IssuerState, *, now: dt.datetime | None = None, min_wait: dt.timedelta = DEFAULT_DROP_WAIT,
    force: bool = False,
) -> Rotation:
    """The rotation, if ``drop`` may run now; else ``DropTooEarly`` (or ``StateError`` when out of order)."""
    rot = _rotation_at(state, "switch")
    earliest = earliest_drop(state, min_wait)
    if _now(now) < earliest and not force:
        raise DropTooEarly(
            earliest,
            f"refusing to drop key {rot.old_kid} before {timestamp(earliest)} ({_hours(min_wait)} after the switch at "
            f"{rot.switched_at}): tokens it signed can still be in use (the kubelet refreshes projected tokens after "
            f"80% of their lifetime or 24 h). Use --force to drop it anyway.",
        )
    return rot


def _rotation_at(state: IssuerState, stage: str) -> Rotation:
    rot = state.rotation
    if rot is None:
        raise StateError("no rotation in progress; start one with --stage publish")
    if rot.stage != stage:
        raise StateError(f"the rotation is at stage {rot.stage}; next: {_next_stage(rot.stage)}")
    return rot


def _next_stage(done: str) -> str:
    return {"publish": "--stage switch", "switch": "--stage drop"}.get(done, "--stage publish")


def _hours(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g} h"


def describe(state: IssuerState) -> list[str]:
    """Lines for ``irsa issuer status``."""
    lines = [f"state {state.directory}"]
    if state.issuer_url:
        lines.append(f"issuer {state.issuer_url}")
    for rec in state.keys:
        lines.append(f"  {rec.status:<9} {rec.kid} {rec.key_type} created {rec.created_at}")
    if state.rotation is None:
        lines.append("no rotation in progress")
    else:
        lines.append(f"rotation: stage {state.rotation.stage} done; next: {_next_stage(state.rotation.stage)}")
    return lines


__all__: Sequence[str] = (
    "DEFAULT_DROP_WAIT",
    "DropTooEarly",
    "IssuerState",
    "KeyRecord",
    "Rotation",
    "StateError",
    "check_drop",
    "describe",
    "earliest_drop",
    "init_state",
    "load_state",
    "parse_timestamp",
    "private_pem",
    "stage_drop",
    "stage_publish",
    "stage_switch",
    "timestamp",
)
