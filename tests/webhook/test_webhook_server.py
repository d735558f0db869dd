"""The HTTPS server: real AdmissionReview v1/v1beta1 bodies over TLS to a server started in the
test; file sources and certificate reload; the Kubernetes API sources against FakeKubeApi."""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
from pathlib import Path

import httpx
import jsonpatch
import pytest
import yaml
from fake_kube_api import FakeKubeApi, free_port
from test_webhook_admission import review
from webhook_support import ROLE, make_pod

from irsa.webhook.certs import generate_certificates
from irsa.webhook.server import ServeOptions, start, stop
from irsa.webhook.settings import WebhookSettings

JSON = {"content-type": "application/json"}


def sa_manifest(name: str, role: str | None = ROLE, namespace: str = "default") -> dict:
    meta: dict = {"name": name, "namespace": namespace}
    if role:
        meta["annotations"] = {"eks.amazonaws.com/role-arn": role}
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}


async def eventually(predicate, timeout: float = 10.0) -> None:
    """Poll until predicate() is true (bounded; not a timing assertion)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


class Harness:
    def __init__(self, tmp: Path, **options) -> None:
        self.tmp = tmp
        self.bundle = generate_certificates(["localhost", "127.0.0.1"])
        self.ca, self.cert, self.key = self.bundle.write(tmp / "tls")
        self.port = free_port()
        options.setdefault("metrics_port", 0)
        options.setdefault("kubernetes", False)
        self.options = ServeOptions(host="127.0.0.1", port=self.port, **options)

    async def __aenter__(self) -> Harness:
        self.runtime = await start(self.options, self.cert, self.key)
        self.client = httpx.AsyncClient(base_url=f"https://127.0.0.1:{self.port}", verify=ssl.create_default_context(cafile=str(self.ca)))
        return self

    async def __aexit__(self, *exc) -> None:
        await self.client.aclose()
        await stop(self.runtime)

    async def admit(self, body: bytes) -> dict:
        resp = await self.client.post("/mutate", content=body, headers=JSON)
        assert resp.status_code == 200, resp.text
        return resp.json()


def patched(pod: dict, answer: dict) -> dict:
    resp = answer["response"]
    if "patch" not in resp:
        return pod
    assert resp["patchType"] == "JSONPatch"
    return jsonpatch.apply_patch(pod, json.loads(base64.b64decode(resp["patch"])))


def env_names(pod: dict) -> list[str]:
    return [e["name"] for e in pod["spec"]["containers"][0].get("env", [])]


def write_sas(folder: Path, *manifests: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sas.yaml").write_text(yaml.safe_dump_all(manifests))


def test_https_admission_v1_and_v1beta1(tmp_path):
    write_sas(tmp_path / "sas", sa_manifest("app"), sa_manifest("plain", role=None))

    async def scenario() -> None:
        async with Harness(tmp_path, service_accounts=tmp_path / "sas", settings=WebhookSettings(aws_default_region="us-west-2")) as h:
            for version in ("admission.k8s.io/v1", "admission.k8s.io/v1beta1"):
                pod = make_pod()
                answer = await h.admit(review(pod, version=version, uid=f"uid-{version}"))
                assert answer["apiVersion"] == version and answer["kind"] == "AdmissionReview"
                assert answer["response"]["uid"] == f"uid-{version}" and answer["response"]["allowed"] is True
                out = patched(pod, answer)
                assert env_names(out) == ["AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"]
                assert out["spec"]["volumes"][0]["name"] == "aws-iam-token"
            # SA without role, and an SA nobody knows: allowed, no patch
            for sa in ("plain", "ghost"):
                answer = await h.admit(review(make_pod(sa=sa)))
                assert answer["response"] == {"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "allowed": True}
            assert (await h.client.get("/healthz")).text == "ok"
            metrics = (await h.client.get("/metrics")).text
            assert 'pod_identity_webhook_pod_count_total{method="sts_web_identity"} 2.0' in metrics
            assert 'pod_identity_webhook_skips_total{reason="no-role"} 1.0' in metrics
            assert 'pod_identity_webhook_skips_total{reason="service-account-not-found"} 1.0' in metrics
            assert "pod_identity_webhook_service_account_cache_size 2.0" in metrics
            assert "pod_identity_webhook_request_duration_seconds_count 4.0" in metrics

    asyncio.run(scenario())


def test_https_bad_requests_get_clear_errors(tmp_path):
    write_sas(tmp_path / "sas", sa_manifest("app"))

    async def scenario() -> None:
        async with Harness(tmp_path, service_accounts=tmp_path / "sas", max_request_bytes=64 * 1024) as h:
            r = await h.client.post("/mutate", content=b"{", headers=JSON)
            assert r.status_code == 400 and "not valid JSON" in r.text
            r = await h.client.post("/mutate", content=b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}', headers=JSON)
            assert r.status_code == 400 and "no request" in r.text
            r = await h.client.post("/mutate", content=review(make_pod()), headers={"content-type": "text/plain"})
            assert r.status_code == 415
            r = await h.client.post("/mutate", content=review(make_pod()), headers={"content-type": "application/json; charset=utf-8"})
            assert r.status_code == 200 and "patch" in r.json()["response"]
            r = await h.client.post("/mutate", content=b"x" * (65 * 1024), headers=JSON)
            assert r.status_code == 413
            assert (await h.client.get("/mutate")).status_code == 405
            assert (await h.client.get("/nope")).status_code == 404
            # not a pod / malformed pod: allowed without patch
            answer = await h.admit(review({"kind": "Secret"}, kind={"group": "", "version": "v1", "kind": "Secret"}))
            assert answer["response"]["allowed"] is True and "patch" not in answer["response"]
            answer = await h.admit(review({"spec": {"serviceAccountName": "app", "containers": 7}}))
            assert answer["response"]["allowed"] is True and "patch" not in answer["response"]
            # the server still works afterwards
            assert "patch" in (await h.admit(review(make_pod())))["response"]
            metrics = (await h.client.get("/metrics")).text
            assert 'pod_identity_webhook_skips_total{reason="malformed-pod"} 1.0' in metrics
            assert 'pod_identity_webhook_http_requests_total{code="415",path="/mutate"} 1.0' in metrics

    asyncio.run(scenario())


def test_fail_closed_over_https(tmp_path):
    write_sas(tmp_path / "sas", sa_manifest("app"))

    async def scenario() -> None:
        async with Harness(tmp_path, service_accounts=tmp_path / "sas", fail_closed=True) as h:
            answer = await h.admit(review(make_pod(sa="ghost")))
            assert answer["response"]["allowed"] is False and answer["response"]["status"]["code"] == 403
            assert (await h.admit(review(make_pod())))["response"]["allowed"] is True

    asyncio.run(scenario())


def test_files_reload_and_container_credentials(tmp_path):
    write_sas(tmp_path / "sas", sa_manifest("app"))
    cc_file = tmp_path / "cc.json"

    async def scenario() -> None:
        async with Harness(
            tmp_path, service_accounts=tmp_path / "sas", container_credentials_file=cc_file, file_reload_interval=0.05
        ) as h:
            assert "AWS_ROLE_ARN" in env_names(patched(make_pod(), await h.admit(review(make_pod()))))
            other = "arn:aws:iam::111122223333:role/other"
            write_sas(tmp_path / "sas", sa_manifest("app", role=other), sa_manifest("new"))
            await eventually(lambda: h.runtime.state.get("default", "new") is not None)
            out = patched(make_pod(), await h.admit(review(make_pod())))
            assert {"name": "AWS_ROLE_ARN", "value": other} in out["spec"]["containers"][0]["env"]
            cc_file.write_text(json.dumps({"identities": [{"namespace": "default", "serviceAccount": "app"}]}))
            await eventually(lambda: ("default", "app") in h.runtime.state.container_credentials)
            out = patched(make_pod(), await h.admit(review(make_pod())))
            assert out["metadata"]["labels"] == {"eks.amazonaws.com/pod-identity": "enabled"}
            cc_file.unlink()  # a missing file clears the set
            await eventually(lambda: not h.runtime.state.container_credentials)

    asyncio.run(scenario())


def test_tls_certificate_reload(tmp_path):
    async def peer_cert(port: int, ca: Path) -> bytes:
        ctx = ssl.create_default_context(cafile=str(ca))
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="localhost")
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        writer.close()
        await writer.wait_closed()
        return der

    async def scenario() -> None:
        async with Harness(tmp_path, service_accounts=tmp_path, tls_reload_interval=0.05) as h:
            first = await peer_cert(h.port, h.ca)
            new = generate_certificates(["localhost", "127.0.0.1"])
            new_dir = tmp_path / "tls2"
            ca2, cert2, key2 = new.write(new_dir)
            h.cert.write_bytes(cert2.read_bytes())
            h.key.write_bytes(key2.read_bytes())
            await eventually(lambda: h.runtime.tls.reloads >= 1)
            second = await peer_cert(h.port, ca2)
            assert second != first
            with pytest.raises(ssl.SSLCertVerificationError):
                await peer_cert(h.port, h.ca)  # the old CA no longer verifies the new certificate

    asyncio.run(scenario())


def test_metrics_port_serves_plain_http(tmp_path):
    async def scenario() -> None:
        metrics_port = free_port()
        async with Harness(tmp_path, service_accounts=tmp_path, metrics_port=metrics_port) as h:
            await h.client.get("/healthz")
            async with httpx.AsyncClient() as plain:
                text = (await plain.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
                mutate = await plain.post(f"http://127.0.0.1:{metrics_port}/mutate", content=review(make_pod()), headers=JSON)
            assert mutate.status_code == 404  # admission is HTTPS-only
            assert 'pod_identity_webhook_http_requests_total{code="200",path="/healthz"} 1.0' in text

    asyncio.run(scenario())


# --- the Kubernetes API sources ------------------------------------------------------------------


def test_kube_list_watch_add_modify_delete(tmp_path):
    async def scenario() -> None:
        api = FakeKubeApi()
        await api.start()
        api.upsert("serviceaccounts", "default", "app", annotations={"eks.amazonaws.com/role-arn": ROLE})
        try:
            async with Harness(tmp_path, kubernetes=True, kube_api=api.url, live_lookup=False) as h:
                assert "AWS_ROLE_ARN" in env_names(patched(make_pod(), await h.admit(review(make_pod()))))
                api.upsert("serviceaccounts", "team", "worker", annotations={"eks.amazonaws.com/role-arn": ROLE})
                await eventually(lambda: h.runtime.state.get("team", "worker") is not None)
                answer = await h.admit(review(make_pod(sa="worker"), namespace="team"))
                assert "patch" in answer["response"]
                api.upsert("serviceaccounts", "default", "app", annotations={})  # role removed
                await eventually(lambda: not h.runtime.state.get("default", "app").annotations)
                assert "patch" not in (await h.admit(review(make_pod())))["response"]
                api.delete("serviceaccounts", "team", "worker")
                await eventually(lambda: h.runtime.state.get("team", "worker") is None)
        finally:
            await api.stop()

    asyncio.run(scenario())


def test_kube_watch_410_gone_relists(tmp_path):
    async def scenario() -> None:
        api = FakeKubeApi()
        await api.start()
        api.upsert("serviceaccounts", "default", "old", annotations={"eks.amazonaws.com/role-arn": ROLE})
        try:
            async with Harness(tmp_path, kubernetes=True, kube_api=api.url, live_lookup=False) as h:
                watch = h.runtime.watches[0]
                await eventually(lambda: api.watchers)
                assert h.runtime.state.get("default", "old") is not None
                # changes the watch never reports, then history is compacted: only a relist can see them
                api.delete("serviceaccounts", "default", "old", notify=False)
                api.upsert("serviceaccounts", "default", "fresh", annotations={"eks.amazonaws.com/role-arn": ROLE}, notify=False)
                api.compact()
                await eventually(lambda: watch.relists >= 2 and h.runtime.state.get("default", "fresh") is not None)
                assert h.runtime.state.get("default", "old") is None
                # and the new watch delivers events again
                api.upsert("serviceaccounts", "default", "later", annotations={"eks.amazonaws.com/role-arn": ROLE})
                await eventually(lambda: h.runtime.state.get("default", "later") is not None)
        finally:
            await api.stop()

    asyncio.run(scenario())


def test_kube_config_map_source(tmp_path):
    async def scenario() -> None:
        api = FakeKubeApi()
        await api.start()
        mapping = {"default/cmsa": {"RoleARN": "arn:aws:iam::111122223333:role/from-cm", "Audience": "sts.amazonaws.com"}}
        api.upsert("configmaps", "eks", "pod-identity-webhook", data={"config": json.dumps(mapping)})
        api.upsert("configmaps", "eks", "unrelated", data={"config": "{}"})
        api.upsert("serviceaccounts", "default", "cmsa")
        try:
            async with Harness(tmp_path, kubernetes=True, kube_api=api.url, watch_config_map=True, live_lookup=False) as h:
                await eventually(lambda: "default/cmsa" in h.runtime.state.config_map)
                out = patched(make_pod(sa="cmsa"), await h.admit(review(make_pod(sa="cmsa"))))
                assert {"name": "AWS_ROLE_ARN", "value": "arn:aws:iam::111122223333:role/from-cm"} in out["spec"]["containers"][0]["env"]
                api.delete("configmaps", "eks", "pod-identity-webhook")
                await eventually(lambda: not h.runtime.state.config_map)
        finally:
            await api.stop()

    asyncio.run(scenario())


@pytest.mark.parametrize("live_lookup", [True, False])
def test_service_account_created_50ms_before_its_pod(tmp_path, live_lookup):
    """The SA-creation race (§4.3): the watch has not delivered the new SA when its pod arrives."""

    async def scenario() -> None:
        api = FakeKubeApi()
        await api.start()
        try:
            async with Harness(tmp_path, kubernetes=True, kube_api=api.url, live_lookup=live_lookup, lookup_grace_period=5.0) as h:
                await eventually(lambda: api.watchers)
                api.watch_paused.clear()  # the informer lags: events are held back
                api.upsert("serviceaccounts", "default", "race", annotations={"eks.amazonaws.com/role-arn": ROLE})
                await asyncio.sleep(0.05)
                answer = await h.admit(review(make_pod(sa="race")))
                assert h.runtime.state.get("default", "race") is None or live_lookup
                if live_lookup:
                    out = patched(make_pod(sa="race"), answer)
                    assert {"name": "AWS_ROLE_ARN", "value": ROLE} in out["spec"]["containers"][0]["env"]
                    assert "GET /api/v1/namespaces/default/serviceaccounts/race" in api.requests
                else:
                    assert "patch" not in answer["response"]  # upstream with grace 0: never fixed later
                # a pod whose SA does not exist: the lookup answers 404 and the pod is admitted unmutated
                answer = await h.admit(review(make_pod(sa="missing")))
                assert "patch" not in answer["response"]
                api.watch_paused.set()
                await eventually(lambda: h.runtime.state.get("default", "race") is not None)
        finally:
            await api.stop()

    asyncio.run(scenario())


def test_fast_http_stack_is_installed():
    """libraries.md §2: without httptools + uvloop uvicorn falls back to h11 + asyncio (5x slower)."""
    import httptools  # noqa: F401
    import uvicorn
    import uvloop  # noqa: F401

    config = uvicorn.Config(lambda *a: None, lifespan="off")
    config.load()
    assert "httptools" in config.http_protocol_class.__module__


def test_tls_cipher_suites_use_go_names(tmp_path):
    from irsa.webhook.certs import openssl_ciphers

    assert openssl_ciphers("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_AES_128_GCM_SHA256") == "ECDHE-ECDSA-AES256-GCM-SHA384"
    with pytest.raises(ValueError, match="TLS_BOGUS"):
        openssl_ciphers("TLS_BOGUS")

    async def scenario() -> None:
        async with Harness(tmp_path, service_accounts=tmp_path, tls_cipher_suites="TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384") as h:
            ctx = ssl.create_default_context(cafile=str(h.ca))
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            reader, writer = await asyncio.open_connection("127.0.0.1", h.port, ssl=ctx, server_hostname="localhost")
            assert writer.get_extra_info("cipher")[0] == "ECDHE-ECDSA-AES256-GCM-SHA384"
            writer.close()
            await writer.wait_closed()

    asyncio.run(scenario())
