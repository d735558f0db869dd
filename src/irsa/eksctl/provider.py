"""``utils associate-iam-oidc-provider`` (reference issuer-cli-and-doctor.md §3.1): plan unless approved,
idempotent, thumbprint of the last certificate the issuer presents."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from irsa.eksctl.aws import Aws, describe, error_code
from irsa.eksctl.cluster import describe_cluster, get_provider
from irsa.eksctl.naming import EksctlError
from irsa.eksctl.thumbprint import issuer_thumbprint

Echo = Callable[[str], None]


@dataclass(frozen=True)
class AssociateResult:
    provider_arn: str
    created: bool
    existed: bool
    thumbprint: str | None


def associate(aws: Aws, cluster: str, *, approve: bool, echo: Echo) -> AssociateResult:
    info = describe_cluster(aws, cluster)
    provider_arn = info.provider_arn
    if get_provider(aws, provider_arn) is not None:
        echo(f'IAM Open ID Connect provider is already associated with cluster "{cluster}" in "{info.region}" ({provider_arn})')
        return AssociateResult(provider_arn, created=False, existed=True, thumbprint=None)
    thumbprint = issuer_thumbprint(info.issuer.url, aws.extra_ca_files)
    if not approve:
        echo(f'(plan) would create IAM Open ID Connect provider for cluster "{cluster}" in "{info.region}":')
        echo(f"  url:         {info.issuer.url}")
        echo(f"  client IDs:  {info.audience}")
        echo(f"  thumbprint:  {thumbprint}")
        echo(f"  ARN:         {provider_arn}")
        echo("no changes were applied, run again with '--approve' to apply the changes")
        return AssociateResult(provider_arn, created=False, existed=False, thumbprint=thumbprint)
    try:
        out = aws.client("iam").create_open_id_connect_provider(
            Url=info.issuer.url, ClientIDList=[info.audience], ThumbprintList=[thumbprint],
            Tags=[{"Key": "alpha.eksctl.io/cluster-name", "Value": cluster}])
    except ClientError as exc:
        if error_code(exc) == "EntityAlreadyExists":  # created concurrently: the goal is reached
            echo(f'IAM Open ID Connect provider is already associated with cluster "{cluster}" in "{info.region}" ({provider_arn})')
            return AssociateResult(provider_arn, created=False, existed=True, thumbprint=thumbprint)
        raise EksctlError(f"iam:CreateOpenIDConnectProvider: {describe(exc)}") from None
    except BotoCoreError as exc:
        raise EksctlError(f"iam:CreateOpenIDConnectProvider: {describe(exc)}") from None
    created_arn = out["OpenIDConnectProviderArn"]
    echo(f'created IAM Open ID Connect provider for cluster "{cluster}" in "{info.region}": {created_arn}')
    echo(f"  thumbprint:  {thumbprint}")
    return AssociateResult(created_arn, created=True, existed=False, thumbprint=thumbprint)
