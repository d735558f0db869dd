"""Policy documents and id checks shared by the IAM tests (IRSA trust policy as in the EKS user guide)."""

from __future__ import annotations

import json

PROVIDER = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"


def trust(account: str, sub: str = "system:serviceaccount:default:my-service-account") -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/{PROVIDER}"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {f"{PROVIDER}:sub": sub, f"{PROVIDER}:aud": "sts.amazonaws.com"}},
                }
            ],
        },
        indent=2,
    )


def is_aws_id(value: str, prefix: str) -> bool:
    rest = value[len(prefix):]
    return value.startswith(prefix) and len(rest) == 17 and all(c.isupper() or c.isdigit() for c in rest) and rest.isascii()


IDENTITY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::my-bucket/*"}]})


def identity_of_size(n_resources: int) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                       "Resource": [f"arn:aws:s3:::bucket-{i:05}/*" for i in range(n_resources)]}],
    }, separators=(",", ":"))
