"""`irsa exec`: run a command as a pod using a ServiceAccount would run it.

Register in the main app with::

    app.command("exec", context_settings=EXEC_CONTEXT_SETTINGS)(exec_command)

``python -m irsa.cli.exec --cluster C --service-account SA -- COMMAND...`` runs the same command standalone.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from irsa.oidc.tokens import MIN_EXPIRATION_SECONDS

EXEC_CONTEXT_SETTINGS = {"allow_extra_args": True, "ignore_unknown_options": True}
PREFIX = "irsa exec: "
DATA_DIR = typer.Option(None, "--data-dir", help="State directory of `irsa up` (default: $IRSA_DATA_DIR or ~/.irsa).")


def _say(message: str) -> None:
    sys.stderr.write(PREFIX + message + "\n")
    sys.stderr.flush()


def exec_command(
    ctx: typer.Context,
    cluster: str = typer.Option(..., "--cluster", help="Local cluster (`irsa cluster create`)."),
    namespace: str = typer.Option("default", "--namespace", "-n", help="The pod's namespace."),
    service_account: str = typer.Option(..., "--service-account", help="The pod's ServiceAccount."),
    pod_name: Optional[str] = typer.Option(None, "--pod-name", help="Pod name the token is bound to (default: <sa>-<random>)."),
    token_expiration_seconds: Optional[int] = typer.Option(
        None, "--token-expiration-seconds", min=MIN_EXPIRATION_SECONDS,
        help="Token lifetime, as the pod annotation eks.amazonaws.com/token-expiration (>= 600)."),
    time_scale: float = typer.Option(1.0, "--time-scale", hidden=True, min=0.001,
                                     help="Test only: the token refresher's clock runs this many times faster."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Report the pod, token and refreshes on stderr."),
    data_dir: Optional[Path] = DATA_DIR,
) -> None:
    """Run COMMAND as a pod using the ServiceAccount would: the webhook's AWS env, a projected token that is
    refreshed at 80% of its lifetime, and no other AWS credentials. Exits with the command's exit code."""
    from irsa.cli.client import target
    from irsa.podrunner import (
        SETUP_FAILED,
        Endpoint,
        ExecOptions,
        KubeApi,
        RunnerError,
        run_as_pod,
    )

    command = list(ctx.args)
    if not command:
        _say("no command given: irsa exec --cluster C --service-account SA -- COMMAND [ARGS...]")
        raise typer.Exit(SETUP_FAILED)
    if command[0].startswith("-"):
        _say(f"no such option: {command[0]} (put the command after --)")
        raise typer.Exit(SETUP_FAILED)
    try:
        t = target(data_dir)
    except typer.Exit:
        raise typer.Exit(SETUP_FAILED) from None
    options = ExecOptions(cluster=cluster, namespace=namespace, service_account=service_account, command=command,
                          pod_name=pod_name, token_expiration=token_expiration_seconds, time_scale=time_scale)
    api = KubeApi(t.endpoint, t.region, t.access_key_id, t.secret_access_key, t.ca_bundle)
    try:
        code = run_as_pod(options, api, Endpoint(t.endpoint, t.region, t.ca_bundle), dict(os.environ),
                          log=_say if verbose else (lambda message: None), warn=_say)
    except RunnerError as exc:
        _say(str(exc))
        raise typer.Exit(SETUP_FAILED) from None
    raise typer.Exit(code)


app = typer.Typer(add_completion=False)
app.command(context_settings=EXEC_CONTEXT_SETTINGS)(exec_command)

if __name__ == "__main__":
    app(prog_name="irsa exec")
