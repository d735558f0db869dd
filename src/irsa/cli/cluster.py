"""`irsa cluster`, `irsa token` and `irsa serviceaccount`: local clusters of `irsa up`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, List, Optional

import typer
import yaml

from irsa.cli.client import Target, call, target

cluster_app = typer.Typer(help="Local clusters: an OIDC issuer with signing keys, like an EKS cluster's.", no_args_is_help=True)
token_app = typer.Typer(help="Projected service-account tokens (the TokenRequest API).", no_args_is_help=True)
sa_app = typer.Typer(help="The ServiceAccount registry of a local cluster.", no_args_is_help=True)

DataDir = typer.Option(None, "--data-dir", help="State directory of `irsa up` (default: $IRSA_DATA_DIR or ~/.irsa).")


def _eks(t: Target) -> Any:
    import botocore.session

    return botocore.session.get_session().create_client(
        "eks", endpoint_url=t.endpoint, region_name=t.region, aws_access_key_id=t.access_key_id,
        aws_secret_access_key=t.secret_access_key, verify=t.ca_bundle or True)


def _eks_call(t: Target, operation: str, **kw: Any) -> Any:
    from botocore.exceptions import ClientError

    try:
        return getattr(_eks(t), operation)(**kw)
    except ClientError as exc:
        err = exc.response["Error"]
        typer.echo(f"irsa: {err.get('Code')}: {err.get('Message')}", err=True)
        raise typer.Exit(1)


def _print(doc: Any) -> None:
    typer.echo(json.dumps(doc, indent=2, default=str))


@cluster_app.command("create")
def cluster_create(name: str, key_type: str = typer.Option("RSA", "--key-type", help="RSA (2048, RS256) or EC (P-256, ES256)."),
                   version: Optional[str] = typer.Option(None, "--version", help="Kubernetes version reported by DescribeCluster."),
                   data_dir: Optional[Path] = DataDir) -> None:
    """Create a cluster: a signing key and an issuer URL served by `irsa up`."""
    doc = call(target(data_dir), "POST", "/irsa/v1/clusters", {"name": name, "keyType": key_type.upper(), "version": version})
    typer.echo(doc["identity"]["oidc"]["issuer"])


@cluster_app.command("list")
def cluster_list(data_dir: Optional[Path] = DataDir) -> None:
    for name in _eks_call(target(data_dir), "list_clusters")["clusters"]:
        typer.echo(name)


@cluster_app.command("describe")
def cluster_describe(name: str, data_dir: Optional[Path] = DataDir) -> None:
    _print(_eks_call(target(data_dir), "describe_cluster", name=name)["cluster"])


@cluster_app.command("delete")
def cluster_delete(name: str, data_dir: Optional[Path] = DataDir) -> None:
    _eks_call(target(data_dir), "delete_cluster", name=name)
    typer.echo(f"deleted cluster {name}")


@cluster_app.command("keys")
def cluster_keys(name: str, data_dir: Optional[Path] = DataDir) -> None:
    """The cluster's keys: the active one signs, all of them are in the JWKS."""
    for key in call(target(data_dir), "GET", f"/irsa/v1/clusters/{name}/keys")["keys"]:
        typer.echo(f"{key['kid']}  {key['alg']}  {key['state']}  {key['created']}")


@cluster_app.command("rotate-keys")
def cluster_rotate(name: str, key_type: Optional[str] = typer.Option(None, "--key-type", help="RSA or EC (default: as the current key)."),
                   data_dir: Optional[Path] = DataDir) -> None:
    """Sign with a new key; the old ones stay in the JWKS until `retire-key`."""
    doc = call(target(data_dir), "POST", f"/irsa/v1/clusters/{name}/keys/rotate", {"keyType": key_type.upper() if key_type else None})
    typer.echo(doc["key"]["kid"])


@cluster_app.command("retire-key")
def cluster_retire(name: str, kid: str, data_dir: Optional[Path] = DataDir) -> None:
    """Remove a key from the JWKS: tokens it signed stop being accepted."""
    call(target(data_dir), "DELETE", f"/irsa/v1/clusters/{name}/keys/{kid}")
    typer.echo(f"retired {kid}")


@token_app.command("create")
def token_create(
    cluster: str = typer.Option(..., "--cluster"),
    namespace: str = typer.Option("default", "--namespace", "-n"),
    service_account: str = typer.Option(..., "--service-account"),
    audience: List[str] = typer.Option([], "--audience", help="Repeatable; default: the issuer (kube-apiserver's --api-audiences)."),
    expiration_seconds: Optional[int] = typer.Option(None, "--expiration-seconds", help="At least 600; default 3600."),
    pod_name: Optional[str] = typer.Option(None, "--pod-name"),
    pod_uid: Optional[str] = typer.Option(None, "--pod-uid"),
    node_name: Optional[str] = typer.Option(None, "--node-name"),
    node_uid: Optional[str] = typer.Option(None, "--node-uid"),
    data_dir: Optional[Path] = DataDir,
) -> None:
    """Print a projected service-account token, as the kubelet would request it."""
    if (pod_uid and not pod_name) or (node_uid and not node_name):
        raise typer.BadParameter("a uid needs its name (--pod-name / --node-name)")
    if node_name and not pod_name:
        raise typer.BadParameter("node information is part of a pod-bound token: give --pod-name too")
    spec: dict[str, Any] = {"audiences": audience}
    if expiration_seconds is not None:
        spec["expirationSeconds"] = expiration_seconds
    if pod_name:
        spec["boundObjectRef"] = {"kind": "Pod", "apiVersion": "v1", "name": pod_name, **({"uid": pod_uid} if pod_uid else {})}
    if node_name:
        spec["node"] = {"name": node_name, **({"uid": node_uid} if node_uid else {})}
    doc = call(target(data_dir), "POST",
               f"/irsa/v1/clusters/{cluster}/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token",
               {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec})
    typer.echo(doc["status"]["token"])


def _sa_path(cluster: str, namespace: str, name: str | None = None) -> str:
    base = f"/irsa/v1/clusters/{cluster}/api/v1/namespaces/{namespace}/serviceaccounts"
    return base if name is None else f"{base}/{name}"


def _pairs(values: List[str], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=what)
        out[key] = value
    return out


@sa_app.command("create")
def sa_create(name: str, cluster: str = typer.Option(..., "--cluster"), namespace: str = typer.Option("default", "--namespace", "-n"),
              annotation: List[str] = typer.Option([], "--annotation", help="KEY=VALUE, repeatable."),
              label: List[str] = typer.Option([], "--label", help="KEY=VALUE, repeatable."),
              data_dir: Optional[Path] = DataDir) -> None:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if annotation:
        metadata["annotations"] = _pairs(annotation, "--annotation")
    if label:
        metadata["labels"] = _pairs(label, "--label")
    doc = call(target(data_dir), "POST", _sa_path(cluster, namespace), {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata})
    typer.echo(f"serviceaccount/{doc['metadata']['name']} created")


@sa_app.command("get")
def sa_get(name: Optional[str] = typer.Argument(None), cluster: str = typer.Option(..., "--cluster"),
           namespace: str = typer.Option("default", "--namespace", "-n"),
           output: str = typer.Option("name", "--output", "-o", help="name, yaml or json."), data_dir: Optional[Path] = DataDir) -> None:
    t = target(data_dir)
    doc = call(t, "GET", _sa_path(cluster, namespace, name))
    if output == "json":
        _print(doc)
    elif output == "yaml":
        typer.echo(yaml.safe_dump(doc, sort_keys=False).rstrip())
    else:
        for item in doc.get("items", [doc]):
            typer.echo(f"serviceaccount/{item['metadata']['name']}")


@sa_app.command("annotate")
def sa_annotate(name: str, annotations: List[str] = typer.Argument(..., help="KEY=VALUE to set, KEY- to remove (as kubectl annotate)."),
                cluster: str = typer.Option(..., "--cluster"), namespace: str = typer.Option("default", "--namespace", "-n"),
                overwrite: bool = typer.Option(False, "--overwrite", help="Change a key that already has a value."),
                data_dir: Optional[Path] = DataDir) -> None:
    remove = [a[:-1] for a in annotations if a.endswith("-") and "=" not in a]
    sets = _pairs([a for a in annotations if not (a.endswith("-") and "=" not in a)], "ANNOTATIONS")
    call(target(data_dir), "POST", _sa_path(cluster, namespace, name) + "/annotate",
         {"annotations": sets, "remove": remove, "overwrite": overwrite})
    typer.echo(f"serviceaccount/{name} annotated")


@sa_app.command("delete")
def sa_delete(name: str, cluster: str = typer.Option(..., "--cluster"), namespace: str = typer.Option("default", "--namespace", "-n"),
              data_dir: Optional[Path] = DataDir) -> None:
    call(target(data_dir), "DELETE", _sa_path(cluster, namespace, name))
    typer.echo(f'serviceaccount "{name}" deleted')
