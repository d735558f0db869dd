"""Running the listeners of `irsa up` in one event loop: the AWS endpoint and the issuer (TLS)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator

import uvicorn

from irsa.server.runtime import Runtime


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # signals are handled once, for all listeners, by Listeners
        yield


class Listeners:
    def __init__(self, runtime: Runtime, *, log_level: str = "info", loop: str = "uvloop") -> None:
        s = runtime.settings
        cert, key = runtime.server_certificate()
        common = dict(log_level=log_level, access_log=False, lifespan="on", http="httptools", loop=loop)
        aws_tls = dict(ssl_certfile=str(cert), ssl_keyfile=str(key)) if s.https else {}
        self.servers = [
            _Server(uvicorn.Config(runtime.aws_endpoint(), host=s.host, port=s.port, timeout_keep_alive=30, **common, **aws_tls)),
            _Server(uvicorn.Config(runtime.issuer_endpoint(), host=s.host, port=s.issuer_port, timeout_keep_alive=30,
                                   ssl_certfile=str(cert), ssl_keyfile=str(key), **common)),
        ]

    @property
    def started(self) -> bool:
        return all(server.started for server in self.servers)

    def stop(self) -> None:
        for server in self.servers:
            server.should_exit = True

    async def serve(self, *, handle_signals: bool = False) -> None:
        if handle_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.stop)
        tasks = [asyncio.create_task(server.serve()) for server in self.servers]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        self.stop()  # one listener ended (or failed to bind): end the other too
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
