"""What the workflows need to know about an EKS cluster: its issuer, partition and account (from the
cluster ARN, as eksctl takes them), and its IAM OIDC provider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from irsa import arn
from irsa.eksctl.aws import Aws, describe, error_code
from irsa.eksctl.naming import EksctlError, Issuer, check_cluster_name, parse_issuer


@dataclass(frozen=True)
class ClusterInfo:
    name: str
    region: str
    partition: str
    account: str
    issuer: Issuer

    @property
    def provider_arn(self) -> str:
        return self.issuer.provider_arn(self.partition, self.account)

    @property
    def audience(self) -> str:
        """The client ID / token audience for STS in this partition (``sts.amazonaws.com.cn`` in aws-cn)."""
        return arn.sts_audience(self.partition)


def describe_cluster(aws: Aws, name: str) -> ClusterInfo:
    check_cluster_name(name)
    try:
        cluster = aws.client("eks").describe_cluster(name=name)["cluster"]
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise EksctlError(f"cluster {name!r} not found in region {aws.region} ({describe(exc)})") from None
        raise EksctlError(f"eks:DescribeCluster {name}: {describe(exc)}") from None
    except BotoCoreError as exc:
        raise EksctlError(f"eks:DescribeCluster {name}: {describe(exc)}") from None
    issuer = ((cluster.get("identity") or {}).get("oidc") or {}).get("issuer")
    if not issuer:
        raise EksctlError(f"cluster {name!r} has no OIDC issuer URL (DescribeCluster identity.oidc.issuer is empty)")
    parsed = arn.parse_arn(cluster.get("arn") or "")
    if parsed is None:
        raise EksctlError(f"cluster {name!r}: DescribeCluster returned no usable ARN ({cluster.get('arn')!r})")
    return ClusterInfo(name, parsed.region or aws.region, parsed.partition, parsed.account, parse_issuer(issuer))


def get_provider(aws: Aws, provider_arn: str) -> dict[str, Any] | None:
    """``iam:GetOpenIDConnectProvider``; ``None`` on NoSuchEntity (eksctl's "absent")."""
    try:
        return aws.client("iam").get_open_id_connect_provider(OpenIDConnectProviderArn=provider_arn)
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            return None
        raise EksctlError(f"iam:GetOpenIDConnectProvider {provider_arn}: {describe(exc)}") from None
    except BotoCoreError as exc:
        raise EksctlError(f"iam:GetOpenIDConnectProvider: {describe(exc)}") from None
