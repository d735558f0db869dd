"""Input checks the IAM service makes itself (beyond the wire codec's model constraints).

The Query codec already rejects what botocore's model forbids (lengths, patterns, enums, ranges). These
checks repeat the few that storage relies on, so that ``IamService.call`` is safe when called directly
(CLI, tests), and add IAM's semantic rules. All checks are linear in the input; no regexes on user input.

Decisions (IAM does not document these texts; see sts-and-iam.md §3, §8):
- Provider URL: must start with exactly ``https://`` (lowercase), have a non-empty host, no query (``?``),
  no fragment (``#``), no user info (``@`` in the authority), no whitespace/control characters, and be at
  most 255 characters in total. Anything else is ``InvalidInput`` ``Invalid Open ID Connect Provider URL``
  (moto's text; the real one is unverified). Ports are allowed although AWS's doc says the URL "should not"
  contain one: self-hosted issuers (``irsa up``, kind clusters) commonly listen on a port.
- Thumbprints: exactly 40 hexadecimal characters; otherwise ``InvalidInput``. More than 5 is
  ``InvalidInput`` ``Thumbprint list must contain fewer than 5 entries.`` (text as moto/AWS print it).
- An ARN that does not parse as the expected IAM resource in our partition is ``InvalidInput``
  ``ARN <arn> is not valid.`` (IAM's text for malformed policy ARNs).
"""

from __future__ import annotations

import base64
import binascii
import json
import unicodedata
from typing import Any

from irsa import arn as arns
from irsa import errors
from irsa.errors import AwsError
from irsa.iam import limits

_NAME_EXTRA = set("+=,.@-_")
_POLICY_PATH_EXTRA = set(".,+@=_-")
_TAG_EXTRA = set("_.:/=+-@")
_HEX = set("0123456789abcdefABCDEF")


def _invalid(member: str, value: object, constraint: str) -> AwsError:
    return AwsError(errors.VALIDATION_ERROR, errors.validation_message(member, value, constraint))


def _is_word_ascii(ch: str) -> bool:
    return ("a" <= ch <= "z") or ("A" <= ch <= "Z") or ("0" <= ch <= "9")


def require_str(params: dict[str, Any], key: str, member: str) -> str:
    value = params.get(key)
    if value is None:
        raise _invalid(member, "null", "Member must not be null")
    if not isinstance(value, str):
        raise _invalid(member, value, "Member must be a string")
    return value


def check_name(value: str, member: str, max_len: int) -> str:
    """IAM entity names: ``[\\w+=,.@-]+`` (ASCII word characters), 1..max_len."""
    if not 1 <= len(value) <= max_len:
        bound = "greater than or equal to 1" if not value else f"less than or equal to {max_len}"
        raise _invalid(member, value, f"Member must have length {bound}")
    for ch in value:
        if not (_is_word_ascii(ch) or ch in _NAME_EXTRA):
            raise _invalid(member, value, "Member must satisfy regular expression pattern: [\\w+=,.@-]+")
    return value


def check_role_path(value: str, member: str = "path") -> str:
    """``/`` or ``/`` + printable ASCII (0x21-0x7E) + ``/``, at most 512."""
    if not 1 <= len(value) <= 512:
        raise _invalid(member, value, "Member must have length less than or equal to 512")
    ok = value == "/" or (
        len(value) >= 3 and value[0] == "/" and value[-1] == "/" and all("\x21" <= ch <= "\x7e" for ch in value)
    )
    if not ok:
        raise _invalid(
            member, value, "Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"
        )
    return value


def check_policy_path(value: str, member: str = "path") -> str:
    """``((/[A-Za-z0-9.,+@=_-]+)*)/``, at most 512."""
    if not 1 <= len(value) <= 512:
        raise _invalid(member, value, "Member must have length less than or equal to 512")
    ok = value[0] == "/" and value[-1] == "/" and "//" not in value and all(
        ch == "/" or _is_word_ascii(ch) or ch in _POLICY_PATH_EXTRA for ch in value
    )
    if not ok:
        raise _invalid(member, value, "Member must satisfy regular expression pattern: ((/[A-Za-z0-9\\.,\\+@=_-]+)*)/")
    return value


def check_path_prefix(value: str, member: str = "pathPrefix") -> str:
    """``\\u002F[\\u0021-\\u007F]*``, at most 512."""
    if not 1 <= len(value) <= 512 or value[0] != "/" or not all("\x21" <= ch <= "\x7f" for ch in value):
        raise _invalid(member, value, "Member must satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*")
    return value


def check_description(value: str, member: str = "description", max_len: int = 1000) -> str:
    if len(value) > max_len:
        raise _invalid(member, value, f"Member must have length less than or equal to {max_len}")
    return value


def check_max_session_duration(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid("maxSessionDuration", value, "Member must be an integer")
    if value < limits.MIN_SESSION_DURATION:
        raise _invalid("maxSessionDuration", value, f"Member must have value greater than or equal to {limits.MIN_SESSION_DURATION}")
    if value > limits.MAX_SESSION_DURATION:
        raise _invalid("maxSessionDuration", value, f"Member must have value less than or equal to {limits.MAX_SESSION_DURATION}")
    return value


def check_max_items(params: dict[str, Any]) -> int:
    value = params.get("MaxItems")
    if value is None:
        return limits.MAX_ITEMS_DEFAULT
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid("maxItems", value, "Member must be an integer")
    if value < 1:
        raise _invalid("maxItems", value, "Member must have value greater than or equal to 1")
    if value > limits.MAX_ITEMS_MAX:
        raise _invalid("maxItems", value, f"Member must have value less than or equal to {limits.MAX_ITEMS_MAX}")
    return value


# ---------------------------------------------------------------------------- tags
def _tag_char_ok(ch: str) -> bool:
    # [\p{L}\p{Z}\p{N}_.:/=+\-@]
    return ch in _TAG_EXTRA or unicodedata.category(ch)[0] in "LZN"


def check_tag_key(key: Any, member: str = "tags.member.key") -> str:
    if not isinstance(key, str) or not 1 <= len(key) <= 128:
        raise _invalid(member, key, "Member must have length less than or equal to 128")
    if not all(_tag_char_ok(ch) for ch in key):
        raise _invalid(member, key, "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+")
    return key


def check_tags(tags: Any) -> list[tuple[str, str]]:
    """A request's ``Tags`` list -> [(key, value)]; duplicate keys (case-insensitive) are InvalidInput."""
    if tags is None:
        return []
    if not isinstance(tags, list):
        raise _invalid("tags", tags, "Member must be a list")
    if len(tags) > limits.TAGS_PER_RESOURCE:
        raise _invalid("tags", "[...]", f"Member must have length less than or equal to {limits.TAGS_PER_RESOURCE}")
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for tag in tags:
        if not isinstance(tag, dict):
            raise _invalid("tags", tag, "Member must be a structure")
        key = check_tag_key(tag.get("Key"))
        value = tag.get("Value")
        if not isinstance(value, str) or len(value) > 256:
            raise _invalid("tags.member.value", value, "Member must have length less than or equal to 256")
        if not all(_tag_char_ok(ch) for ch in value):
            raise _invalid("tags.member.value", value, "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*")
        if key.lower() in seen:
            raise AwsError(errors.INVALID_INPUT, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
        seen.add(key.lower())
        out.append((key, value))
    return out


def check_tag_keys(keys: Any) -> list[str]:
    if not isinstance(keys, list):
        raise _invalid("tagKeys", keys, "Member must not be null")
    if len(keys) > limits.TAGS_PER_RESOURCE:
        raise _invalid("tagKeys", "[...]", f"Member must have length less than or equal to {limits.TAGS_PER_RESOURCE}")
    return [check_tag_key(k, "tagKeys.member") for k in keys]


# ---------------------------------------------------------------------------- OIDC providers
def provider_url_without_scheme(url: str) -> str:
    """Validate a provider URL; return it without ``https://`` (stored and used in the ARN as is)."""
    bad = AwsError(errors.INVALID_INPUT, "Invalid Open ID Connect Provider URL")
    if not isinstance(url, str) or len(url) > limits.PROVIDER_URL_MAX or not url.startswith("https://"):
        raise bad
    rest = url[len("https://"):]
    authority = rest.split("/", 1)[0]
    if not authority or "@" in authority or authority.startswith(":"):
        raise bad
    for ch in rest:
        if ch in "?#\\" or ch.isspace() or ord(ch) < 0x21 or ord(ch) == 0x7F:
            raise bad
    if authority.startswith("["):  # IPv6 literal: [addr] or [addr]:port
        close = authority.find("]")
        host, after = authority[: close + 1], authority[close + 1:]
        if close < 2 or (after and not after.startswith(":")):
            raise bad
        port = after[1:] if after else None
    else:
        host, sep, port_text = authority.partition(":")
        port = port_text if sep else None
    if not host:
        raise bad
    if port is not None and not (port.isascii() and port.isdigit() and len(port) <= 5 and 0 < int(port) < 65536):
        raise bad
    return rest


def check_client_id(value: Any, member: str = "clientID") -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 255:
        raise _invalid(member, value, "Member must have length less than or equal to 255")
    return value


def check_client_ids(values: Any) -> list[str]:
    if values is None:
        return []
    if not isinstance(values, list):
        raise _invalid("clientIDList", values, "Member must be a list")
    ids = [check_client_id(v, "clientIDList.member") for v in values]
    unique = list(dict.fromkeys(ids))
    if len(unique) > limits.CLIENT_IDS_PER_PROVIDER:
        raise AwsError(errors.LIMIT_EXCEEDED, limits.quota_message("ClientIdsPerOpenIdConnectProvider", limits.CLIENT_IDS_PER_PROVIDER))
    return unique


def check_thumbprints(values: Any) -> list[str]:
    if values is None:
        return []
    if not isinstance(values, list):
        raise _invalid("thumbprintList", values, "Member must be a list")
    if len(values) > limits.THUMBPRINTS_PER_PROVIDER:
        raise AwsError(errors.INVALID_INPUT, "Thumbprint list must contain fewer than 5 entries.")
    out: list[str] = []
    for value in values:
        if not isinstance(value, str) or len(value) != limits.THUMBPRINT_LENGTH:
            constraint = (
                f"Member must have length less than or equal to {limits.THUMBPRINT_LENGTH}"
                if isinstance(value, str) and len(value) > limits.THUMBPRINT_LENGTH
                else f"Member must have length greater than or equal to {limits.THUMBPRINT_LENGTH}"
            )
            raise _invalid("thumbprintList.member", value, constraint)
        if not all(ch in _HEX for ch in value):
            raise AwsError(errors.INVALID_INPUT, f"Thumbprint {value} is not a 40-character hexadecimal SHA-1 fingerprint.")
        out.append(value)
    return list(dict.fromkeys(out))


# ---------------------------------------------------------------------------- ARNs
def _arn_invalid(value: str) -> AwsError:
    return AwsError(errors.INVALID_INPUT, f"ARN {value} is not valid.")


def _is_account(value: str) -> bool:
    return len(value) == 12 and value.isdigit() and value.isascii()


def parse_iam_arn(value: Any, partition: str, resource_type: str) -> tuple[str, str]:
    """``arn:<partition>:iam::<account>:<type>/<rest>`` -> (account, rest). ``account`` may be ``aws``."""
    if not isinstance(value, str) or not 20 <= len(value) <= 2048:
        raise _arn_invalid(str(value))
    parsed = arns.parse_arn(value)
    prefix = resource_type + "/"
    if (
        parsed is None
        or parsed.partition != partition
        or parsed.service != "iam"
        or parsed.region != ""
        or not parsed.resource.startswith(prefix)
        or len(parsed.resource) == len(prefix)
        or not (_is_account(parsed.account) or (resource_type == "policy" and parsed.account == "aws"))
    ):
        raise _arn_invalid(value)
    return parsed.account, parsed.resource[len(prefix):]


def split_policy_arn(value: str, partition: str) -> tuple[str, str, str]:
    """Policy ARN -> (account or ``aws``, path, name). The name is the last path segment."""
    account, rest = parse_iam_arn(value, partition, "policy")
    if rest.endswith("/") or "//" in rest:
        raise _arn_invalid(value)
    path, name = arns.split_path_and_name("/" + rest if not rest.startswith("/") else rest)
    return account, path, name


def check_account_id(value: Any) -> str:
    if not isinstance(value, str) or not _is_account(value):
        raise AwsError(errors.VALIDATION_ERROR, f"Account ID {value!r} must be 12 digits.")
    return value


# ---------------------------------------------------------------------------- pagination markers
def encode_marker(key: list[Any]) -> str:
    """An opaque marker (base64url of the last returned item's sort key), at most 320 characters."""
    raw = json.dumps(key, separators=(",", ":"), ensure_ascii=True).encode()
    marker = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    if len(marker) > 320:  # the caller chose a key that can be too long: a programming error
        raise ValueError("marker too long")
    return marker


def decode_marker(params: dict[str, Any], arity: int) -> list[Any] | None:
    marker = params.get("Marker")
    if marker is None:
        return None
    bad = AwsError(errors.VALIDATION_ERROR, "Invalid Marker.")
    if not isinstance(marker, str) or not 1 <= len(marker) <= 320:
        raise bad
    try:
        key = json.loads(base64.urlsafe_b64decode(marker + "=" * (-len(marker) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(key, list) or len(key) != arity or not all(isinstance(k, (str, int)) and not isinstance(k, bool) for k in key):
        raise bad
    return key


def check_version_id(value: Any) -> int | None:
    """``v<N>`` -> N; other well-formed ids (``v1.x``) -> None (no such version). Bad form -> ValidationError."""
    if not isinstance(value, str) or len(value) < 2 or value[0] != "v" or value[1] == "0":
        raise _invalid("versionId", value, "Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?")
    number, _, suffix = value[1:].partition(".")
    if not number.isdigit() or not number.isascii() or not all(_is_word_ascii(c) or c == "-" for c in suffix):
        raise _invalid("versionId", value, "Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?")
    if "." in value or len(number) > 9:
        return None
    return int(number)
