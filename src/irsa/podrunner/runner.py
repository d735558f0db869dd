"""Run a command as a pod using a ServiceAccount would run: the webhook's env, a kubelet-style projected
token that is refreshed while the command runs, no other AWS credentials."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from irsa.podrunner import process
from irsa.podrunner.environment import child_environment
from irsa.podrunner.kubeapi import KubeApi, KubeApiError, ObjectRef
from irsa.podrunner.podspec import (
    PodIdentity,
    PodSpecError,
    generate_pod_name,
    is_dns_subdomain,
    pod_identity,
)
from irsa.podrunner.privatedir import create_private_dir, remove_private_dir
from irsa.podrunner.refresher import FetchedToken, ScaledClock, TokenRefresher
from irsa.webhook import ServiceAccount, WebhookSettings

SETUP_FAILED = 125  # like `docker run` / `env`: the runner failed, the command did not run


class RunnerError(Exception):
    """Setup failed before the command started; the message is for the user."""


@dataclass(frozen=True)
class ExecOptions:
    cluster: str
    namespace: str
    service_account: str
    command: Sequence[str]
    pod_name: str | None = None
    token_expiration: int | None = None  # overrides the SA's / webhook default (pod annotation), >= 600
    time_scale: float = 1.0  # test-only: the refresher's clock runs this many times faster


@dataclass(frozen=True)
class Endpoint:
    url: str
    region: str
    ca_bundle: str | None  # set when the endpoint is https


def resolve_identity(api: KubeApi, options: ExecOptions, region: str) -> PodIdentity:
    """Look up the SA and mutate a minimal pod for it with the webhook (default settings, region from the endpoint)."""
    try:
        doc = api.get_service_account(options.cluster, options.namespace, options.service_account)
        sa = ServiceAccount.from_manifest(doc, options.namespace)
    except (KubeApiError, ValueError) as exc:
        raise RunnerError(f"error looking up service account {options.namespace}/{options.service_account}: {exc}") from None
    pod_name = options.pod_name or generate_pod_name(sa.name)
    try:
        return pod_identity(sa, pod_name, WebhookSettings(aws_default_region=region), token_expiration=options.token_expiration)
    except PodSpecError as exc:
        raise RunnerError(str(exc)) from None


def _node() -> ObjectRef | None:
    name = socket.gethostname().lower()
    return ObjectRef(name) if is_dns_subdomain(name) else None


def run_as_pod(
    options: ExecOptions,
    api: KubeApi,
    endpoint: Endpoint,
    parent_env: Mapping[str, str],
    *,
    log: Callable[[str], None] = lambda message: None,
    warn: Callable[[str], None] = lambda message: None,
) -> int:
    """Run the command; returns its exit code (128 + signal when killed), raises ``RunnerError`` before it starts.

    ``log`` gets progress messages (verbose), ``warn`` refresh failures. Must run in the main thread.
    """
    if not options.command:
        raise RunnerError("no command given (irsa exec ... -- COMMAND [ARGS...])")
    identity = resolve_identity(api, options, endpoint.region)
    pod = ObjectRef(identity.pod_name, str(uuid.uuid4()))
    node = _node()
    if identity.token is None:
        log(f"pod {identity.namespace}/{identity.pod_name}: not mutated ({identity.skip_reason}); no AWS credentials")
    with process.BlockedSignals() as signals:
        try:
            files = create_private_dir(identity.token)
        except OSError as exc:
            raise RunnerError(f"cannot create the token directory: {exc}") from None
        refresher: TokenRefresher | None = None
        try:
            if identity.token is not None and files.token_file is not None:
                token = identity.token

                def source() -> FetchedToken:
                    return api.create_token(options.cluster, identity.namespace, identity.service_account,
                                            audience=token.audience, expiration_seconds=token.expiration_seconds,
                                            pod=pod, node=node)

                refresher = TokenRefresher(source, files.token_file, ScaledClock(options.time_scale), log=log, warn=warn)
                try:
                    refresher.fetch()
                except (KubeApiError, OSError) as exc:
                    raise RunnerError(f"TokenRequest for {identity.namespace}/{identity.service_account} failed: {exc}") from None
                log(f"pod {identity.namespace}/{identity.pod_name}: token (audience {token.audience}, "
                    f"{token.expiration_seconds}s) in {files.token_file}")
            env = child_environment(parent_env, identity, files, endpoint=endpoint.url, ca_bundle=endpoint.ca_bundle)
            early = signals.pending()
            if early is not None:
                return 128 + early
            try:
                pid = process.spawn(options.command, env)
            except process.SpawnError as exc:
                warn(str(exc))
                return exc.exit_code
            if refresher is not None:
                refresher.start()
            status = process.wait_forwarding(pid, on_forward=lambda sig: log(f"forwarded {sig.name} to {pid}"))
            return process.exit_code(status)
        finally:
            if refresher is not None:
                refresher.stop()
            remove_private_dir(files)
