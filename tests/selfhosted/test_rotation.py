"""`irsa issuer rotate`: publish → switch → drop, each a separate command (reference issuer-cli-and-doctor.md
§1.11 and §7: publish old+new before signing with the new key; wait ≥ 24 h after the switch (kubelet
refresh, §1.9) before the old key leaves the JWKS; refuse to switch until the live JWKS holds the new key).

Verification is done the way a relying party does it: joserfc against the JWKS the static HTTPS host serves.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import ssl
import stat
from pathlib import Path

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from irsa.cli.issuer import issuer_app
from irsa.oidc.keys import load_public_keys, load_signing_key
from irsa.oidc.tokens import mint_service_account_token
from irsa.selfhosted import keystate as ks


def run(runner, *args: str, code: int = 0):
    result = runner.invoke(issuer_app, list(args))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


def live_keys(host) -> KeySet:
    with httpx.Client(verify=ssl.create_default_context(cafile=str(host.ca_bundle))) as http:
        discovery = http.get(host.issuer + "/.well-known/openid-configuration").json()
        return KeySet.import_key_set(http.get(discovery["jwks_uri"]).json())


def mint(key, issuer: str) -> str:
    return mint_service_account_token(key, issuer=issuer, namespace="ns", service_account="sa",
                                      service_account_uid="u-1", audiences=["sts.amazonaws.com"])


def verifies(token: str, keys: KeySet) -> bool:
    try:
        jwt.decode(token, keys, algorithms=["RS256", "ES256"])
        return True
    except (JoseError, ValueError):
        return False


def kids_in(pem_file: Path) -> list[str]:
    from irsa.oidc.keys import key_id

    return [key_id(k) for k in load_public_keys(pem_file)]


def test_rotation_end_to_end(runner, tmp_path, static_host):
    state = tmp_path / "state"
    run(runner, "keygen", "--out", str(state))
    old_key = load_signing_key(state / "sa-signer.key")
    issuer = static_host.issuer
    out = str(static_host.root)

    # stage 1: publish old + new; the old key still signs
    res = run(runner, "rotate", "--state", str(state), "--stage", "publish", "--issuer-url", issuer, "--out", out)
    assert "--stage switch" in res.stdout
    st = ks.load_state(state)
    new_kid = st.rotation.new_kid
    assert [r.kid for r in st.published] == [old_key.kid, new_kid]
    assert load_signing_key(state / "sa-signer.key").kid == old_key.kid
    assert kids_in(state / "sa-keys.pub") == [old_key.kid, new_kid]
    assert stat.S_IMODE((state / "keys" / f"{new_kid}.key").stat().st_mode) == 0o600
    keys = live_keys(static_host)
    old_token = mint(old_key, issuer)
    assert verifies(old_token, keys)

    # stage 2: switch (the live JWKS is checked over HTTPS first); both keys stay published
    res = run(runner, "rotate", "--state", str(state), "--stage", "switch", "--ca-bundle", str(static_host.ca_bundle))
    assert f"holds the new key {new_kid}" in res.stdout and "--stage drop" in res.stdout
    new_key = load_signing_key(state / "sa-signer.key")
    assert new_key.kid == new_kid
    assert stat.S_IMODE((state / "sa-signer.key").stat().st_mode) == 0o600
    assert not (state / "keys" / f"{new_kid}.key").exists()
    assert (state / "keys" / f"{old_key.kid}.key").exists()  # kept until drop
    assert kids_in(state / "sa-keys.pub") == [new_kid, old_key.kid]
    new_token = mint(new_key, issuer)
    keys = live_keys(static_host)
    assert verifies(old_token, keys) and verifies(new_token, keys)

    # stage 3 too early: refused, nothing changes
    switched = ks.parse_timestamp(ks.load_state(state).rotation.switched_at)
    before = {p: p.read_bytes() for p in (Path(out) / "keys.json", state / "sa-keys.pub", state / "irsa-issuer.json")}
    res = run(runner, "rotate", "--state", str(state), "--stage", "drop", code=1)
    assert "refusing to drop" in res.stderr and ks.timestamp(switched + dt.timedelta(hours=24)) in res.stderr
    assert {p: p.read_bytes() for p in before} == before

    # stage 3 forced: the old key leaves the JWKS; its tokens stop verifying, the new key's keep working
    res = run(runner, "rotate", "--state", str(state), "--stage", "drop", "--force")
    assert "no longer published" in res.stdout
    keys = live_keys(static_host)
    assert not verifies(old_token, keys) and verifies(new_token, keys)
    assert [k["kid"] for k in json.loads((Path(out) / "keys.json").read_text())["keys"]] == [new_kid]
    assert kids_in(state / "sa-keys.pub") == [new_kid]
    assert not (state / "keys" / f"{old_key.kid}.key").exists()  # the retired private key is gone
    st = ks.load_state(state)
    assert st.rotation is None and st.record(old_key.kid).status == "retired" and st.active.kid == new_kid
    status = run(runner, "status", "--state", str(state)).stdout
    assert re.search(rf"^\s+retired\s+{old_key.kid} RSA", status, re.MULTILINE)
    assert re.search(rf"^\s+active\s+{new_kid} RSA", status, re.MULTILINE) and "no rotation in progress" in status

    # a second rotation remembers the issuer and folder
    run(runner, "rotate", "--state", str(state), "--stage", "publish")
    assert len(json.loads((Path(out) / "keys.json").read_text())["keys"]) == 2


def test_drop_wait_is_24_hours_after_the_switch(tmp_path):
    from irsa.oidc.keys import generate_signing_key

    t0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
    state = ks.init_state(tmp_path / "s", generate_signing_key(), now=t0)
    ks.stage_publish(state, now=t0)
    ks.stage_switch(state, now=t0 + dt.timedelta(hours=1))
    switched = t0 + dt.timedelta(hours=1)
    with pytest.raises(ks.DropTooEarly) as err:
        ks.check_drop(state, now=switched + dt.timedelta(hours=24) - dt.timedelta(seconds=1))
    assert err.value.earliest == switched + dt.timedelta(hours=24)
    ks.check_drop(state, now=switched + dt.timedelta(hours=24))
    with pytest.raises(ks.DropTooEarly):
        ks.check_drop(state, now=switched + dt.timedelta(hours=30), min_wait=dt.timedelta(hours=48))
    dropped = ks.stage_drop(state, now=switched + dt.timedelta(hours=24))
    assert dropped.retired_at == "2026-11-02T13:00:00Z"
    assert ks.load_state(tmp_path / "s").record(dropped.kid).status == "retired"


def test_switch_is_refused_until_the_live_jwks_has_the_new_key(runner, tmp_path, static_host):
    state = tmp_path / "state"
    run(runner, "keygen", "--out", str(state))
    # the host serves the old key only; the rotation publishes into a folder nobody uploaded
    run(runner, "publish", "--issuer-url", static_host.issuer, "--out", str(static_host.root),
        "--public-key", str(state / "sa-keys.pub"))
    unserved = tmp_path / "not-uploaded"
    run(runner, "rotate", "--state", str(state), "--stage", "publish", "--issuer-url", static_host.issuer,
        "--out", str(unserved))
    new_kid = ks.load_state(state).rotation.new_kid
    res = run(runner, "rotate", "--state", str(state), "--stage", "switch", "--ca-bundle", str(static_host.ca_bundle),
              code=1)
    assert "refusing to switch" in res.stderr and f"does not contain key {new_kid}" in res.stderr
    assert ks.load_state(state).rotation.stage == "publish"
    # an untrusted certificate without a thumbprint is refused too, with AWS's wording
    res = run(runner, "rotate", "--state", str(state), "--stage", "switch", code=1)
    assert "doesn't match configured thumbprint" in res.stderr
    # accepting the host by its IAM thumbprint works like --ca-bundle once the files are uploaded
    for f in (unserved / "keys.json", unserved / ".well-known" / "openid-configuration"):
        target = static_host.root / f.relative_to(unserved)
        target.write_bytes(f.read_bytes())
    run(runner, "rotate", "--state", str(state), "--stage", "switch", "--thumbprint", static_host.thumbprint)
    assert load_signing_key(state / "sa-signer.key").kid == new_kid


def test_stages_out_of_order_and_bad_state(runner, tmp_path):
    state = tmp_path / "state"
    res = run(runner, "rotate", "--state", str(state), "--stage", "publish", code=1)
    assert "not an issuer state directory" in res.stderr and "irsa issuer keygen" in res.stderr
    run(runner, "keygen", "--out", str(state))
    res = run(runner, "rotate", "--state", str(state), "--stage", "switch", code=1)
    assert "no rotation in progress" in res.stderr
    res = run(runner, "rotate", "--state", str(state), "--stage", "drop", code=1)
    assert "no rotation in progress" in res.stderr
    res = run(runner, "rotate", "--state", str(state), "--stage", "publish", code=1)
    assert "needs --issuer-url and --out" in res.stderr
    res = run(runner, "rotate", "--state", str(state), "--stage", "publish", "--issuer-url", "http://x.example",
              "--out", str(tmp_path / "pub"), code=1)
    assert "https" in res.stderr
    run(runner, "rotate", "--state", str(state), "--stage", "publish", "--issuer-url", "https://x.example/c1",
        "--out", str(tmp_path / "pub"))
    staged = ks.load_state(state).rotation.new_kid
    res = run(runner, "rotate", "--state", str(state), "--stage", "drop", code=1)
    assert "at stage publish; next: --stage switch" in res.stderr
    # publishing again re-uploads the same keys instead of staging a third one
    res = run(runner, "rotate", "--state", str(state), "--stage", "publish")
    assert "already done" in res.stdout and ks.load_state(state).rotation.new_kid == staged
    assert len(ks.load_state(state).keys) == 2
    # a different issuer is an issuer change, not a rotation
    res = run(runner, "rotate", "--state", str(state), "--stage", "publish", "--issuer-url", "https://y.example",
              code=1)
    assert "not a key rotation" in res.stderr
    # the signing key file swapped behind our back is detected
    (state / "sa-signer.key").write_bytes((state / "keys" / f"{staged}.key").read_bytes())
    res = run(runner, "rotate", "--state", str(state), "--stage", "switch", "--skip-publish-check", code=1)
    assert "manifest's active key" in res.stderr
    (state / "irsa-issuer.json").write_text("{not json")
    res = run(runner, "status", "--state", str(state), code=1)
    assert "not a valid manifest" in res.stderr


def test_drop_wait_option(runner, tmp_path):
    state = tmp_path / "state"
    run(runner, "keygen", "--out", str(state))
    run(runner, "rotate", "--state", str(state), "--stage", "publish", "--issuer-url", "https://x.example",
        "--out", str(tmp_path / "pub"))
    run(runner, "rotate", "--state", str(state), "--stage", "switch", "--skip-publish-check")
    run(runner, "rotate", "--state", str(state), "--stage", "drop", "--min-wait-hours", "1", code=1)
    run(runner, "rotate", "--state", str(state), "--stage", "drop", "--min-wait-hours", "0")
    assert len(json.loads((tmp_path / "pub" / "keys.json").read_text())["keys"]) == 1
