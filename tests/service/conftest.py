from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.service.server import free_port, start_server
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
    port, issuer_port = free_port(), free_port()
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IRSA_"))}
    proc = subprocess.Popen([sys.executable, "-m", "irsa.cli.main", "up", "--port", str(port), "--issuer-port", str(issuer_port),
                             "--data-dir", str(data), "--account-id", "210987654321", "--region", "eu-west-1"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.time() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            raise AssertionError(f"irsa up did not become healthy: {proc.stdout.read()}")
        time.sleep(0.1)
    yield port, issuer_port, data, env
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert "Traceback" not in out, out
