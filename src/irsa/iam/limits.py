"""IAM quotas enforced by the service (reference sts-and-iam.md §2.7, policy-evaluation.md §1.6).

Policy-size quotas (trust 2048, managed 6144, inline aggregate 10240) live with the policy engine
(``irsa.policy.limits``) together with the size function; they are not repeated here.

One definition of each number; messages that name a quota use IAM's ``Cannot exceed quota for <Name>: <N>``.
"""

from __future__ import annotations

OIDC_PROVIDERS_PER_ACCOUNT = 100
CLIENT_IDS_PER_PROVIDER = 100
THUMBPRINTS_PER_PROVIDER = 5
THUMBPRINT_LENGTH = 40
PROVIDER_URL_MAX = 255
TAGS_PER_RESOURCE = 50
MANAGED_POLICIES_PER_ROLE = 10  # PoliciesPerRole, default quota
POLICY_VERSIONS = 5
MIN_SESSION_DURATION = 3600
MAX_SESSION_DURATION = 43200
DEFAULT_SESSION_DURATION = 3600
MAX_ITEMS_DEFAULT = 100
MAX_ITEMS_MAX = 1000


def quota_message(name: str, value: int) -> str:
    return f"Cannot exceed quota for {name}: {value}"
