"""What a pod gets from the webhook, read back from the webhook's own mutation.

Expected values: reference webhook.md §2.2 (env order and names), §2.3 (volume aws-iam-token, path token,
audience sts.amazonaws.com, 86400 s), §2.5, §2.6 (600 s minimum), §2.7 (worked example), §1.2 (pod
annotation eks.amazonaws.com/token-expiration).
"""

from __future__ import annotations

import random

import pytest

from irsa.podrunner.podspec import (
    NAME_SUFFIX_ALPHABET,
    PodSpecError,
    generate_pod_name,
    is_dns_subdomain,
    pod_identity,
)
from irsa.webhook import Mode, ServiceAccount, WebhookSettings

ROLE = "arn:aws:iam::111122223333:role/s3-reader"
MOUNT = "/var/run/secrets/eks.amazonaws.com/serviceaccount"


def _sa(**annotations: str) -> ServiceAccount:
    return ServiceAccount("default", "app", annotations)


def test_worked_example_env_and_volume():
    sa = _sa(**{"eks.amazonaws.com/role-arn": ROLE, "eks.amazonaws.com/sts-regional-endpoints": "true"})
    ident = pod_identity(sa, "app-7f9kd", WebhookSettings(aws_default_region="us-west-2"))
    assert ident.mode is Mode.WEB_IDENTITY
    assert ident.env == (
        ("AWS_STS_REGIONAL_ENDPOINTS", "regional"),
        ("AWS_DEFAULT_REGION", "us-west-2"),
        ("AWS_REGION", "us-west-2"),
        ("AWS_ROLE_ARN", ROLE),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", f"{MOUNT}/token"),
    )
    token = ident.token
    assert token is not None
    assert (token.volume_name, token.path, token.audience, token.expiration_seconds, token.mount_path) == (
        "aws-iam-token", "token", "sts.amazonaws.com", 86400, MOUNT)
    assert (ident.pod_name, ident.namespace, ident.service_account) == ("app-7f9kd", "default", "app")


def test_defaults_without_region_or_regional_annotation():
    ident = pod_identity(_sa(**{"eks.amazonaws.com/role-arn": ROLE}), "p", WebhookSettings())
    assert [name for name, _ in ident.env] == ["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"]


def test_sa_annotations_audience_and_expiration():
    sa = _sa(**{"eks.amazonaws.com/role-arn": ROLE, "eks.amazonaws.com/audience": "my-aud",
                "eks.amazonaws.com/token-expiration": "100"})
    token = pod_identity(sa, "p", WebhookSettings()).token
    assert token is not None and token.audience == "my-aud"
    assert token.expiration_seconds == 600  # raised to the 600 s minimum (§2.6)


def test_forced_expiration_is_the_pod_annotation():
    sa = _sa(**{"eks.amazonaws.com/role-arn": ROLE, "eks.amazonaws.com/token-expiration": "7200"})
    token = pod_identity(sa, "p", WebhookSettings(), token_expiration=600).token
    assert token is not None and token.expiration_seconds == 600  # the pod annotation wins over the SA's (§1.6)
    with pytest.raises(PodSpecError, match="less than 600"):
        pod_identity(sa, "p", WebhookSettings(), token_expiration=599)


def test_sa_without_role_gets_nothing():
    ident = pod_identity(_sa(**{"eks.amazonaws.com/audience": "x"}), "p", WebhookSettings(aws_default_region="eu-west-1"))
    assert ident.mode is None and ident.env == () and ident.token is None and ident.skip_reason


def test_pod_names():
    name = generate_pod_name("iam-test", random.Random(1))
    assert name.startswith("iam-test-") and len(name) == len("iam-test-") + 5
    assert set(name[len("iam-test-"):]) <= set(NAME_SUFFIX_ALPHABET)
    assert len(generate_pod_name("a" * 100)) == 63  # generateName: base cut to 58, plus 5
    for good in ("app-1", "a.b-c", "x" * 253):
        assert is_dns_subdomain(good)
    for bad in ("", "App", "-a", "a-", "a..b", "a_b", "x" * 254, "é"):
        assert not is_dns_subdomain(bad)
    with pytest.raises(PodSpecError, match="DNS-1123"):
        pod_identity(_sa(**{"eks.amazonaws.com/role-arn": ROLE}), "Bad_Name", WebhookSettings())
