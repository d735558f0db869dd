"""`irsa issuer apiserver-flags`: flag names and meanings from kube-apiserver's help and SELF_HOSTED_SETUP
(reference issuer-cli-and-doctor.md §1.3): issuer first, every verification key, the signing key, the
audiences, the jwks_uri the published discovery document names; the legacy key kept; P14 warned."""

from __future__ import annotations

from irsa.cli.issuer import issuer_app

ISSUER = "https://s3.eu-west-1.amazonaws.com/acme-oidc"


def keygen(runner, out):
    result = runner.invoke(issuer_app, ["keygen", "--out", str(out)])
    assert result.exit_code == 0, result.output


def flags(runner, *args: str, code: int = 0):
    result = runner.invoke(issuer_app, ["apiserver-flags", *args])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


def test_flags_for_a_fresh_state(runner, tmp_path):
    keygen(runner, tmp_path / "st")
    st = (tmp_path / "st").resolve()
    result = flags(runner, "--issuer-url", ISSUER, "--state", str(tmp_path / "st"))
    assert result.stdout.splitlines() == [
        "# kube-apiserver",
        f"--service-account-issuer={ISSUER}",
        f"--service-account-key-file={st}/sa-keys.pub",
        f"--service-account-signing-key-file={st}/sa-signer.key",
        f"--api-audiences={ISSUER}",
        f"--service-account-jwks-uri={ISSUER}/keys.json",
        "# kube-controller-manager (signs legacy Secret tokens; switch it with the apiserver)",
        f"--service-account-private-key-file={st}/sa-signer.key",
    ]
    assert "keep the --service-account-key-file the cluster already has" in result.stderr
    assert "1 published key(s)" in result.stderr


def test_legacy_key_additional_issuer_and_audiences(runner, tmp_path):
    keygen(runner, tmp_path / "st")
    st = (tmp_path / "st").resolve()
    old = "https://kubernetes.default.svc.cluster.local"
    result = flags(runner, "--issuer-url", ISSUER, "--state", str(tmp_path / "st"),
                   "--additional-issuer", old, "--legacy-key-file", "/var/lib/rancher/k3s/server/tls/service.key",
                   "--api-audiences", "https://kubernetes.default.svc,https://kubernetes.default.svc.cluster.local")
    assert result.stdout.splitlines()[1:7] == [
        f"--service-account-issuer={ISSUER}",
        f"--service-account-issuer={old}",
        f"--service-account-key-file={st}/sa-keys.pub",
        "--service-account-key-file=/var/lib/rancher/k3s/server/tls/service.key",
        f"--service-account-signing-key-file={st}/sa-signer.key",
        "--api-audiences=https://kubernetes.default.svc,https://kubernetes.default.svc.cluster.local",
    ]
    assert "keep the --service-account-key-file" not in result.stderr
    assert "1.22" in result.stderr
    # default audiences during a migration: the new issuer and the old one
    result = flags(runner, "--issuer-url", ISSUER, "--state", str(tmp_path / "st"), "--additional-issuer", old)
    assert f"--api-audiences={ISSUER},{old}" in result.stdout.splitlines()


def test_sts_audience_in_api_audiences_is_warned(runner, tmp_path):
    keygen(runner, tmp_path / "st")
    result = flags(runner, "--issuer-url", ISSUER, "--state", str(tmp_path / "st"), "--api-audiences", "sts.amazonaws.com")
    assert "--api-audiences=sts.amazonaws.com" in result.stdout
    assert "warning: --api-audiences includes sts.amazonaws.com" in result.stderr and "P14" in result.stderr


def test_bad_input(runner, tmp_path):
    result = flags(runner, "--issuer-url", ISSUER, "--state", str(tmp_path / "missing"), code=1)
    assert "not an issuer state directory" in result.stderr
    keygen(runner, tmp_path / "st")
    result = flags(runner, "--issuer-url", "http://insecure.example", "--state", str(tmp_path / "st"), code=1)
    assert "https" in result.stderr and result.stdout == ""
    result = flags(runner, "--issuer-url", ISSUER, "--state", str(tmp_path / "st"), "--additional-issuer", ISSUER, code=1)
    assert "is the issuer itself" in result.stderr
    (tmp_path / "st" / "sa-signer.key").unlink()
    result = flags(runner, "--issuer-url", ISSUER, "--state", str(tmp_path / "st"), code=1)
    assert "sa-signer.key" in result.stderr and result.stdout == ""


def test_a_trailing_slash_is_warned(runner, tmp_path):
    keygen(runner, tmp_path / "st")
    result = flags(runner, "--issuer-url", ISSUER + "/", "--state", str(tmp_path / "st"))
    assert f"--service-account-jwks-uri={ISSUER}/keys.json" in result.stdout
    assert "ends with '/'" in result.stderr
