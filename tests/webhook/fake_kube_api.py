"""A small in-test HTTP server that plays the Kubernetes API for the webhook's lightkube client:
list, watch (JSON lines, with 410 Gone on compaction) and get, for ServiceAccounts and ConfigMaps.

It is a test double, not a Kubernetes implementation: only what the webhook calls is served.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

KINDS = {"serviceaccounts": "ServiceAccount", "configmaps": "ConfigMap"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        yield


class FakeKubeApi:
    def __init__(self) -> None:
        self.resource_version = 100
        self.compacted_below = 0
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.watchers: list[tuple[str, str | None, asyncio.Queue[Any]]] = []
        self.watch_paused = asyncio.Event()
        self.watch_paused.set()  # set = deliver events
        self.requests: list[str] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.app = Starlette(
            routes=[
                Route("/api/v1/{resource}", self.collection),
                Route("/api/v1/namespaces/{namespace}/{resource}", self.collection),
                Route("/api/v1/namespaces/{namespace}/{resource}/{name}", self.get),
            ]
        )

    # --- state changes made by tests ---------------------------------------------------------------
    def upsert(self, resource: str, namespace: str, name: str, *, annotations: dict[str, str] | None = None,
               data: dict[str, str] | None = None, notify: bool = True) -> None:
        self.resource_version += 1
        key = (resource, namespace, name)
        event = "MODIFIED" if key in self.objects else "ADDED"
        obj: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": KINDS[resource],
            "metadata": {"name": name, "namespace": namespace, "resourceVersion": str(self.resource_version), "uid": f"uid-{name}"},
        }
        if annotations:
            obj["metadata"]["annotations"] = annotations
        if data is not None:
            obj["data"] = data
        self.objects[key] = obj
        if notify:
            self._notify(resource, event, obj)

    def delete(self, resource: str, namespace: str, name: str, *, notify: bool = True) -> None:
        self.resource_version += 1
        obj = self.objects.pop((resource, namespace, name))
        obj = json.loads(json.dumps(obj))
        obj["metadata"]["resourceVersion"] = str(self.resource_version)
        if notify:
            self._notify(resource, "DELETED", obj)

    def compact(self) -> None:
        """Forget history: open watches get a 410 Gone ERROR event, old resourceVersions are refused."""
        self.compacted_below = self.resource_version + 1
        for _resource, _ns, queue in self.watchers:
            queue.put_nowait(("ERROR", status(410, "Expired", "too old resource version")))
            queue.put_nowait(None)

    def _notify(self, resource: str, event: str, obj: dict[str, Any]) -> None:
        for res, ns, queue in self.watchers:
            if res == resource and ns in (None, obj["metadata"]["namespace"]):
                queue.put_nowait((event, obj))

    # --- HTTP ---------------------------------------------------------------------------------------
    def _select(self, resource: str, namespace: str | None, field_selector: str | None) -> list[dict[str, Any]]:
        items = [o for (res, ns, _), o in sorted(self.objects.items()) if res == resource and namespace in (None, ns)]
        if field_selector and field_selector.startswith("metadata.name="):
            wanted = field_selector.split("=", 1)[1]
            items = [o for o in items if o["metadata"]["name"] == wanted]
        return items

    async def collection(self, request: Request) -> Any:
        self.requests.append(f"{request.method} {request.url.path}?{request.url.query}")
        resource = request.path_params["resource"]
        namespace = request.path_params.get("namespace")
        field_selector = request.query_params.get("fieldSelector")
        if resource not in KINDS:
            return JSONResponse(status(404, "NotFound", "unknown resource"), status_code=404)
        if request.query_params.get("watch") != "true":
            items = self._select(resource, namespace, field_selector)
            return JSONResponse(
                {"apiVersion": "v1", "kind": f"{KINDS[resource]}List", "metadata": {"resourceVersion": str(self.resource_version)}, "items": items}
            )
        since = request.query_params.get("resourceVersion")
        queue: asyncio.Queue[Any] = asyncio.Queue()
        if since is not None and int(since) < self.compacted_below:
            queue.put_nowait(("ERROR", status(410, "Expired", "too old resource version")))
            queue.put_nowait(None)
        elif since is None:  # a watch without resourceVersion starts with the current state
            for obj in self._select(resource, namespace, field_selector):
                queue.put_nowait(("ADDED", obj))
        entry = (resource, namespace, queue)
        self.watchers.append(entry)

        async def stream() -> AsyncIterator[bytes]:
            try:
                while True:
                    item = await queue.get()
                    if item is None:
                        return
                    await self.watch_paused.wait()
                    event, obj = item
                    if field_selector and event != "ERROR" and obj["metadata"]["name"] != field_selector.split("=", 1)[1]:
                        continue
                    yield (json.dumps({"type": event, "object": obj}) + "\n").encode()
            finally:
                if entry in self.watchers:
                    self.watchers.remove(entry)

        return StreamingResponse(stream(), media_type="application/json")

    async def get(self, request: Request) -> Any:
        self.requests.append(f"{request.method} {request.url.path}")
        key = (request.path_params["resource"], request.path_params["namespace"], request.path_params["name"])
        obj = self.objects.get(key)
        if obj is None:
            return JSONResponse(status(404, "NotFound", f'{key[0]} "{key[2]}" not found'), status_code=404)
        return JSONResponse(obj)

    # --- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
        self._server = _QuietServer(config)
        self._task = asyncio.get_running_loop().create_task(self._server.serve())
        while not self._server.started:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        for _res, _ns, queue in list(self.watchers):
            queue.put_nowait(None)
        self.watch_paused.set()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
