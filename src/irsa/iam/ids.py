"""Identifiers IAM mints: unique IDs (``AROA``/``ANPA`` + 17) and admin access keys."""

from __future__ import annotations

import secrets
import string

_UPPER_ALNUM = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


def _random(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def new_role_id() -> str:
    return "AROA" + _random(_UPPER_ALNUM, 17)


def new_policy_id() -> str:
    return "ANPA" + _random(_UPPER_ALNUM, 17)


def new_access_key_id() -> str:
    return "AKIA" + _random(_UPPER_ALNUM, 16)


def new_secret_access_key() -> str:
    return _random(_SECRET_ALPHABET, 40)
