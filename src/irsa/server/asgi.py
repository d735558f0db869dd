"""The ASGI adapter: bytes in, bytes out. All decisions are made by the (synchronous) dispatcher.

A request first runs on the event loop through ``inline_handler`` when one is given; if it reaches a
point where it would block (an issuer's keys to fetch, a database write: ``irsa.blocking``), it runs
again in a thread pool. Cache-hot STS calls thus skip the thread hop, and nothing slow holds the loop."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from irsa.asgi_io import BodyTooLarge, Receive, Scope, Send, read_body
from irsa.blocking import WouldBlock
from irsa.server.http import HttpRequest, HttpResponse

MAX_BODY_BYTES = 1024 * 1024  # far above any IAM/STS request (policies are at most a few KiB)

Handler = Callable[[HttpRequest], HttpResponse]


async def _send(send: Send, response: HttpResponse) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


class AwsEndpoint:
    """Routes: ``GET /healthz``; extra GET routes (issuer documents); everything else to the AWS handler."""

    def __init__(self, handler: Handler, *, inline_handler: Handler | None = None, workers: int = 8,
                 routes: dict[str, Callable[[HttpRequest], HttpResponse]] | None = None,
                 prefix_routes: list[tuple[str, Callable[[HttpRequest], HttpResponse]]] | None = None) -> None:
        self.handler = handler
        self.inline_handler = inline_handler
        self.routes = dict(routes or {})
        self.prefix_routes = list(prefix_routes or [])
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="irsa-aws")
        self.ready = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self.ready = True
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    self.pool.shutdown(wait=False, cancel_futures=True)
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path = scope.get("path", "/")
        if path == "/healthz" and scope["method"] in ("GET", "HEAD"):
            await _send(send, HttpResponse.text(200, "ok\n"))
            return
        try:
            body = await read_body(receive, MAX_BODY_BYTES)
        except BodyTooLarge:
            await _send(send, HttpResponse.text(413, "Request entity too large\n"))
            return
        client = scope.get("client")
        request = HttpRequest(
            method=scope["method"],
            raw_path=(scope.get("raw_path") or path.encode()).split(b"?", 1)[0],
            query_string=scope.get("query_string", b""),
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])],
            body=body,
            client_ip=client[0] if client else None,
            secure=scope.get("scheme") == "https",
        )
        handler = self.routes.get(path)
        if handler is None:
            for prefix, candidate in self.prefix_routes:
                if path.startswith(prefix):
                    handler = candidate
                    break
        response = None
        if handler is None and self.inline_handler is not None:
            try:
                response = self.inline_handler(request)
            except WouldBlock:
                response = None
        if response is None:
            loop = asyncio.get_running_loop()
            response = await loop.run_in_executor(self.pool, handler or self.handler, request)
        await _send(send, response)
