"""The webhook's ASGI application: ``POST /mutate``, ``GET /healthz``, ``GET /metrics`` (§3.2).

Raw ASGI (no framework in the admission path). Content-Type must be ``application/json``
(parameters such as ``charset`` are accepted, unlike upstream's strict equality).
"""

from __future__ import annotations

import logging
import random
import time

from irsa.webhook.admission import (
    DEFAULT_MAX_REQUEST_BYTES,
    Admission,
    AdmissionRequest,
    BadReview,
    admit,
    allow,
    decode_review,
    deny,
)
from irsa.asgi_io import BodyTooLarge, Receive, Scope, Send, read_body
from irsa.webhook.metrics import WebhookMetrics
from irsa.webhook.mutation import Jitter
from irsa.webhook.registry import ServiceAccountResolver
from irsa.webhook.settings import WebhookSettings

log = logging.getLogger("irsa.webhook")


async def _respond(send: Send, status: int, body: bytes, content_type: bytes = b"application/json") -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return value.split(b";", 1)[0].strip().lower() == b"application/json"
    return False


class MetricsApp:
    """The plain-HTTP ``--metrics-port`` app: ``GET /metrics`` only (never ``/mutate``)."""

    def __init__(self, metrics: WebhookMetrics) -> None:
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/metrics":
            await _respond(send, 200, self.metrics.render(), self.metrics.content_type.encode())
        else:
            await _respond(send, 404, b"not found\n", b"text/plain; charset=utf-8")


class WebhookApp:
    def __init__(
        self,
        settings: WebhookSettings,
        resolver: ServiceAccountResolver,
        metrics: WebhookMetrics,
        *,
        fail_closed: bool = False,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        jitter: Jitter = random.randint,
        serve_metrics: bool = True,
    ) -> None:
        self.settings, self.resolver, self.metrics = settings, resolver, metrics
        self.fail_closed, self.max_request_bytes, self.jitter = fail_closed, max_request_bytes, jitter
        self.serve_metrics = serve_metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path == "/mutate":
            started = time.perf_counter()
            code = await self._mutate(scope, receive, send)
            self.metrics.latency.observe(time.perf_counter() - started)
        elif path == "/healthz":
            code = 200
            await _respond(send, 200, b"ok", b"text/plain; charset=utf-8")
        elif path == "/metrics" and self.serve_metrics:
            code = 200
            await _respond(send, 200, self.metrics.render(), self.metrics.content_type.encode())
        else:
            code = 404
            await _respond(send, 404, b"not found\n", b"text/plain; charset=utf-8")
        self.metrics.requests.labels(path if code != 404 else "other", str(code)).inc()

    async def _mutate(self, scope: Scope, receive: Receive, send: Send) -> int:
        if scope["method"] != "POST":
            await _respond(send, 405, b"method not allowed, use POST\n", b"text/plain; charset=utf-8")
            return 405
        if not _is_json(scope):
            await _respond(send, 415, b"Invalid Content-Type, expected `application/json`\n", b"text/plain; charset=utf-8")
            return 415
        try:
            body = await read_body(receive, self.max_request_bytes)
        except BodyTooLarge:
            log.warning("admission request rejected: body larger than %d bytes", self.max_request_bytes)
            self.metrics.skips.labels("body-too-large").inc()
            await _respond(send, 413, f"request body larger than {self.max_request_bytes} bytes\n".encode(), b"text/plain; charset=utf-8")
            return 413
        try:
            request = decode_review(body)
        except BadReview as exc:
            log.warning("admission request rejected: %s", exc)
            self.metrics.skips.labels("bad-review").inc()
            await _respond(send, 400, f"{exc}\n".encode(), b"text/plain; charset=utf-8")
            return 400
        try:
            outcome = await self._admit(request)
        except Exception:  # never crash the admission path
            log.exception("unexpected error admitting %s", request.pod_label)
            if self.fail_closed:
                outcome = deny(request, "pod identity webhook: internal error", "internal-error", 500)
            else:
                outcome = allow(request, "internal-error")
        if outcome.mode is not None:
            self.metrics.mutations.labels(outcome.mode.value).inc()
            log.info("mutated pod %s (%s)", request.pod_label, outcome.mode.value)
        elif outcome.allowed:
            self.metrics.skips.labels(outcome.reason).inc()
            log.debug("pod %s not mutated: %s", request.pod_label, outcome.reason)
        else:
            self.metrics.denials.labels(outcome.reason).inc()
            log.warning("denied pod %s: %s", request.pod_label, outcome.reason)
        for note in outcome.notes:
            log.warning("pod %s: %s", request.pod_label, note)
        await _respond(send, 200, outcome.body())
        return 200

    async def _admit(self, request: AdmissionRequest) -> Admission:
        state = self.resolver.state
        sa = None
        if request.is_pod_create:
            lookup = await self.resolver.resolve(request.namespace, request.service_account_name)
            self.metrics.lookups.labels(lookup.outcome).inc()
            sa = lookup.service_account
        return admit(
            request,
            self.settings,
            service_account=sa,
            config_map=state.config_map,
            container_credentials=state.container_credentials,
            fail_closed=self.fail_closed,
            jitter=self.jitter,
        )
