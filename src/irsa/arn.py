"""ARN formats and partitions: the one place where ARNs are built and parsed."""

from __future__ import annotations

from dataclasses import dataclass

STS_AUDIENCE = {"aws": "sts.amazonaws.com", "aws-cn": "sts.amazonaws.com.cn", "aws-us-gov": "sts.amazonaws.com"}


def partition_for_region(region: str) -> str:
    """``cn-*`` regions are in ``aws-cn``, ``us-gov-*`` in ``aws-us-gov``, the rest in ``aws``."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def sts_audience(partition: str) -> str:
    return STS_AUDIENCE.get(partition, "sts.amazonaws.com")


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"

    @property
    def resource_type(self) -> str:
        return self.resource.split("/", 1)[0].split(":", 1)[0]


def parse_arn(text: str) -> Arn | None:
    """Split an ARN into its six fields; ``None`` when it is not an ARN."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[1] or not parts[2]:
        return None
    return Arn(parts[1], parts[2], parts[3], parts[4], parts[5])


def role_arn(partition: str, account: str, path: str, name: str) -> str:
    return f"arn:{partition}:iam::{account}:role{path}{name}"


def policy_arn(partition: str, account: str, path: str, name: str) -> str:
    return f"arn:{partition}:iam::{account}:policy{path}{name}"


def aws_managed_policy_arn(partition: str, path: str, name: str) -> str:
    return f"arn:{partition}:iam::aws:policy{path}{name}"


def oidc_provider_arn(partition: str, account: str, url_without_scheme: str) -> str:
    return f"arn:{partition}:iam::{account}:oidc-provider/{url_without_scheme}"


def assumed_role_arn(partition: str, account: str, role_name: str, session_name: str) -> str:
    return f"arn:{partition}:sts::{account}:assumed-role/{role_name}/{session_name}"


def account_root_arn(partition: str, account: str) -> str:
    return f"arn:{partition}:iam::{account}:root"


def user_arn(partition: str, account: str, path: str, name: str) -> str:
    return f"arn:{partition}:iam::{account}:user{path}{name}"


def eks_cluster_arn(partition: str, region: str, account: str, name: str) -> str:
    return f"arn:{partition}:eks:{region}:{account}:cluster/{name}"


def split_path_and_name(resource_after_type: str) -> tuple[str, str]:
    """``/a/b/Name`` -> (``/a/b/``, ``Name``); ``Name`` -> (``/``, ``Name``)."""
    if "/" not in resource_after_type:
        return "/", resource_after_type
    head, _, name = resource_after_type.rpartition("/")
    return (head + "/") if head.startswith("/") else ("/" + head + "/"), name
