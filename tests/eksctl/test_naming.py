"""Pure facts of the eksctl workflow; expected values from issuer-cli-and-doctor.md §3.2-§3.4."""

from __future__ import annotations

import re

import pytest

from irsa.eksctl import naming as n
from irsa.eksctl.naming import EksctlError


def test_trust_policy_is_eksctls_shape():
    provider = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABC"
    issuer = n.parse_issuer("https://oidc.eks.us-west-2.amazonaws.com/id/ABC")
    assert n.condition_prefix(issuer, provider) == "oidc.eks.us-west-2.amazonaws.com/id/ABC"
    assert n.trust_policy(provider, "oidc.eks.us-west-2.amazonaws.com/id/ABC", "backend-apps", "s3-reader", "sts.amazonaws.com") == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRoleWithWebIdentity"], "Principal": {"Federated": provider},
                       "Condition": {"StringEquals": {
                           "oidc.eks.us-west-2.amazonaws.com/id/ABC:aud": "sts.amazonaws.com",
                           "oidc.eks.us-west-2.amazonaws.com/id/ABC:sub": "system:serviceaccount:backend-apps:s3-reader"}}}],
    }


def test_provider_arn_keeps_what_iam_keeps():
    assert n.parse_issuer("https://oidc.eks.cn-north-1.amazonaws.com.cn/id/X").provider_arn("aws-cn", "1") == \
        "arn:aws-cn:iam::1:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/X"
    local = n.parse_issuer("https://127.0.0.1:4578/id/AB")
    assert local.provider_arn("aws", "2") == "arn:aws:iam::2:oidc-provider/127.0.0.1:4578/id/AB"
    assert local.host_path == "127.0.0.1/id/AB"  # eksctl's Hostname()+Path, without the port
    with pytest.raises(EksctlError):
        n.parse_issuer("http://example.com/id/X")


def test_stack_and_default_role_names():
    assert n.stack_name("c1", "backend", "s3-reader") == "eksctl-c1-addon-iamserviceaccount-backend-s3-reader"
    name = n.default_role_name("c1", "kube-system", "cluster-autoscaler")
    # CloudFormation truncates the stack-name part so the whole fits IAM's 64 characters
    assert len(name) == 64 and re.fullmatch(r"eksctl-c1-addon-iamserviceaccount-kube-sys[a-z-]*-Role1-[A-Z0-9]{13}", name)
    assert n.default_role_name("c", "d", "e", suffix="ABCDEFGHIJKLM") == "eksctl-c-addon-iamserviceaccount-d-e-Role1-ABCDEFGHIJKLM"
    long = n.default_role_name("a" * 60, "ns", "sa", suffix="X" * 13)
    assert len(long) == 64 and long.endswith("-Role1-" + "X" * 13) and "--" not in long
    assert n.default_role_name("c", "d", "e") != n.default_role_name("c", "d", "e")


def test_tags_parse_and_ownership():
    assert n.parse_tags("team=a, env=dev") == {"team": "a", "env": "dev"}
    assert n.parse_tags("k=") == {"k": ""}
    for bad in ("k", "=v", "k=1,k=2", "irsa:created-by=x", "alpha.eksctl.io/cluster-name=x"):
        with pytest.raises(EksctlError):
            n.parse_tags(bad)
    tags = {t["Key"]: t["Value"] for t in n.role_tags("c1", "ns", "sa", {"team": "a"})}
    assert tags["alpha.eksctl.io/iamserviceaccount-name"] == "ns/sa" and tags["alpha.eksctl.io/cluster-name"] == "c1"
    assert n.owned_by_us(tags, "c1", "ns", "sa")
    assert not n.owned_by_us(tags, "c2", "ns", "sa") and not n.owned_by_us(tags, "c1", "ns", "other")
    eksctl_made = {k: v for k, v in tags.items() if k != n.OWNER_TAG}
    assert not n.owned_by_us(eksctl_made, "c1", "ns", "sa")


def test_service_account_object_and_merge():
    obj = n.service_account_object("ns", "sa", "arn:aws:iam::1:role/r")
    assert obj["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "eksctl"}
    assert obj["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r"}
    existing = {"metadata": {"labels": {"app": "x"}, "annotations": {"other": "y"}}}
    labels, annotations, changed = n.merged_metadata(existing, "arn:aws:iam::1:role/r")
    assert changed and labels == {"app": "x", "app.kubernetes.io/managed-by": "eksctl"}
    assert annotations == {"other": "y", "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r"}
    assert n.merged_metadata(obj, "arn:aws:iam::1:role/r")[2] is False


def test_names_and_arns_are_checked():
    for bad in ("Bad", "-x", "a" * 64, ""):
        with pytest.raises(EksctlError):
            n.check_namespace(bad)
    n.check_service_account_name("a.b-c")
    with pytest.raises(EksctlError):
        n.check_service_account_name("A")
    with pytest.raises(EksctlError):
        n.check_cluster_name("bad name")
    assert n.policy_arn_problem("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", "aws") is None
    assert "partition" in n.policy_arn_problem("arn:aws-cn:iam::aws:policy/X", "aws")
    assert "not an IAM policy ARN" in n.policy_arn_problem("AmazonS3ReadOnlyAccess", "aws")
    assert n.role_arn_problem("arn:aws:iam::1:role/x") is None and n.role_arn_problem("arn:aws:iam::1:policy/x")
