"""Fixtures for the OIDC tests. ``tests.support`` must be importable also under a bare ``pytest`` run
(``python -m pytest`` puts the repository root on sys.path; the ``pytest`` script does not)."""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.support.issuer import issuer_server  # noqa: E402,F401  (pytest fixture)
