"""Issuer URLs for self-hosted clusters: what is refused, what is warned about, and where things live.

Facts (reference issuer-cli-and-doctor.md):
- kube-apiserver's discovery needs an https issuer without query or fragment, and an https ``jwks_uri``
  (§1.3, §1.7). ``irsa.oidc.documents.discovery_document`` enforces the same when the files are built;
  the checks here come first so the CLI can say why before touching any key or file.
- ``issuer`` must equal the token's ``iss`` byte for byte; a trailing slash alone breaks it (§1.4, the
  SELF_HOSTED_SETUP.md fix of 2021-10-25). Warned, not refused: an issuer with a slash is *valid*, just a trap.
- The old ``s3-<region>.amazonaws.com`` host form (before 2022-11-18) still exists in clusters built from the
  old guide (§1.4); it works but differs from the current form, which breaks byte-for-byte matching if a
  provider was created with the other spelling. Warned.
- IAM's ``CreateOpenIDConnectProvider`` takes a URL of at most 255 characters (botocore iam model,
  ``OpenIDConnectProviderUrlType``); a longer issuer could never get a provider. Refused.
- Shape A publishes the JWKS at ``<issuer>/keys.json`` (§1.4 A).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from irsa.oidc.documents import DISCOVERY_PATH

MAX_PROVIDER_URL_CHARS = 255  # botocore iam model: OpenIDConnectProviderUrlType max 255
JWKS_FILE = "keys.json"
DISCOVERY_FILE = DISCOVERY_PATH.lstrip("/")  # ".well-known/openid-configuration" (no .json suffix)
_AWS_DOMAINS = (".amazonaws.com.cn", ".amazonaws.com")


class IssuerUrlError(ValueError):
    """The URL cannot be an IRSA issuer; the message says why."""


@dataclass(frozen=True)
class S3Location:
    """Where an S3-hosted issuer's objects go: ``s3://<bucket>/<prefix>`` (prefix empty or ending in '/')."""

    bucket: str
    prefix: str
    style: str  # "path" or "virtual-hosted"

    def uri(self, relative: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}{relative}"


def check_issuer_url(url: str) -> list[str]:
    """Refuse what can never work (``IssuerUrlError``); return warnings for what is valid but risky."""
    if not isinstance(url, str) or not url:
        raise IssuerUrlError("the issuer URL is empty")
    if len(url) > MAX_PROVIDER_URL_CHARS:
        raise IssuerUrlError(
            f"the issuer URL has {len(url)} characters; IAM OIDC provider URLs are limited to {MAX_PROVIDER_URL_CHARS}"
        )
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise IssuerUrlError(f"the issuer URL contains whitespace or control characters: {url!r}")
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise IssuerUrlError(
            f"the issuer must be an https URL (AWS STS fetches discovery over HTTPS only; kube-apiserver "
            f"disables issuer discovery otherwise), got {url!r}"
        )
    if "@" in parts.netloc:
        raise IssuerUrlError(f"the issuer URL must not contain user information: {url!r}")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise IssuerUrlError(f"the issuer URL must not contain a query or fragment (OpenID Discovery 1.0): {url!r}")
    if not parts.hostname:
        raise IssuerUrlError(f"the issuer URL has no host: {url!r}")
    try:
        _ = parts.port
    except ValueError:
        raise IssuerUrlError(f"the issuer URL has an invalid port: {url!r}") from None

    warnings: list[str] = []
    if url.endswith("/"):
        warnings.append(
            f"the issuer ends with '/': every token's iss must then end with '/' too (it must equal the issuer "
            f"byte for byte), and most tools and guides use no trailing slash; did you mean {url.rstrip('/')!r}?"
        )
    host = parts.hostname
    if any(label.startswith("s3-") for label in host.split(".")) and host.endswith(_AWS_DOMAINS):
        warnings.append(
            f"{host} is the legacy 's3-<region>' form; the current form is 's3.<region>'. Both work, but the IAM "
            f"OIDC provider URL and the token's iss must use the same spelling"
        )
    location = s3_location(url)
    if location is not None and not location.bucket:
        warnings.append(f"{url} is the S3 service root; a path-style S3 issuer needs the bucket in the path")
    if not url.startswith("https://") or parts.netloc != parts.netloc.lower():
        warnings.append("the issuer URL's scheme or host is not lower-case; iss matching is byte for byte")
    return warnings


def jwks_uri_for(issuer: str) -> str:
    """Shape A's ``jwks_uri``: ``<issuer>/keys.json`` (one slash, whether or not the issuer ends in one)."""
    return issuer.rstrip("/") + "/" + JWKS_FILE


def discovery_url_for(issuer: str) -> str:
    """Where clients (and STS) fetch the discovery document."""
    return issuer.rstrip("/") + DISCOVERY_PATH


def host_path(issuer: str) -> str:
    """The issuer without ``https://``: IAM's provider URL form and the trust-policy condition-key prefix."""
    return issuer.removeprefix("https://")


def s3_location(issuer: str) -> S3Location | None:
    """The bucket and key prefix of an issuer served straight from S3 (path-style
    ``s3[.-]<region>.amazonaws.com/<bucket>/<prefix>`` or virtual-hosted ``<bucket>.s3[.-]<region>...``);
    ``None`` for any other host (CloudFront, a custom domain, a web server)."""
    parts = urlsplit(issuer)
    host = (parts.hostname or "").lower()
    domain = next((d for d in _AWS_DOMAINS if host.endswith(d)), None)
    if domain is None:
        return None
    labels = host[: -len(domain)].split(".")
    s3_index = next((i for i, label in enumerate(labels) if label == "s3" or label.startswith("s3-")), None)
    if s3_index is None:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if s3_index == 0:
        bucket = segments[0] if segments else ""
        rest = segments[1:]
        style = "path"
    else:
        bucket = ".".join(labels[:s3_index])
        rest = segments
        style = "virtual-hosted"
    prefix = "".join(f"{s}/" for s in rest)
    return S3Location(bucket, prefix, style)
