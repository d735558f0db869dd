"""Names and defaults of the pod identity webhook (one definition of each).

Values follow aws/amazon-eks-pod-identity-webhook as described in
shared/docs/reference/webhook.md §1-§3 (section numbers in comments below).
"""

from __future__ import annotations

# --- annotation suffixes, appended to "<prefix>/" (§1.1, §1.2) -------------------------------
ROLE_ARN = "role-arn"
AUDIENCE = "audience"
STS_REGIONAL_ENDPOINTS = "sts-regional-endpoints"
TOKEN_EXPIRATION = "token-expiration"
SKIP_CONTAINERS = "skip-containers"
# Beyond upstream (issues #149, #238): per-pod region, honoured only with --enable-pod-region-annotation.
REGION = "region"

# --- labels: hard-coded, independent of --annotation-prefix (§1.3) ---------------------------
SKIP_LABEL = "eks.amazonaws.com/skip-pod-identity-webhook"
POD_IDENTITY_LABEL = "eks.amazonaws.com/pod-identity"
POD_IDENTITY_LABEL_VALUE = "enabled"

# --- env var names (§2.5) ---------------------------------------------------------------------
ENV_ROLE_ARN = "AWS_ROLE_ARN"
ENV_TOKEN_FILE = "AWS_WEB_IDENTITY_TOKEN_FILE"
ENV_CC_FULL_URI = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
ENV_CC_TOKEN_FILE = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
ENV_REGION = "AWS_REGION"
ENV_DEFAULT_REGION = "AWS_DEFAULT_REGION"
ENV_STS_REGIONAL = "AWS_STS_REGIONAL_ENDPOINTS"
STS_REGIONAL_VALUE = "regional"

# --- web identity volume (§2.3, hard-coded upstream) -------------------------------------------
WEB_IDENTITY_VOLUME_NAME = "aws-iam-token"
WEB_IDENTITY_TOKEN_PATH = "token"

# --- defaults of the flags (§3.1) -------------------------------------------------------------
DEFAULT_ANNOTATION_PREFIX = "eks.amazonaws.com"
DEFAULT_TOKEN_AUDIENCE = "sts.amazonaws.com"
DEFAULT_TOKEN_MOUNT_PATH = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
DEFAULT_TOKEN_EXPIRATION = 86400
MIN_TOKEN_EXPIRATION = 600
DEFAULT_CC_AUDIENCE = "pods.eks.amazonaws.com"
DEFAULT_CC_MOUNT_PATH = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount"
DEFAULT_CC_VOLUME_NAME = "eks-pod-identity-token"
DEFAULT_CC_TOKEN_PATH = "eks-pod-identity-token"
DEFAULT_CC_FULL_URI = "http://169.254.170.23/v1/credentials"
DEFAULT_NAMESPACE = "eks"
CONFIG_MAP_NAME = "pod-identity-webhook"
CONFIG_MAP_KEY = "config"
DEFAULT_PORT = 443
DEFAULT_METRICS_PORT = 9999
DEFAULT_SERVICE_NAME = "pod-identity-webhook"

# --- container-credentials jitter (§2.6): only when the final value == 86400 -------------------
JITTER_TRIGGER = 86400
JITTER_MIN = 79200
JITTER_MAX = 86400

# --- Windows detection (§2.2) -----------------------------------------------------------------
WINDOWS_NODE_SELECTORS = ("kubernetes.io/os", "beta.kubernetes.io/os")
WINDOWS_OS = "windows"
