"""Runs the identity service (`irsa up`'s runtime and ASGI endpoint) on loopback inside a test."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from irsa.server.runtime import Runtime, Settings
from irsa.server.serve import Listeners


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningServer:
    runtime: Runtime
    endpoint: str
    access_key_id: str
    secret_access_key: str
    account_id: str
    region: str
    data_dir: Path
    _server: Listeners
    _thread: threading.Thread

    def env(self, **extra: str) -> dict[str, str]:
        """A clean environment for an AWS CLI/boto3 subprocess talking to this server as admin."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        base.update({
            "AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key, "AWS_DEFAULT_REGION": self.region,
            "AWS_CONFIG_FILE": str(self.data_dir / "no-config"), "AWS_SHARED_CREDENTIALS_FILE": str(self.data_dir / "no-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": "",
        })
        base.update(extra)
        return base

    def client(self, service: str, **kw):
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, region_name=self.region,
                            aws_access_key_id=kw.pop("aws_access_key_id", self.access_key_id),
                            aws_secret_access_key=kw.pop("aws_secret_access_key", self.secret_access_key), **kw)

    def stop(self) -> None:
        self._server.stop()
        self._thread.join(timeout=10)
        self.runtime.close()


def start_server(data_dir: Path, database_url: str, *, region: str = "us-east-1", account_id: str = "111122223333",
                 clock=time.time, **settings_kw) -> RunningServer:
    settings = Settings(data_dir=data_dir, port=free_port(), issuer_port=free_port(), account_id=account_id, region=region,
                        database_url=database_url, **settings_kw)
    runtime = Runtime(settings, clock=clock)
    server = Listeners(runtime, log_level="warning", loop="asyncio")
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.time() + 15
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("irsa server did not start")
        time.sleep(0.02)
    return RunningServer(runtime, settings.endpoint, runtime.admin.access_key_id, runtime.admin.secret_access_key,
                         account_id, region, data_dir, server, thread)
