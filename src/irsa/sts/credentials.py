"""Temporary credential material: ``ASIA`` key ids and secrets, as AWS shapes them."""

from __future__ import annotations

import secrets
import string

_UPPER_ALNUM = string.ascii_uppercase + "234567"  # AWS key ids use base32-like characters
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


def new_temporary_access_key_id() -> str:
    """20 characters starting with ``ASIA``, like real temporary keys."""
    return "ASIA" + "".join(secrets.choice(_UPPER_ALNUM) for _ in range(16))


def new_secret_access_key() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
