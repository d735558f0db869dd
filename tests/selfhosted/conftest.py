from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.selfhosted.static_https import StaticHttpsServer
from tests.service.conftest import issuer, server  # noqa: F401  (in-process irsa server on SQLite and PostgreSQL; an HTTPS issuer)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def static_host(tmp_path: Path) -> Iterator[StaticHttpsServer]:
    """A static HTTPS host serving ``tmp_path / "public"`` under ``/irsa-bucket`` (not started with a folder
    in place: the folder is whatever the test publishes into it)."""
    srv = StaticHttpsServer(tmp_path / "public", tmp_path / "host-ca").start()
    try:
        yield srv
    finally:
        srv.stop()
