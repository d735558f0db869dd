"""Wiring for ``irsa webhook serve``: identity sources, the ASGI app, HTTPS (uvicorn) with
certificate reload, and the plain-HTTP metrics port."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from irsa.webhook import constants as c
from irsa.webhook.admission import DEFAULT_MAX_REQUEST_BYTES
from irsa.webhook.app import MetricsApp, WebhookApp
from irsa.webhook.certs import ReloadingTLS, generate_certificates, service_hosts
from irsa.webhook.files import (
    config_map_watcher,
    container_credentials_watcher,
    service_account_watcher,
)
from irsa.webhook.metrics import WebhookMetrics
from irsa.webhook.registry import IdentityState, ServiceAccountResolver
from irsa.webhook.settings import WebhookSettings

log = logging.getLogger(__name__)


@dataclass
class ServeOptions:
    settings: WebhookSettings = field(default_factory=WebhookSettings)
    host: str = "0.0.0.0"
    port: int = c.DEFAULT_PORT
    metrics_port: int = c.DEFAULT_METRICS_PORT  # 0 disables the separate plain-HTTP metrics server
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_self_signed: bool = False
    tls_min_version: str = "1.2"
    tls_cipher_suites: str = ""  # Go names, comma-separated
    tls_reload_interval: float = 10.0
    service_name: str = c.DEFAULT_SERVICE_NAME
    namespace: str = c.DEFAULT_NAMESPACE
    service_accounts: Path | None = None
    config_map_file: Path | None = None
    container_credentials_file: Path | None = None
    file_reload_interval: float = 1.0
    kubernetes: bool | None = None  # None: on unless --service-accounts is given without kube flags
    kubeconfig: str = ""
    kube_api: str = ""
    watch_config_map: bool = False
    live_lookup: bool = True
    lookup_grace_period: float = 1.0
    lookup_qps: float = 10.0
    lookup_burst: int = 20
    fail_closed: bool = False
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    keep_alive_timeout: int = 75

    @property
    def use_kubernetes(self) -> bool:
        if self.kubernetes is not None:
            return self.kubernetes
        return bool(self.kubeconfig or self.kube_api or self.service_accounts is None)


class _QuietServer(uvicorn.Server):
    """A second uvicorn server in the same loop must not take over the signal handlers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Runtime:
    app: WebhookApp
    state: IdentityState
    tasks: list[asyncio.Task[Any]]  # source loops and the certificate reloader
    tls: ReloadingTLS
    servers: list[uvicorn.Server]
    server_tasks: list[asyncio.Task[Any]]
    ca_file: Path | None = None
    watches: list[Any] = field(default_factory=list)  # kube.ListWatch instances (for status and tests)
    client: Any = None  # lightkube AsyncClient, closed by stop()


@contextlib.contextmanager
def _certificate_files(options: ServeOptions) -> Iterator[tuple[Path, Path, Path | None]]:
    if options.tls_self_signed:
        with tempfile.TemporaryDirectory(prefix="irsa-webhook-tls-") as tmp:
            hosts = [*service_hosts(options.service_name, options.namespace), "localhost", "127.0.0.1"]
            ca, cert, key = generate_certificates(hosts).write(Path(tmp))
            log.info("self-signed serving certificate written to %s (CA: %s)", cert, ca)
            yield cert, key, ca
        return
    if options.tls_cert is None or options.tls_key is None:
        raise ValueError("HTTPS needs --tls-cert and --tls-key, or --tls-self-signed")
    yield options.tls_cert, options.tls_key, None


async def _every(interval: float, check: Any) -> None:
    while True:
        await asyncio.sleep(interval)
        check()


async def start(options: ServeOptions, cert: Path, key: Path, ca: Path | None = None) -> Runtime:
    """Start sources and servers in the running loop; ``stop(runtime)`` ends them."""
    settings = options.settings
    state = IdentityState(settings.annotation_prefix)
    tasks: list[asyncio.Task[Any]] = []
    loop = asyncio.get_running_loop()
    fetch = None
    client = None
    watches: list[Any] = []
    for path in (options.service_accounts, options.config_map_file):
        if path is not None and not path.exists():
            raise ValueError(f"{path} does not exist")
    if options.service_accounts is not None:
        watcher = service_account_watcher(options.service_accounts, state, options.file_reload_interval)
        watcher.check()
        tasks.append(loop.create_task(watcher.run()))
    if options.config_map_file is not None:
        cm_watcher = config_map_watcher(options.config_map_file, state, settings, options.file_reload_interval)
        cm_watcher.check()
        tasks.append(loop.create_task(cm_watcher.run()))
    if options.container_credentials_file is not None:
        cc_watcher = container_credentials_watcher(options.container_credentials_file, state, options.file_reload_interval)
        cc_watcher.check()
        tasks.append(loop.create_task(cc_watcher.run()))
    if options.use_kubernetes:
        from irsa.webhook.kube import (
            config_map_list_watch,
            live_fetch,
            make_client,
            service_account_list_watch,
        )

        client = make_client(options.kubeconfig, options.kube_api)
        sa_watch = service_account_list_watch(client, state)
        watches.append(sa_watch)
        if options.watch_config_map:
            watches.append(config_map_list_watch(client, state, settings, options.namespace))
        tasks.extend(loop.create_task(w.run()) for w in watches)
        if options.live_lookup:
            fetch = live_fetch(client)
        try:  # upstream waits for the informer to sync before serving (§4.1); we bound the wait
            await asyncio.wait_for(sa_watch.synced.wait(), 30)
        except TimeoutError:
            log.warning("service account list not synced after 30s; serving with live lookups only")
    resolver = ServiceAccountResolver(
        state,
        fetch,
        timeout=options.lookup_grace_period,
        rate=options.lookup_qps,
        burst=options.lookup_burst,
    )
    metrics = WebhookMetrics(cache_size=state.size)
    app = WebhookApp(
        settings,
        resolver,
        metrics,
        fail_closed=options.fail_closed,
        max_request_bytes=options.max_request_bytes,
    )
    tls = ReloadingTLS(cert, key, options.tls_min_version, options.tls_cipher_suites)
    tasks.append(loop.create_task(_every(options.tls_reload_interval, tls.check)))
    main_config = uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        ssl_context_factory=lambda _config, _default: tls.context,
        ssl_certfile=str(cert),
        log_level="warning",
        access_log=False,
        timeout_keep_alive=options.keep_alive_timeout,
        lifespan="off",
    )
    servers: list[uvicorn.Server] = [_QuietServer(main_config)]
    if options.metrics_port:
        metrics_app = MetricsApp(metrics)
        servers.append(
            _QuietServer(
                uvicorn.Config(
                    metrics_app, host=options.host, port=options.metrics_port, log_level="warning", access_log=False, lifespan="off"
                )
            )
        )
    server_tasks = [loop.create_task(server.serve()) for server in servers]
    runtime = Runtime(app, state, tasks, tls, servers, server_tasks, ca, watches, client)
    while not all(s.started for s in servers):
        if any(t.done() for t in server_tasks):
            await stop(runtime)
            raise RuntimeError(f"webhook failed to listen on {options.host}:{options.port}/{options.metrics_port}")
        await asyncio.sleep(0.01)
    return runtime


async def stop(runtime: Runtime) -> None:
    for server in runtime.servers:
        server.should_exit = True
    await asyncio.gather(*runtime.server_tasks, return_exceptions=True)
    for task in runtime.tasks:
        task.cancel()
    await asyncio.gather(*runtime.tasks, return_exceptions=True)
    if runtime.client is not None:
        await runtime.client.close()


async def serve_forever(options: ServeOptions) -> None:
    """Run until SIGINT/SIGTERM (uvicorn-style graceful shutdown)."""
    with _certificate_files(options) as (cert, key, ca):
        runtime = await start(options, cert, key, ca)
        stop_event = asyncio.Event()
        loop = asyncio.get_running_loop()
        import signal

        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop_event.set)
        log.info("pod identity webhook serving https://%s:%d/mutate", options.host, options.port)
        await stop_event.wait()
        await stop(runtime)
