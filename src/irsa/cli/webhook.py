"""``irsa webhook ...``: serve the pod identity webhook, mutate a pod offline, render the install
manifests. Flags are named as upstream's (aws/amazon-eks-pod-identity-webhook) where they exist."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
import yaml

from irsa.webhook import constants as c
from irsa.webhook.admission import DEFAULT_MAX_REQUEST_BYTES
from irsa.webhook.settings import WebhookSettings

app = typer.Typer(help="Pod identity mutating webhook (drop-in for amazon-eks-pod-identity-webhook).", no_args_is_help=True)

# --- settings flags shared by `serve` and `mutate` (one definition each) --------------------------
AnnotationPrefix = Annotated[str, typer.Option("--annotation-prefix", help="Prefix of SA and pod annotations.")]
TokenAudience = Annotated[str, typer.Option("--token-audience", help="Default audience of the projected token.")]
TokenExpiration = Annotated[int, typer.Option("--token-expiration", help="Default token expiration, seconds (>= 600).")]
TokenMountPath = Annotated[str, typer.Option("--token-mount-path", help="Web identity token mount path.")]
DefaultRegion = Annotated[str, typer.Option("--aws-default-region", help="Inject AWS_DEFAULT_REGION and AWS_REGION.")]
RegionalSts = Annotated[bool, typer.Option("--sts-regional-endpoint", help="Default for AWS_STS_REGIONAL_ENDPOINTS=regional.")]
CcAudience = Annotated[str, typer.Option("--container-credentials-audience")]
CcMountPath = Annotated[str, typer.Option("--container-credentials-token-mount-path")]
CcVolumeName = Annotated[str, typer.Option("--container-credentials-token-volume-name")]
CcTokenPath = Annotated[str, typer.Option("--container-credentials-token-path")]
CcFullUri = Annotated[str, typer.Option("--container-credentials-full-uri")]
FsGroup = Annotated[
    Optional[int],
    typer.Option("--fs-group", help="Beyond upstream: set spec.securityContext.fsGroup to this when a non-root runAsUser is set and fsGroup is not."),
]
PodRegion = Annotated[
    bool, typer.Option("--enable-pod-region-annotation", help="Beyond upstream: honour the pod annotation <prefix>/region.")
]
ContainerCredentialsFile = Annotated[
    Optional[Path],
    typer.Option("--watch-container-credentials-config", help="Identities JSON switching SAs to EKS Pod Identity mode."),
]


def _settings(**kw: Any) -> WebhookSettings:
    return WebhookSettings(
        annotation_prefix=kw["annotation_prefix"],
        token_audience=kw["token_audience"],
        token_mount_path=kw["token_mount_path"],
        token_expiration=kw["token_expiration"],
        aws_default_region=kw["aws_default_region"],
        sts_regional_endpoint=kw["sts_regional_endpoint"],
        container_credentials_audience=kw["cc_audience"],
        container_credentials_token_mount_path=kw["cc_mount_path"],
        container_credentials_token_volume_name=kw["cc_volume_name"],
        container_credentials_token_path=kw["cc_token_path"],
        container_credentials_full_uri=kw["cc_full_uri"],
        fs_group=kw["fs_group"],
        pod_region_annotation=kw["pod_region"],
    )


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _print_version(value: bool) -> None:
    if value:
        from irsa import __version__

        typer.echo(f"irsa pod identity webhook {__version__}")
        raise typer.Exit()


@app.command()
def serve(
    port: Annotated[int, typer.Option("--port", help="HTTPS port of /mutate, /healthz, /metrics.")] = c.DEFAULT_PORT,
    metrics_port: Annotated[int, typer.Option("--metrics-port", help="Plain-HTTP /metrics port; 0 disables.")] = c.DEFAULT_METRICS_PORT,
    host: Annotated[str, typer.Option("--host", help="Listen address.")] = "0.0.0.0",
    tls_cert: Annotated[Optional[Path], typer.Option("--tls-cert", help="Serving certificate (PEM, reloaded on change).")] = None,
    tls_key: Annotated[Optional[Path], typer.Option("--tls-key", help="Serving key (PEM, reloaded on change).")] = None,
    tls_self_signed: Annotated[bool, typer.Option("--tls-self-signed", help="Generate a CA and serving certificate at startup.")] = False,
    tls_min_version: Annotated[str, typer.Option("--tls-min-version", help="1.2 or 1.3 (VersionTLS12/VersionTLS13).")] = "1.2",
    tls_cipher_suites: Annotated[
        str, typer.Option("--tls-cipher-suites", help="Comma-separated Go cipher-suite names for TLS <= 1.2 (default: OpenSSL's).")
    ] = "",
    in_cluster: Annotated[
        str,
        typer.Option("--in-cluster", help="Upstream compatibility: only 'false' (CSR self-provisioning is broken upstream and not offered)."),
    ] = "false",
    tls_reload_interval: Annotated[float, typer.Option("--tls-reload-interval", help="Seconds between certificate file checks.")] = 10.0,
    namespace: Annotated[str, typer.Option("--namespace", help="Namespace of the ConfigMap (and the Service, for --tls-self-signed).")] = c.DEFAULT_NAMESPACE,
    service_name: Annotated[str, typer.Option("--service-name", help="Service name (certificate SANs).")] = c.DEFAULT_SERVICE_NAME,
    service_accounts: Annotated[
        Optional[Path], typer.Option("--service-accounts", help="ServiceAccount YAML file or folder (reloaded on change).")
    ] = None,
    config_map_file: Annotated[
        Optional[Path], typer.Option("--config-map-file", help="pod-identity-webhook ConfigMap (or its JSON) from a file.")
    ] = None,
    kubeconfig: Annotated[str, typer.Option("--kubeconfig", help="Kubeconfig file (default: in-cluster / $KUBECONFIG).")] = "",
    kube_api: Annotated[str, typer.Option("--kube-api", help="Kubernetes API URL.")] = "",
    kubernetes: Annotated[
        Optional[bool],
        typer.Option("--kubernetes/--no-kubernetes", help="Watch ServiceAccounts through the API (default: on unless only --service-accounts is given)."),
    ] = None,
    watch_config_map: Annotated[bool, typer.Option("--watch-config-map", help="Watch <namespace>/pod-identity-webhook.")] = False,
    container_credentials: ContainerCredentialsFile = None,
    grace_period: Annotated[
        str,
        typer.Option(
            "--service-account-lookup-grace-period",
            help="How long a cache miss may wait for a live SA lookup: Go duration (100ms, 2s) or seconds; 0 = no lookup.",
        ),
    ] = "1s",
    live_lookup: Annotated[bool, typer.Option("--live-lookup/--no-live-lookup", help="Beyond upstream: GET the SA on a cache miss.")] = True,
    lookup_qps: Annotated[float, typer.Option("--live-lookup-qps")] = 10.0,
    lookup_burst: Annotated[int, typer.Option("--live-lookup-burst")] = 20,
    fail_closed: Annotated[bool, typer.Option("--fail-closed", help="Beyond upstream: deny pods whose SA cannot be resolved or that cannot be read.")] = False,
    max_request_bytes: Annotated[int, typer.Option("--max-request-bytes")] = DEFAULT_MAX_REQUEST_BYTES,
    log_level: Annotated[str, typer.Option("--log-level")] = "info",
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")] = False,
    annotation_prefix: AnnotationPrefix = c.DEFAULT_ANNOTATION_PREFIX,
    token_audience: TokenAudience = c.DEFAULT_TOKEN_AUDIENCE,
    token_expiration: TokenExpiration = c.DEFAULT_TOKEN_EXPIRATION,
    token_mount_path: TokenMountPath = c.DEFAULT_TOKEN_MOUNT_PATH,
    aws_default_region: DefaultRegion = "",
    sts_regional_endpoint: RegionalSts = False,
    cc_audience: CcAudience = c.DEFAULT_CC_AUDIENCE,
    cc_mount_path: CcMountPath = c.DEFAULT_CC_MOUNT_PATH,
    cc_volume_name: CcVolumeName = c.DEFAULT_CC_VOLUME_NAME,
    cc_token_path: CcTokenPath = c.DEFAULT_CC_TOKEN_PATH,
    cc_full_uri: CcFullUri = c.DEFAULT_CC_FULL_URI,
    fs_group: FsGroup = None,
    pod_region: PodRegion = False,
) -> None:
    """Serve POST /mutate, GET /healthz and GET /metrics over HTTPS."""
    from irsa.webhook.certs import TLS_VERSIONS, openssl_ciphers
    from irsa.webhook.parsing import go_parse_bool, go_parse_duration
    from irsa.webhook.server import ServeOptions, serve_forever

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if tls_min_version not in TLS_VERSIONS:
        _fail(f"--tls-min-version must be one of {', '.join(TLS_VERSIONS)}")
    if go_parse_bool(in_cluster) is not False:
        _fail("--in-cluster=true (serving certificate via a CSR) is not supported; use --tls-cert/--tls-key or --tls-self-signed")
    grace_seconds = go_parse_duration(grace_period)
    if grace_seconds is None or grace_seconds < 0:
        _fail("--service-account-lookup-grace-period must be a duration such as 100ms or 2s")
    try:
        openssl_ciphers(tls_cipher_suites)
    except ValueError as exc:
        _fail(str(exc))
    if not tls_self_signed and (tls_cert is None or tls_key is None):
        _fail("give --tls-cert and --tls-key, or --tls-self-signed")
    options = ServeOptions(
        settings=_settings(**locals()),
        host=host,
        port=port,
        metrics_port=metrics_port,
        tls_cert=tls_cert,
        tls_key=tls_key,
        tls_self_signed=tls_self_signed,
        tls_min_version=tls_min_version,
        tls_cipher_suites=tls_cipher_suites,
        tls_reload_interval=tls_reload_interval,
        service_name=service_name,
        namespace=namespace,
        service_accounts=service_accounts,
        config_map_file=config_map_file,
        container_credentials_file=container_credentials,
        kubernetes=kubernetes,
        kubeconfig=kubeconfig,
        kube_api=kube_api,
        watch_config_map=watch_config_map,
        live_lookup=live_lookup,
        lookup_grace_period=grace_seconds,
        lookup_qps=lookup_qps,
        lookup_burst=lookup_burst,
        fail_closed=fail_closed,
        max_request_bytes=max_request_bytes,
    )
    try:
        _run(serve_forever(options))
    except (ValueError, OSError, RuntimeError) as exc:
        _fail(str(exc), 1)


def _run(coro: Any) -> None:
    """uvloop when installed (uvicorn[standard]); uvicorn only picks it itself in uvicorn.run()."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
        return
    uvloop.run(coro)


def _load_yaml(path: Path, what: str) -> Any:
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    except (OSError, yaml.YAMLError) as exc:
        _fail(f"cannot read {what} {path}: {exc}")
    if len(docs) != 1:
        _fail(f"{path} must hold exactly one {what} document")
    return docs[0]


@app.command()
def mutate(
    pod: Annotated[Path, typer.Option("--pod", help="Pod manifest (YAML or JSON).")],
    service_account: Annotated[Optional[Path], typer.Option("--service-account", help="ServiceAccount manifest.")] = None,
    namespace: Annotated[Optional[str], typer.Option("--namespace", help="Pod namespace (default: pod's, else SA's, else 'default').")] = None,
    config_map_file: Annotated[Optional[Path], typer.Option("--config-map", help="pod-identity-webhook ConfigMap (or its JSON).")] = None,
    container_credentials: ContainerCredentialsFile = None,
    output: Annotated[str, typer.Option("--output", "-o", help="yaml (mutated pod), json (mutated pod) or patch (JSON Patch).")] = "yaml",
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed for the container-credentials expiration jitter.")] = None,
    annotation_prefix: AnnotationPrefix = c.DEFAULT_ANNOTATION_PREFIX,
    token_audience: TokenAudience = c.DEFAULT_TOKEN_AUDIENCE,
    token_expiration: TokenExpiration = c.DEFAULT_TOKEN_EXPIRATION,
    token_mount_path: TokenMountPath = c.DEFAULT_TOKEN_MOUNT_PATH,
    aws_default_region: DefaultRegion = "",
    sts_regional_endpoint: RegionalSts = False,
    cc_audience: CcAudience = c.DEFAULT_CC_AUDIENCE,
    cc_mount_path: CcMountPath = c.DEFAULT_CC_MOUNT_PATH,
    cc_volume_name: CcVolumeName = c.DEFAULT_CC_VOLUME_NAME,
    cc_token_path: CcTokenPath = c.DEFAULT_CC_TOKEN_PATH,
    cc_full_uri: CcFullUri = c.DEFAULT_CC_FULL_URI,
    fs_group: FsGroup = None,
    pod_region: PodRegion = False,
) -> None:
    """Mutate a pod offline, exactly as the webhook would, and print the result."""
    import random

    from irsa.webhook.files import load_config_map_file, load_container_credentials
    from irsa.webhook.identity import ServiceAccount
    from irsa.webhook.mutation import MalformedPod, mutate_pod

    if output not in ("yaml", "json", "patch"):
        _fail("--output must be yaml, json or patch")
    settings = _settings(**locals())
    pod_doc = _load_yaml(pod, "Pod")
    if not isinstance(pod_doc, dict) or pod_doc.get("kind", "Pod") != "Pod":
        _fail(f"{pod} is not a Pod manifest")
    sa = None
    if service_account is not None:
        try:
            sa = ServiceAccount.from_manifest(_load_yaml(service_account, "ServiceAccount"))
        except ValueError as exc:
            _fail(f"{service_account}: {exc}")
    pod_ns = (pod_doc.get("metadata") or {}).get("namespace") if isinstance(pod_doc.get("metadata"), dict) else None
    ns = namespace or pod_ns or (sa.namespace if sa else None) or "default"
    spec = pod_doc.get("spec")
    if isinstance(spec, dict) and not spec.get("serviceAccountName"):
        # in a cluster the built-in ServiceAccount admission plugin sets this before the webhook runs
        spec["serviceAccountName"] = "default"
        typer.echo("note: spec.serviceAccountName not set; using 'default' as the API server would", err=True)
    pod_sa = spec.get("serviceAccountName") if isinstance(spec, dict) else ""
    if sa is not None and (sa.namespace != ns or sa.name != pod_sa):
        typer.echo(
            f"warning: ServiceAccount {sa.key} is not the pod's ({ns}/{pod_sa or '<none>'}); it will not be used", err=True
        )
        sa = None
    try:
        cm = load_config_map_file(config_map_file, settings) if config_map_file else None
        cc = load_container_credentials(container_credentials) if container_credentials else frozenset()
        result = mutate_pod(
            pod_doc, ns, settings, service_account=sa, config_map=cm, container_credentials=cc, jitter=random.Random(seed).randint
        )
    except (MalformedPod, ValueError, OSError) as exc:
        _fail(str(exc))
    for note in result.notes:
        typer.echo(f"warning: {note}", err=True)
    if result.mode is None:
        typer.echo(f"pod not mutated: {result.skip_reason}", err=True)
    if output == "patch":
        typer.echo(json.dumps(result.patch, indent=2))
    elif output == "json":
        typer.echo(json.dumps(result.pod, indent=2))
    else:
        sys.stdout.write(yaml.safe_dump(result.pod, sort_keys=False))


@app.command()
def install(
    print_: Annotated[bool, typer.Option("--print", help="Print the manifests (pipe into kubectl apply -f -).")] = False,
    namespace: Annotated[str, typer.Option("--namespace")] = "irsa-system",
    image: Annotated[Optional[str], typer.Option("--image", help="Container image of the webhook.")] = None,
    fail_closed: Annotated[bool, typer.Option("--fail-closed", help="failurePolicy Fail and --fail-closed (pair with a selector).")] = False,
    deploy_dir: Annotated[Optional[Path], typer.Option("--deploy-dir", help="Kustomize base (default: the repository's deploy/).")] = None,
    cert_days: Annotated[int, typer.Option("--cert-days")] = 365,
) -> None:
    """Render Deployment, Service, RBAC, PDB and MutatingWebhookConfiguration with a fresh CA bundle."""
    from irsa.webhook.install import InstallOptions, default_deploy_dir, render_install

    if not print_:
        _fail("only --print is supported here (no API access): irsa webhook install --print | kubectl apply -f -")
    try:
        docs = render_install(
            InstallOptions(
                deploy_dir=deploy_dir or default_deploy_dir(),
                namespace=namespace,
                image=image,
                fail_closed=fail_closed,
                cert_days=cert_days,
            )
        )
    except (OSError, ValueError) as exc:
        _fail(str(exc))
    sys.stdout.write(yaml.safe_dump_all(docs, sort_keys=False))
