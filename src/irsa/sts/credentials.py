"""Temporary credential material: ``ASIA`` key ids and secrets, as AWS shapes them."""

from __future__ import annotations

import base64
import secrets


def new_temporary_access_key_id() -> str:
    """20 characters: ``ASIA`` and 16 base32 characters (uppercase letters and 2-7), like real temporary keys."""
    return "ASIA" + base64.b32encode(secrets.token_bytes(10)).decode("ascii")


def new_secret_access_key() -> str:
    """40 characters of base64 (letters, digits, ``+`` and ``/``), like real secret keys."""
    return base64.b64encode(secrets.token_bytes(30)).decode("ascii")
