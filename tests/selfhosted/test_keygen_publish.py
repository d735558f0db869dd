"""`irsa issuer keygen` and `irsa issuer publish`.

Expected values come from the reference (issuer-cli-and-doctor.md): the kid is base64url-nopad(SHA-256(DER
SPKI)) (§1.5, computed here with hashlib, not with our code); PEM headers as SELF_HOSTED_SETUP shows (§1.2);
discovery shape A with jwks_uri ``<issuer>/keys.json`` at ``.well-known/openid-configuration`` (§1.4 A);
kube's content types and ``Cache-Control: public, max-age=3600`` (§1.7).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from irsa.cli.issuer import issuer_app
from irsa.oidc.documents import CACHE_CONTROL
from irsa.oidc.keys import generate_signing_key, load_signing_key
from irsa.oidc.tokens import mint_service_account_token
from irsa.selfhosted import publish as publish_mod
from irsa.selfhosted.issuer_url import (
    IssuerUrlError,
    check_issuer_url,
    jwks_uri_for,
    s3_location,
)
from irsa.selfhosted.publish import DEFAULT_MAX_AGE_SECONDS, cache_control

ISSUER = "https://s3.eu-west-1.amazonaws.com/acme-oidc"


def reference_kid(public_pem: bytes) -> str:
    der = serialization.load_pem_public_key(public_pem).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


def keygen(runner, out: Path, *args: str) -> str:
    result = runner.invoke(issuer_app, ["keygen", "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    match = re.search(r"^kid: ([A-Za-z0-9_-]{43})$", result.stdout, re.MULTILINE)
    assert match, result.stdout
    return match.group(1)


def test_keygen_writes_a_kube_usable_key_pair_and_prints_the_kid(runner, tmp_path):
    kid = keygen(runner, tmp_path / "state")
    private = tmp_path / "state" / "sa-signer.key"
    public = tmp_path / "state" / "sa-signer.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert private.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8 by default
    assert public.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")   # X.509 SPKI
    assert kid == reference_kid(public.read_bytes())
    key = load_signing_key(private)
    assert key.key_type == "RSA" and key.private_key.key_size == 2048 and key.alg == "RS256"
    assert (tmp_path / "state" / "sa-keys.pub").read_bytes() == public.read_bytes()


def test_keygen_pkcs1_and_ec(runner, tmp_path):
    keygen(runner, tmp_path / "rsa", "--private-key-format", "pkcs1")
    assert (tmp_path / "rsa" / "sa-signer.key").read_bytes().startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    kid = keygen(runner, tmp_path / "ec", "--key-type", "EC")
    key = load_signing_key(tmp_path / "ec" / "sa-signer.key")
    assert key.alg == "ES256" and kid == reference_kid((tmp_path / "ec" / "sa-signer.pub").read_bytes())


def test_keygen_refuses_to_overwrite_a_signing_key(runner, tmp_path):
    keygen(runner, tmp_path / "state")
    before = (tmp_path / "state" / "sa-signer.key").read_bytes()
    result = runner.invoke(issuer_app, ["keygen", "--out", str(tmp_path / "state")])
    assert result.exit_code == 1 and "already holds a signing key" in result.stderr
    assert (tmp_path / "state" / "sa-signer.key").read_bytes() == before


def publish(runner, out: Path, *keys: Path, issuer: str = ISSUER, extra: tuple[str, ...] = ()):
    args = ["publish", "--issuer-url", issuer, "--out", str(out), *extra]
    for k in keys:
        args += ["--public-key", str(k)]
    return runner.invoke(issuer_app, args)


def test_publish_writes_shape_a_and_a_multi_key_jwks(runner, tmp_path):
    kid_a = keygen(runner, tmp_path / "a")
    kid_b = keygen(runner, tmp_path / "b", "--key-type", "EC")
    out = tmp_path / "public"
    result = publish(runner, out, tmp_path / "a" / "sa-signer.pub", tmp_path / "b" / "sa-signer.pub")
    assert result.exit_code == 0, result.output
    discovery = json.loads((out / ".well-known" / "openid-configuration").read_text())
    assert discovery == {
        "issuer": ISSUER,
        "jwks_uri": ISSUER + "/keys.json",
        "authorization_endpoint": "urn:kubernetes:programmatic_authorization",
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        "claims_supported": ["sub", "iss"],
    }
    jwks = json.loads((out / "keys.json").read_text())
    assert [k["kid"] for k in jwks["keys"]] == [kid_a, kid_b]
    rsa_jwk, ec_jwk = jwks["keys"]
    assert rsa_jwk["kty"] == "RSA" and rsa_jwk["alg"] == "RS256" and rsa_jwk["use"] == "sig" and rsa_jwk["e"] == "AQAB"
    assert ec_jwk["kty"] == "EC" and ec_jwk["crv"] == "P-256" and ec_jwk["alg"] == "ES256"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        ".well-known/openid-configuration", "keys.json"]  # no staging leftovers

    # what to set when uploading: kube's content types and cache header, and aws s3 cp with both flags
    out_text = result.stdout
    assert "keys.json: Content-Type: application/jwk-set+json; Cache-Control: public, max-age=3600" in out_text
    assert ".well-known/openid-configuration: Content-Type: application/json; Cache-Control: public, max-age=3600" in out_text
    assert (f"aws s3 cp {out / '.well-known/openid-configuration'} s3://acme-oidc/.well-known/openid-configuration "
            f"--content-type application/json --cache-control 'public, max-age=3600'") in out_text
    assert (f"aws s3 cp {out / 'keys.json'} s3://acme-oidc/keys.json "
            f"--content-type application/jwk-set+json --cache-control 'public, max-age=3600'") in out_text


def test_a_token_minted_with_the_published_key_verifies_against_keys_json(runner, tmp_path):
    keygen(runner, tmp_path / "state")
    assert publish(runner, tmp_path / "public", tmp_path / "state" / "sa-keys.pub").exit_code == 0
    key = load_signing_key(tmp_path / "state" / "sa-signer.key")
    token = mint_service_account_token(key, issuer=ISSUER, namespace="default", service_account="app",
                                       service_account_uid="5a1f", audiences=["sts.amazonaws.com"])
    keys = KeySet.import_key_set(json.loads((tmp_path / "public" / "keys.json").read_text()))
    decoded = jwt.decode(token, keys, algorithms=["RS256"])
    discovery = json.loads((tmp_path / "public" / ".well-known" / "openid-configuration").read_text())
    JWTClaimsRegistry(iss={"essential": True, "value": discovery["issuer"]},
                      aud={"essential": True, "value": "sts.amazonaws.com"}).validate(decoded.claims)
    assert decoded.claims["sub"] == "system:serviceaccount:default:app"
    assert decoded.header["kid"] == reference_kid((tmp_path / "state" / "sa-signer.pub").read_bytes())

    # a key that is not published does not verify
    other = generate_signing_key()
    foreign = mint_service_account_token(other, issuer=ISSUER, namespace="default", service_account="app",
                                         service_account_uid="5a1f", audiences=["sts.amazonaws.com"])
    with pytest.raises(JoseError):
        jwt.decode(foreign, keys, algorithms=["RS256"])


def test_publish_other_hosts_and_max_age(runner, tmp_path):
    keygen(runner, tmp_path / "state")
    result = publish(runner, tmp_path / "public", tmp_path / "state" / "sa-keys.pub",
                     issuer="https://irsa.example.com/clusters/c1", extra=("--max-age", "60"))
    assert result.exit_code == 0, result.output
    assert "s3://BUCKET/keys.json" in result.stdout  # not an S3 host: the user fills in bucket and prefix
    assert "--cache-control 'public, max-age=60'" in result.stdout
    assert json.loads((tmp_path / "public" / ".well-known" / "openid-configuration").read_text())["jwks_uri"] == \
        "https://irsa.example.com/clusters/c1/keys.json"


def test_default_cache_header_is_kubes():
    assert cache_control(DEFAULT_MAX_AGE_SECONDS) == CACHE_CONTROL


# --- issuer URLs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url, fragment", [
    ("http://s3.eu-west-1.amazonaws.com/acme", "https"),
    ("https://example.com/x?a=b", "query or fragment"),
    ("https://example.com/x#f", "query or fragment"),
    ("https:///path", "no host"),
    ("https://user@example.com", "user information"),
    ("https://example.com/" + "a" * 250, "255"),
    ("https://exa mple.com", "whitespace"),
])
def test_unusable_issuer_urls_are_refused(runner, tmp_path, url, fragment):
    with pytest.raises(IssuerUrlError, match=fragment):
        check_issuer_url(url)
    keygen(runner, tmp_path / "state")
    result = publish(runner, tmp_path / "public", tmp_path / "state" / "sa-keys.pub", issuer=url)
    assert result.exit_code == 1 and fragment in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "public").exists()


def test_trailing_slash_and_legacy_s3_host_are_warned_not_refused(runner, tmp_path):
    warnings = check_issuer_url("https://s3-eu-west-1.amazonaws.com/acme/")
    assert any("ends with '/'" in w for w in warnings) and any("legacy 's3-<region>'" in w for w in warnings)
    assert check_issuer_url(ISSUER) == []
    assert jwks_uri_for("https://example.com/a/") == "https://example.com/a/keys.json"
    keygen(runner, tmp_path / "state")
    result = publish(runner, tmp_path / "public", tmp_path / "state" / "sa-keys.pub", issuer="https://example.com/a/")
    assert result.exit_code == 0 and "warning: the issuer ends with '/'" in result.stderr


def test_s3_locations():
    assert s3_location("https://s3.eu-west-1.amazonaws.com/acme/c1") .__dict__ == {"bucket": "acme", "prefix": "c1/", "style": "path"}
    assert s3_location("https://acme-oidc.s3.eu-west-1.amazonaws.com").__dict__ == {"bucket": "acme-oidc", "prefix": "", "style": "virtual-hosted"}
    assert s3_location("https://s3.cn-north-1.amazonaws.com.cn/b").bucket == "b"
    assert s3_location("https://d111111abcdef8.cloudfront.net") is None


# --- bad input: keys and folders ----------------------------------------------------------------------


def test_missing_or_bad_public_key(runner, tmp_path):
    result = publish(runner, tmp_path / "public", tmp_path / "nope.pub")
    assert result.exit_code == 1 and "no such file" in result.stderr
    (tmp_path / "junk.pub").write_text("not a key")
    result = publish(runner, tmp_path / "public", tmp_path / "junk.pub")
    assert result.exit_code == 1 and "no PEM key found" in result.stderr
    assert not (tmp_path / "public").exists()


def test_unwritable_output_folder_is_a_clear_error(runner, tmp_path):
    keygen(runner, tmp_path / "state")
    (tmp_path / "file").write_text("x")
    for out in (tmp_path / "file", tmp_path / "file" / "sub"):
        result = publish(runner, out, tmp_path / "state" / "sa-keys.pub")
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output and str(out) in result.stderr
    assert (tmp_path / "file").read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_output_folder(runner, tmp_path):
    keygen(runner, tmp_path / "state")
    out = tmp_path / "ro"
    out.mkdir(mode=0o500)
    result = publish(runner, out, tmp_path / "state" / "sa-keys.pub")
    assert result.exit_code == 1 and "cannot write to" in result.stderr
    assert list(out.iterdir()) == []


def test_a_failure_mid_install_leaves_the_previous_files(runner, tmp_path, monkeypatch):
    keygen(runner, tmp_path / "a")
    keygen(runner, tmp_path / "b")
    out = tmp_path / "public"
    assert publish(runner, out, tmp_path / "a" / "sa-keys.pub").exit_code == 0
    before = {p: p.read_bytes() for p in (out / "keys.json", out / ".well-known" / "openid-configuration")}

    real_replace = os.replace
    calls = {"n": 0}

    def failing_replace(src, dst):
        calls["n"] += 1
        if calls["n"] == 4:  # old keys.json out, new keys.json in, old discovery out, new discovery in: fail here
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(publish_mod.os, "replace", failing_replace)
    result = publish(runner, out, tmp_path / "a" / "sa-keys.pub", tmp_path / "b" / "sa-keys.pub")
    monkeypatch.setattr(publish_mod.os, "replace", real_replace)
    assert result.exit_code == 1 and "No space left on device" in result.stderr and "nothing was changed" in result.stderr
    assert {p: p.read_bytes() for p in before} == before
    assert sorted(p.name for p in out.iterdir()) == [".well-known", "keys.json"]


def test_a_failure_in_a_new_folder_removes_it(runner, tmp_path, monkeypatch):
    keygen(runner, tmp_path / "a")
    monkeypatch.setattr(publish_mod.os, "replace", lambda s, d: (_ for _ in ()).throw(OSError(5, "Input/output error")))
    result = publish(runner, tmp_path / "new" / "public", tmp_path / "a" / "sa-keys.pub")
    assert result.exit_code == 1 and "Input/output error" in result.stderr
    assert not (tmp_path / "new" / "public").exists()



def test_keygen_into_an_unusable_folder(runner, tmp_path):
    (tmp_path / "file").write_text("x")
    for out in (tmp_path / "file", tmp_path / "file" / "sub"):
        result = runner.invoke(issuer_app, ["keygen", "--out", str(out)])
        assert result.exit_code == 1 and "Traceback" not in result.output and str(tmp_path / "file") in result.stderr
    result = runner.invoke(issuer_app, ["keygen", "--out", str(tmp_path / "k"), "--key-type", "DSA"])
    assert result.exit_code == 2 and not (tmp_path / "k").exists()


def test_as_a_command(tmp_path):
    """`python -m irsa.cli.issuer` as a user runs it before the lead registers `irsa issuer`."""
    import subprocess
    import sys

    ok = subprocess.run([sys.executable, "-m", "irsa.cli.issuer", "keygen", "--out", str(tmp_path / "st")],
                        capture_output=True, text=True, timeout=60, check=False)
    assert ok.returncode == 0 and ok.stdout.startswith("kid: ")
    bad = subprocess.run([sys.executable, "-m", "irsa.cli.issuer", "publish", "--issuer-url", "http://x.example",
                          "--out", str(tmp_path / "pub"), "--public-key", str(tmp_path / "st" / "sa-keys.pub")],
                         capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("error: --issuer-url: the issuer must be an https URL")


def test_keygen_adopts_an_existing_cluster_key(runner, tmp_path):
    """kubeadm's sa.key is PKCS#1 ("RSA PRIVATE KEY"); k3s's service.key likewise (reference §1.2, §2.5)."""
    existing = generate_signing_key()
    pkcs1 = existing.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                               serialization.NoEncryption())
    (tmp_path / "sa.key").write_bytes(pkcs1)
    kid = keygen(runner, tmp_path / "st", "--from-private-key", str(tmp_path / "sa.key"), "--private-key-format", "pkcs1")
    assert kid == existing.kid == reference_kid(existing.public_pem())
    assert (tmp_path / "st" / "sa-signer.key").read_bytes() == pkcs1
    result = runner.invoke(issuer_app, ["keygen", "--out", str(tmp_path / "st2"), "--from-private-key",
                                        str(tmp_path / "missing.key")])
    assert result.exit_code == 1 and "no such file" in result.stderr and not (tmp_path / "st2").exists()
