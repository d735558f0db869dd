"""Prometheus metrics of the webhook, on a registry of its own (no process-global state)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class WebhookMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, cache_size: Callable[[], float] | None = None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "pod_identity_webhook_http_requests", "HTTP requests by path and status code", ["path", "code"], registry=r
        )
        self.mutations = Counter(
            "pod_identity_webhook_pod_count", "Pods mutated, by method", ["method"], registry=r
        )
        self.skips = Counter(
            "pod_identity_webhook_skips", "Admission requests answered without a patch, by reason", ["reason"], registry=r
        )
        self.denials = Counter(
            "pod_identity_webhook_denials", "Pods denied (fail-closed mode only), by reason", ["reason"], registry=r
        )
        self.lookups = Counter(
            "pod_identity_webhook_service_account_lookups", "Service account resolutions by outcome", ["outcome"], registry=r
        )
        self.latency = Histogram(
            "pod_identity_webhook_request_duration_seconds",
            "Time to answer one admission request",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.cache_size = Gauge(
            "pod_identity_webhook_service_account_cache_size", "Service accounts held in the cache", registry=r
        )
        if cache_size is not None:
            self.cache_size.set_function(cache_size)

    def render(self) -> bytes:
        return generate_latest(self.registry)
