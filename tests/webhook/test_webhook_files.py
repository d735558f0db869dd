"""Local file sources: ServiceAccount manifests, ConfigMap file, container-credentials file."""

from __future__ import annotations

import json

import yaml

from irsa.webhook.files import (
    config_map_watcher,
    container_credentials_watcher,
    load_service_accounts,
    service_account_watcher,
)
from irsa.webhook.registry import IdentityState
from irsa.webhook.settings import WebhookSettings


def sa(name, ns="default", **ann):
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns, "annotations": ann}}


def test_folder_multi_document_and_lists(tmp_path):
    (tmp_path / "a.yaml").write_text(yaml.safe_dump_all([sa("one"), {"kind": "ConfigMap", "metadata": {"name": "x"}}]))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [sa("two", "team")]}))
    (tmp_path / "notes.txt").write_text("kind: ServiceAccount")  # not a manifest file
    got = sorted(a.key for a in load_service_accounts(tmp_path))
    assert got == ["default/one", "team/two"]


def test_bad_reload_keeps_previous_and_good_reload_replaces(tmp_path):
    path = tmp_path / "sas.yaml"
    path.write_text(yaml.safe_dump(sa("one", **{"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/r"})))
    state = IdentityState("eks.amazonaws.com")
    watcher = service_account_watcher(path, state)
    assert watcher.check() and state.get("default", "one") is not None
    path.write_text("kind: ServiceAccount\nmetadata: [unclosed")
    assert not watcher.check() and state.get("default", "one") is not None
    path.write_text(yaml.safe_dump(sa("two")))
    assert watcher.check() and state.get("default", "one") is None and state.get("default", "two") is not None
    assert not watcher.check()  # unchanged: no reload


def test_config_map_file_manifest_or_bare_json(tmp_path):
    state = IdentityState("eks.amazonaws.com")
    mapping = {"default/app": {"RoleARN": "arn:aws:iam::111122223333:role/r"}}
    bare = tmp_path / "cm.json"
    bare.write_text(json.dumps(mapping))
    assert config_map_watcher(bare, state, WebhookSettings()).check()
    assert state.config_map["default/app"].role_arn.endswith("role/r")
    manifest = tmp_path / "cm.yaml"
    manifest.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "pod-identity-webhook"},
                                        "data": {"config": json.dumps({"*/x": {"RoleARN": "arn:aws:iam::111122223333:role/w"}})}}))
    assert config_map_watcher(manifest, state, WebhookSettings()).check()
    assert list(state.config_map) == ["*/x"]


def test_container_credentials_missing_or_empty_file_clears(tmp_path):
    path = tmp_path / "cc.json"
    state = IdentityState("eks.amazonaws.com")
    watcher = container_credentials_watcher(path, state)
    path.write_text(json.dumps({"identities": [{"namespace": "a", "serviceAccount": "b"}]}))
    watcher.check()
    assert state.container_credentials == {("a", "b")}
    path.write_text("")
    watcher.check()
    assert state.container_credentials == frozenset()
    path.write_text(json.dumps({"identities": [{"namespace": "a", "serviceAccount": "c"}]}))
    watcher.check()
    path.unlink()
    watcher.check()
    assert state.container_credentials == frozenset()
