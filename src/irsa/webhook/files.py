"""Local file sources, reloaded when they change: ServiceAccount manifests (a YAML file or a folder
of them), the container-credentials identities file (§1.5) and a ConfigMap mapping file.

Reloading polls size + mtime (no inotify dependency). A file that fails to parse keeps the
previous value and logs why; a missing container-credentials file clears the set (upstream rule).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from irsa.webhook import constants as c
from irsa.webhook.identity import (
    IdentityConfig,
    ServiceAccount,
    parse_config_map,
    parse_container_credentials,
)
from irsa.webhook.registry import IdentityState
from irsa.webhook.settings import WebhookSettings

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_FILES = 10_000
YAML_SUFFIXES = (".yaml", ".yml", ".json")
FILES_SOURCE = "files"


def _read(path: Path) -> str:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"{path} is larger than {MAX_FILE_BYTES} bytes")
    return path.read_text(encoding="utf-8")


def _manifest_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in YAML_SUFFIXES)
        if len(files) > MAX_FILES:
            raise ValueError(f"{path} holds more than {MAX_FILES} manifest files")
        return files
    return [path]


def _documents(text: str) -> list[Any]:
    docs: list[Any] = []
    for doc in yaml.safe_load_all(text):
        if isinstance(doc, dict) and isinstance(doc.get("items"), list) and str(doc.get("kind", "")).endswith("List"):
            docs.extend(doc["items"])
        elif doc is not None:
            docs.append(doc)
    return docs


def load_service_accounts(path: Path) -> list[ServiceAccount]:
    """Every ServiceAccount in a YAML/JSON file or folder (multi-document files and ``*List`` kinds
    allowed; other kinds are ignored). Raises ``ValueError``/``OSError``/``yaml.YAMLError``."""
    accounts: list[ServiceAccount] = []
    for file in _manifest_files(path):
        for doc in _documents(_read(file)):
            if isinstance(doc, dict) and doc.get("kind") == "ServiceAccount":
                accounts.append(ServiceAccount.from_manifest(doc))
    return accounts


def load_config_map_file(path: Path, settings: WebhookSettings) -> dict[str, IdentityConfig]:
    """A ConfigMap manifest (its ``data.config``) or the bare JSON mapping of §1.4."""
    text = _read(path)
    for doc in _documents(text):
        if isinstance(doc, dict) and doc.get("kind") == "ConfigMap":
            data = doc.get("data") or {}
            return parse_config_map(str(data.get(c.CONFIG_MAP_KEY, "")), settings)
    return parse_config_map(text, settings)


def load_container_credentials(path: Path) -> frozenset[tuple[str, str]]:
    if not path.exists():
        return frozenset()
    return parse_container_credentials(_read(path))


def _signature(path: Path) -> tuple[tuple[str, int, int], ...]:
    try:
        files = _manifest_files(path) if path.exists() else []
        return tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files if f.exists())
    except (OSError, ValueError):
        return (("<error>", 0, 0),)


class FileWatcher:
    """Calls ``load`` now and whenever the file (or any manifest file under the folder) changes."""

    def __init__(self, path: Path, load: Callable[[Path], None], interval: float = 1.0) -> None:
        self.path, self._load, self.interval = path, load, interval
        self._signature: tuple[tuple[str, int, int], ...] | None = None

    def check(self) -> bool:
        """Reload if changed; True when a reload succeeded."""
        signature = _signature(self.path)
        if signature == self._signature:
            return False
        self._signature = signature
        try:
            self._load(self.path)
        except (OSError, ValueError, yaml.YAMLError, json.JSONDecodeError) as exc:
            log.error("could not load %s, keeping the previous contents: %s", self.path, exc)
            return False
        log.info("loaded %s", self.path)
        return True

    async def run(self) -> None:
        while True:
            self.check()
            await asyncio.sleep(self.interval)


def service_account_watcher(path: Path, state: IdentityState, interval: float = 1.0) -> FileWatcher:
    return FileWatcher(path, lambda p: state.replace(FILES_SOURCE, load_service_accounts(p)), interval)


def container_credentials_watcher(path: Path, state: IdentityState, interval: float = 1.0) -> FileWatcher:
    def load(p: Path) -> None:
        state.container_credentials = load_container_credentials(p)

    return FileWatcher(path, load, interval)


def config_map_watcher(path: Path, state: IdentityState, settings: WebhookSettings, interval: float = 1.0) -> FileWatcher:
    def load(p: Path) -> None:
        state.config_map = load_config_map_file(p, settings)

    return FileWatcher(path, load, interval)
