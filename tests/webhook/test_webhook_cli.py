"""`irsa webhook mutate` and `irsa webhook serve` (typer sub-app, tested with CliRunner / a subprocess)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import jsonpatch
import kubernetes_validate
import yaml
from fake_kube_api import free_port
from typer.testing import CliRunner
from webhook_support import ROLE, WI_TOKEN_FILE, make_pod

from irsa.cli.webhook import app

runner = CliRunner()


def write(path, doc):
    path.write_text(yaml.safe_dump(doc))
    return path


def sa_doc(annotations):
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app", "namespace": "default", "annotations": annotations}}


def test_mutate_prints_mutated_pod_yaml(tmp_path):
    pod = write(tmp_path / "pod.yaml", make_pod())
    sa = write(tmp_path / "sa.yaml", sa_doc({"eks.amazonaws.com/role-arn": ROLE, "eks.amazonaws.com/sts-regional-endpoints": "true"}))
    result = runner.invoke(app, ["mutate", "--pod", str(pod), "--service-account", str(sa), "--aws-default-region", "eu-central-1"])
    assert result.exit_code == 0, result.output
    out = yaml.safe_load(result.stdout)
    kubernetes_validate.validate(out, "1.32", strict=True)
    assert out["spec"]["containers"][0]["env"] == [
        {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
        {"name": "AWS_DEFAULT_REGION", "value": "eu-central-1"},
        {"name": "AWS_REGION", "value": "eu-central-1"},
        {"name": "AWS_ROLE_ARN", "value": ROLE},
        {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": WI_TOKEN_FILE},
    ]


def test_mutate_output_patch_applies_to_the_pod(tmp_path):
    pod_doc = make_pod()
    pod = write(tmp_path / "pod.yaml", pod_doc)
    sa = write(tmp_path / "sa.yaml", sa_doc({"eks.amazonaws.com/role-arn": ROLE}))
    args = ["mutate", "--pod", str(pod), "--service-account", str(sa), "--token-expiration", "3600", "--annotation-prefix", "eks.amazonaws.com"]
    patch = json.loads(runner.invoke(app, [*args, "--output", "patch"]).stdout)
    full = json.loads(runner.invoke(app, [*args, "-o", "json"]).stdout)
    assert jsonpatch.apply_patch(pod_doc, patch) == full
    assert full["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"] == 3600


def test_mutate_container_credentials_with_seeded_jitter(tmp_path):
    pod = write(tmp_path / "pod.yaml", make_pod())
    cc = tmp_path / "cc.json"
    cc.write_text(json.dumps({"identities": [{"namespace": "default", "serviceAccount": "app"}]}))
    outs = [
        yaml.safe_load(runner.invoke(app, ["mutate", "--pod", str(pod), "--watch-container-credentials-config", str(cc), "--seed", "7"]).stdout)
        for _ in range(2)
    ]
    assert outs[0] == outs[1]
    exp = outs[0]["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"]
    assert 79200 <= exp <= 86400
    assert outs[0]["metadata"]["labels"] == {"eks.amazonaws.com/pod-identity": "enabled"}


def test_mutate_config_map_file(tmp_path):
    pod = write(tmp_path / "pod.yaml", make_pod())
    cm = write(
        tmp_path / "cm.yaml",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "pod-identity-webhook", "namespace": "eks"},
         "data": {"config": json.dumps({"default/app": {"RoleARN": ROLE, "Audience": "sts.amazonaws.com"}})}},
    )
    out = yaml.safe_load(runner.invoke(app, ["mutate", "--pod", str(pod), "--config-map", str(cm)]).stdout)
    assert {"name": "AWS_ROLE_ARN", "value": ROLE} in out["spec"]["containers"][0]["env"]


def test_mutate_reports_unmutated_and_bad_input(tmp_path):
    pod = write(tmp_path / "pod.yaml", make_pod())
    result = runner.invoke(app, ["mutate", "--pod", str(pod)])
    assert result.exit_code == 0 and "not mutated: service-account-not-found" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Pod\nspec: {containers: 5, serviceAccountName: app}\n")
    sa = write(tmp_path / "sa.yaml", sa_doc({"eks.amazonaws.com/role-arn": ROLE}))
    result = runner.invoke(app, ["mutate", "--pod", str(bad), "--service-account", str(sa)])
    assert result.exit_code == 2 and "spec.containers must be a list" in result.output
    result = runner.invoke(app, ["mutate", "--pod", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "cannot read" in result.output
    result = runner.invoke(app, ["mutate", "--pod", str(pod), "-o", "xml"])
    assert result.exit_code == 2


def test_serve_requires_tls_material():
    result = runner.invoke(app, ["serve", "--no-kubernetes"])
    assert result.exit_code == 2 and "--tls-self-signed" in result.output


def test_serve_self_signed_subprocess(tmp_path):
    (tmp_path / "sas").mkdir()
    write(tmp_path / "sas" / "sa.yaml", sa_doc({"eks.amazonaws.com/role-arn": ROLE}))
    port = free_port()
    code = "import sys; from irsa.cli.webhook import app; sys.argv[0] = 'irsa-webhook'; app()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--tls-self-signed", "--host", "127.0.0.1", "--port", str(port),
         "--metrics-port", "0", "--service-accounts", str(tmp_path / "sas")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                # the CA is in a temporary folder of the server: this checks wiring, not trust
                resp = httpx.get(f"https://127.0.0.1:{port}/healthz", verify=False)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert resp.text == "ok"
        from test_webhook_admission import review

        answer = httpx.post(f"https://127.0.0.1:{port}/mutate", content=review(make_pod()), headers={"content-type": "application/json"}, verify=False)
        assert answer.json()["response"]["patchType"] == "JSONPatch"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    assert proc.returncode == 0


def test_serve_without_any_service_account_source_fails_clearly(tmp_path):
    result = runner.invoke(
        app, ["serve", "--tls-self-signed", "--port", "0", "--metrics-port", "0"], env={"HOME": str(tmp_path), "KUBECONFIG": str(tmp_path / "none")}
    )
    assert result.exit_code == 1 and "no Kubernetes API configuration" in result.output


def test_serve_rejects_bad_grace_period():
    result = runner.invoke(app, ["serve", "--tls-self-signed", "--service-account-lookup-grace-period", "soon"])
    assert result.exit_code == 2 and "duration" in result.output


def test_serve_rejects_missing_service_account_path(tmp_path):
    result = runner.invoke(
        app, ["serve", "--tls-self-signed", "--no-kubernetes", "--service-accounts", str(tmp_path / "missing"), "--port", "0", "--metrics-port", "0"]
    )
    assert result.exit_code == 1 and "does not exist" in result.output


def test_serve_version():
    from irsa import __version__

    result = runner.invoke(app, ["serve", "--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_serve_in_cluster_compatibility_flag():
    result = runner.invoke(app, ["serve", "--in-cluster=true", "--tls-self-signed"])
    assert result.exit_code == 2 and "not supported" in result.output
    result = runner.invoke(app, ["serve", "--in-cluster=false", "--tls-min-version", "1.1"])
    assert result.exit_code == 2 and "--tls-min-version" in result.output  # got past --in-cluster=false


def test_mutate_defaults_service_account_name_like_the_api_server(tmp_path):
    pod_doc = make_pod(sa=None)
    pod = write(tmp_path / "pod.yaml", pod_doc)
    sa_file = tmp_path / "sa.yaml"
    sa_file.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "ServiceAccount",
                                       "metadata": {"name": "default", "annotations": {"eks.amazonaws.com/role-arn": ROLE}}}))
    result = runner.invoke(app, ["mutate", "--pod", str(pod), "--service-account", str(sa_file)])
    assert result.exit_code == 0, result.output
    out = yaml.safe_load(result.stdout)
    assert out["spec"]["serviceAccountName"] == "default"
    assert {"name": "AWS_ROLE_ARN", "value": ROLE} in out["spec"]["containers"][0]["env"]
