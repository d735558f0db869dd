"""AdmissionReview v1/v1beta1 handling (webhook.md §3.3, §4.4) and bad input."""

from __future__ import annotations

import base64
import json

import jsonpatch
import pytest
from webhook_support import ROLE, WI_TOKEN_FILE, make_pod, role_sa

from irsa.webhook.admission import BadReview, admit, decode_review
from irsa.webhook.settings import WebhookSettings


def review(pod, *, version="admission.k8s.io/v1", namespace="default", uid="705ab4f5-6393-11e8-b7cc-42010a800002", **request):
    req = {
        "uid": uid,
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
        "namespace": namespace,
        "operation": "CREATE",
        "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
        "object": pod,
        "oldObject": None,
        "dryRun": False,
        "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"},
    }
    req.update(request)
    return json.dumps({"apiVersion": version, "kind": "AdmissionReview", "request": req}).encode()


@pytest.mark.parametrize("version", ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"])
def test_mutation_response_echoes_type_meta_and_uid(version):
    pod = make_pod()
    req = decode_review(review(pod, version=version))
    out = admit(req, WebhookSettings(), service_account=role_sa())
    body = json.loads(out.body())
    assert body["apiVersion"] == version and body["kind"] == "AdmissionReview"
    resp = body["response"]
    assert resp["uid"] == "705ab4f5-6393-11e8-b7cc-42010a800002"
    assert resp["allowed"] is True and resp["patchType"] == "JSONPatch"
    patched = jsonpatch.apply_patch(pod, json.loads(base64.b64decode(resp["patch"])))
    assert {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": WI_TOKEN_FILE} in patched["spec"]["containers"][0]["env"]
    assert {"name": "AWS_ROLE_ARN", "value": ROLE} in patched["spec"]["containers"][0]["env"]


def test_generate_name_pod_uses_request_namespace():
    pod = make_pod()
    assert "name" not in pod["metadata"] and "namespace" not in pod["metadata"]
    req = decode_review(review(pod, namespace="team-a"))
    sa = role_sa()
    assert admit(req, WebhookSettings(), service_account=sa).mode is not None
    assert req.pod_label == "team-a/app-<generated>"


def test_no_mutation_is_allowed_without_patch():
    req = decode_review(review(make_pod()))
    body = json.loads(admit(req, WebhookSettings(), service_account=None).body())
    assert body["response"] == {"uid": req.uid, "allowed": True}


@pytest.mark.parametrize(
    "change",
    [
        {"operation": "UPDATE"},
        {"kind": {"group": "apps", "version": "v1", "kind": "Deployment"}},
        {"kind": {"group": "", "version": "v1", "kind": "Service"}},
        {"subResource": "ephemeralcontainers"},
    ],
)
def test_not_a_pod_create_is_allowed_without_patch(change):
    req = decode_review(review(make_pod(), **change))
    out = admit(req, WebhookSettings(), service_account=role_sa())
    assert out.response["response"] == {"uid": req.uid, "allowed": True} and out.reason == "not-a-pod-create"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not valid JSON"),
        (b"{not json", "not valid JSON"),
        (b"[1,2]", "not a JSON object"),
        (b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}', "no request"),
        (b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":"x"}', "no request"),
        (b'{"apiVersion":"v1","kind":"Pod"}', "apiVersion"),
        (b'{"apiVersion":"admission.k8s.io/v1","kind":"Other","request":{}}', "kind"),
        (b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"object":{}}}', "uid"),
        (b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":5}}', "uid"),
        (b"[" * 100000 + b"]" * 100000, "not valid JSON"),
    ],
)
def test_bad_reviews_raise_clear_errors(body, message):
    with pytest.raises(BadReview, match=message):
        decode_review(body)


@pytest.mark.parametrize("obj", ["a string", 5, {"spec": {"containers": "nope"}}, {"metadata": [], "spec": {}}])
def test_malformed_pod_fail_open_and_fail_closed(obj):
    req = decode_review(review(obj))
    out = admit(req, WebhookSettings(), service_account=role_sa())
    assert out.response["response"] == {"uid": req.uid, "allowed": True} and out.reason == "malformed-pod"
    closed = admit(req, WebhookSettings(), service_account=role_sa(), fail_closed=True)
    assert closed.response["response"]["allowed"] is False
    assert closed.response["response"]["status"]["code"] == 400


def test_fail_closed_denies_unknown_service_account_only():
    req = decode_review(review(make_pod()))
    denied = admit(req, WebhookSettings(), service_account=None, fail_closed=True)
    status = denied.response["response"]["status"]
    assert denied.allowed is False and status["code"] == 403 and "default/app" in status["message"]
    # an SA that exists without a role is not a failure
    from webhook_support import make_sa

    assert admit(req, WebhookSettings(), service_account=make_sa(), fail_closed=True).allowed is True
    assert admit(req, WebhookSettings(), service_account=None).allowed is True


def test_malformed_annotation_is_allowed_with_warning():
    pod = make_pod(annotations={"eks.amazonaws.com/token-expiration": "soon"})
    req = decode_review(review(pod))
    out = admit(req, WebhookSettings(), service_account=role_sa())
    resp = out.response["response"]
    assert resp["allowed"] is True and "patch" in resp
    assert len(resp["warnings"]) == 1 and "token-expiration" in resp["warnings"][0]
    assert all(len(w) <= 120 for w in resp["warnings"])
