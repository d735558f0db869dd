"""Kubernetes API sources via lightkube: ServiceAccount list+watch (informer-style), the
``pod-identity-webhook`` ConfigMap (``--watch-config-map``), and the live SA lookup.

Watch errors go through an ``on_error`` policy (libraries.md §4: lightkube's default raises):
transient errors retry with capped backoff and resume from the last resourceVersion; a 410 Gone
stops the watch and the loop relists, so deletions missed during the gap are not kept (a plain
re-watch without resourceVersion only replays ADDED events).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lightkube import AsyncClient, KubeConfig
from lightkube.config.models import Cluster, User
from lightkube.core.exceptions import ApiError
from lightkube.resources.core_v1 import ConfigMap
from lightkube.resources.core_v1 import ServiceAccount as K8sServiceAccount
from lightkube.types import OnErrorAction, OnErrorResult

from irsa.webhook import constants as c
from irsa.webhook.identity import ServiceAccount, parse_config_map
from irsa.webhook.registry import IdentityState
from irsa.webhook.settings import WebhookSettings

log = logging.getLogger(__name__)

KUBE_SOURCE = "kubernetes"
MAX_BACKOFF = 30.0


def make_client(kubeconfig: str = "", kube_api: str = "", timeout: float = 10.0) -> AsyncClient:
    """``--kubeconfig`` file, else ``--kube-api`` URL, else auto (in-cluster, $KUBECONFIG, ~/.kube/config)."""
    import httpx2
    from lightkube.core.exceptions import ConfigError

    try:
        config: KubeConfig | None = None
        if kubeconfig:
            config = KubeConfig.from_file(Path(kubeconfig))
        elif kube_api:  # like upstream's --kube-api: the URL only, no credentials
            config = KubeConfig.from_one(cluster=Cluster(server=kube_api), user=User())
        return AsyncClient(config=config, timeout=httpx2.Timeout(timeout))
    except ConfigError as exc:
        raise ValueError(
            f"no Kubernetes API configuration ({exc}); give --kubeconfig or --kube-api, run in-cluster, "
            "or use --service-accounts with --no-kubernetes"
        ) from None


def to_service_account(obj: Any) -> ServiceAccount:
    meta = obj.metadata
    return ServiceAccount(
        namespace=meta.namespace or "",
        name=meta.name or "",
        annotations=dict(meta.annotations or {}),
        resource_version=meta.resourceVersion or "",
    )


class _Relist(Exception):
    pass


class ListWatch:
    """List, hand the items to ``on_list``, then watch from the list's resourceVersion, handing
    events to ``on_event``; relist on 410 Gone or when the watch ends with an error."""

    def __init__(
        self,
        client: AsyncClient,
        resource: Any,
        *,
        namespace: str = "*",
        fields: dict[str, str] | None = None,
        on_list: Callable[[list[Any]], None],
        on_event: Callable[[str, Any], None],
        backoff: float = 1.0,
        server_timeout: int | None = 300,
    ) -> None:
        self.client, self.resource, self.namespace, self.fields = client, resource, namespace, fields
        self.on_list, self.on_event, self.backoff, self.server_timeout = on_list, on_event, backoff, server_timeout
        self.synced = asyncio.Event()
        self.relists = 0
        self._gone = False

    def _on_error(self, exc: Exception, count: int) -> OnErrorResult:
        if isinstance(exc, ApiError) and exc.status.code == 410:
            self._gone = True
            return OnErrorResult(OnErrorAction.STOP)
        log.warning("watch of %s failed (attempt %d), retrying: %s", self.resource.__name__, count, exc)
        return OnErrorResult(OnErrorAction.RETRY, sleep=min(self.backoff * count, MAX_BACKOFF))

    async def _list(self) -> str | None:
        listing = self.client.list(self.resource, namespace=self.namespace, fields=self.fields)
        items = [item async for item in listing]
        self.on_list(items)
        self.relists += 1
        self.synced.set()
        try:
            return listing.resourceVersion
        except Exception:
            return None

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                version = await self._list()
                failures = 0
                self._gone = False
                async for event, obj in self.client.watch(
                    self.resource,
                    namespace=self.namespace,
                    fields=self.fields,
                    resource_version=version,
                    server_timeout=self.server_timeout,
                    on_error=self._on_error,
                ):
                    self.on_event(event, obj)
                if self._gone:
                    log.info("watch of %s: resourceVersion too old (410 Gone), relisting", self.resource.__name__)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # API down, RBAC, decode errors: back off and relist
                failures += 1
                delay = min(self.backoff * failures, MAX_BACKOFF)
                log.warning("list of %s failed, retrying in %.1fs: %s", self.resource.__name__, delay, exc)
                await asyncio.sleep(delay)


def service_account_list_watch(client: AsyncClient, state: IdentityState, backoff: float = 1.0) -> ListWatch:
    def on_list(items: list[Any]) -> None:
        state.replace(KUBE_SOURCE, (to_service_account(i) for i in items))

    def on_event(event: str, obj: Any) -> None:
        sa = to_service_account(obj)
        if event == "DELETED":
            state.remove(KUBE_SOURCE, sa.namespace, sa.name)
        elif event in ("ADDED", "MODIFIED"):
            state.put(KUBE_SOURCE, sa)

    return ListWatch(client, K8sServiceAccount, on_list=on_list, on_event=on_event, backoff=backoff)


def config_map_list_watch(
    client: AsyncClient, state: IdentityState, settings: WebhookSettings, namespace: str, backoff: float = 1.0
) -> ListWatch:
    """Watches ``<namespace>/pod-identity-webhook``. Deviation: deleting the ConfigMap clears the
    mappings (upstream has no delete handler and keeps stale entries, §1.4)."""

    def load(obj: Any) -> None:
        text = (obj.data or {}).get(c.CONFIG_MAP_KEY, "")
        try:
            state.config_map = parse_config_map(text, settings)
        except ValueError as exc:
            log.error("ConfigMap %s/%s: keeping previous mappings: %s", namespace, c.CONFIG_MAP_NAME, exc)

    def on_list(items: list[Any]) -> None:
        if items:
            load(items[0])
        else:
            state.config_map = {}

    def on_event(event: str, obj: Any) -> None:
        if event == "DELETED":
            state.config_map = {}
        elif event in ("ADDED", "MODIFIED"):
            load(obj)

    return ListWatch(
        client,
        ConfigMap,
        namespace=namespace,
        fields={"metadata.name": c.CONFIG_MAP_NAME},
        on_list=on_list,
        on_event=on_event,
        backoff=backoff,
    )


def live_fetch(client: AsyncClient) -> Callable[[str, str], Any]:
    """The resolver's ``fetch``: GET one ServiceAccount; ``None`` on 404."""

    async def fetch(namespace: str, name: str) -> ServiceAccount | None:
        try:
            obj = await client.get(K8sServiceAccount, name, namespace=namespace)
        except ApiError as exc:
            if exc.status.code == 404:
                return None
            raise
        return to_service_account(obj)

    return fetch
