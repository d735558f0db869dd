from __future__ import annotations

import os

import pytest

from tests.service.helpers import irsa_up_process
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


@pytest.fixture
def irsa_up(tmp_path):
    """`irsa up` as a user starts it: a separate process, account 210987654321, region eu-west-1.
    Yields (AWS endpoint port, issuer port, data dir, environment without AWS_/IRSA_ variables)."""
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IRSA_"))}
    with irsa_up_process(data, env, "--account-id", "210987654321", "--region", "eu-west-1") as info:
        yield info["port"], info["issuer_port"], data, env
    assert info["returncode"] == 0, info["output"]
    assert "Traceback" not in info["output"], info["output"]
