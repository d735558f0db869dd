from __future__ import annotations

import pytest

from tests.service.server import start_server
from tests.support.databases import BACKEND_PARAMS, database_url
from tests.support.issuer import IssuerServer


@pytest.fixture(params=BACKEND_PARAMS)
def server(request, tmp_path):
    with database_url(request.param, tmp_path) as url:
        running = start_server(tmp_path / "data", url)
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture
def sqlite_server(tmp_path):
    running = start_server(tmp_path / "data", f"sqlite:///{tmp_path / 'irsa.db'}")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def issuer(tmp_path):
    srv = IssuerServer(tmp_path / "issuer").start()
    try:
        yield srv
    finally:
        srv.stop()
