"""Running the listeners of `irsa up` in one event loop: the AWS endpoint and the issuer (TLS)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import uvicorn

from irsa.server.runtime import Runtime, Settings


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # signals are handled once, for all listeners, by Listeners
        yield


class Listeners:
    """The two listeners of one process. ``sockets`` (AWS endpoint, issuer) are given when several worker
    processes share listening sockets bound by their parent; ``certificate`` is then the parent's."""

    def __init__(self, runtime: Runtime, *, log_level: str = "info", loop: str = "uvloop",
                 sockets: tuple[socket.socket, socket.socket] | None = None,
                 certificate: tuple[Path, Path] | None = None) -> None:
        s = runtime.settings
        cert, key = certificate or runtime.server_certificate()
        self.sockets = sockets
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
        sockets = self.sockets or (None, None)
        tasks = [asyncio.create_task(server.serve(sockets=[sock] if sock is not None else None))
                 for server, sock in zip(self.servers, sockets)]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        self.stop()  # one listener ended (or failed to bind): end the other too
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]


def serve_workers(settings: Settings, workers: int, *, log_level: str = "info") -> int:
    """``workers`` processes sharing the listening sockets, each with its own runtime (database pool,
    caches). State is shared through the database, as between replicas: a write made through one worker
    is seen by the others within the lookup cache's TTL (``irsa.iam.cache``). Returns an exit status."""
    import uvloop

    first = Runtime(settings)  # creates the data dir, CA, admin credentials and schema once, before forking
    first.write_endpoint_file()
    certificate = first.server_certificate()
    first.close()
    sockets = tuple(uvicorn.Config(app=None, host=settings.host, port=port).bind_socket()  # type: ignore[arg-type]
                    for port in (settings.port, settings.issuer_port))
    children: list[int] = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # a worker
            code = 0
            try:
                runtime = Runtime(settings)
                try:
                    uvloop.run(Listeners(runtime, log_level=log_level, sockets=sockets, certificate=certificate)  # type: ignore[arg-type]
                               .serve(handle_signals=True))
                finally:
                    runtime.close()
            except BaseException:  # a worker never returns into the parent's code
                import traceback

                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children.append(pid)

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            try:
                os.kill(child, signum)
            except ProcessLookupError:
                pass

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, forward)
    status = 0
    for child in children:
        _, raw = os.waitpid(child, 0)
        status = status or (os.waitstatus_to_exitcode(raw) if os.waitstatus_to_exitcode(raw) > 0 else 0)
    return status
