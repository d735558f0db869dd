"""The `irsa` command."""

from __future__ import annotations

import json
import logging
import shlex
import sys
from pathlib import Path
from typing import Optional

import typer

from irsa.server import runtime as rt

app = typer.Typer(help="IAM Roles for Service Accounts, implemented completely.", no_args_is_help=True,
                  add_completion=False)
account_app = typer.Typer(help="Accounts served by `irsa up`, each with its own admin credentials.", no_args_is_help=True)
app.add_typer(account_app, name="account")


def _register_subcommands() -> None:
    from irsa.cli.cluster import cluster_app, sa_app, token_app
    from irsa.cli.eksctl import create_app, delete_app, get_app, utils_app
    from irsa.cli.exec import EXEC_CONTEXT_SETTINGS, exec_command
    from irsa.cli.issuer import issuer_app
    from irsa.cli.policy import app as policy_app
    from irsa.cli.webhook import app as webhook_app

    app.add_typer(cluster_app, name="cluster")
    app.add_typer(token_app, name="token")
    app.add_typer(sa_app, name="serviceaccount")
    app.add_typer(issuer_app, name="issuer", help="Self-hosted issuers: keys, published documents, staged rotation, apiserver flags.")
    app.add_typer(utils_app, name="utils")
    app.add_typer(create_app, name="create")
    app.add_typer(get_app, name="get")
    app.add_typer(delete_app, name="delete")
    app.command("exec", context_settings=EXEC_CONTEXT_SETTINGS, options_metavar="[OPTIONS] -- COMMAND [ARGS]...")(exec_command)

    app.add_typer(policy_app, name="policy", help="Validate and simulate IAM policies.")
    app.add_typer(webhook_app, name="webhook", help="The pod identity mutating webhook.")


DataDir = typer.Option(None, "--data-dir", help="State directory (default: $IRSA_DATA_DIR or ~/.irsa).")


def _data_dir(value: Optional[Path]) -> Path:
    return value if value is not None else rt.default_data_dir()


@app.command()
def up(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(rt.DEFAULT_PORT, help="Port of the AWS endpoint."),
    data_dir: Optional[Path] = DataDir,
    account_id: str = typer.Option(rt.DEFAULT_ACCOUNT, "--account-id", help="The default account."),
    region: str = typer.Option(rt.DEFAULT_REGION, help="Region; cn-* regions put everything in the aws-cn partition."),
    database_url: Optional[str] = typer.Option(None, "--database-url", help="SQLAlchemy URL; default SQLite in the data dir, e.g. postgresql+psycopg://user@host/db."),
    ca_bundle: Optional[str] = typer.Option(None, "--ca-bundle", help="Extra CA certificates trusted when fetching issuers' keys."),
    issuer_host: Optional[str] = typer.Option(None, "--issuer-host", help="Host name in cluster issuer URLs (default: --host)."),
    issuer_port: int = typer.Option(rt.DEFAULT_ISSUER_PORT, "--issuer-port", help="TLS port of the cluster issuers."),
    https: bool = typer.Option(False, "--https", help="Serve the AWS endpoint over TLS too (local CA; `irsa env` sets AWS_CA_BUNDLE)."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes sharing the ports (state is shared through the database)."),
    max_token_expiration: int = typer.Option(48 * 3600, "--max-token-expiration", help="Longest projected token lifetime (seconds); longer requests are capped, as kube-apiserver does."),
    log_level: str = typer.Option("info", "--log-level"),
) -> None:
    """Serve IAM, STS and EKS on one AWS endpoint, and the clusters' OIDC issuers over TLS."""

    import uvloop

    from irsa.server.serve import Listeners, serve_workers

    if not (len(account_id) == 12 and account_id.isdigit()):
        raise typer.BadParameter("an account id is 12 digits", param_hint="--account-id")
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = rt.Settings(data_dir=_data_dir(data_dir), host=host, port=port, account_id=account_id, region=region,
                           database_url=database_url, ca_bundle=ca_bundle, issuer_host=issuer_host,
                           issuer_port=issuer_port, https=https, max_token_expiration=max_token_expiration)
    runtime = rt.Runtime(settings)
    runtime.write_endpoint_file()
    typer.echo(f"irsa: AWS endpoint {settings.endpoint} (IAM, STS, EKS), region {region}, partition {settings.partition}")
    typer.echo(f"irsa: cluster issuers under {settings.issuer_base_url}/id/ (TLS, local CA {runtime.ca.bundle_path})")
    typer.echo(f"irsa: account {account_id}, admin access key {runtime.admin.access_key_id}")
    typer.echo(f"irsa: credentials and state in {settings.data_dir}; `irsa env` prints shell exports")
    sys.stdout.flush()
    if workers > 1:
        runtime.close()
        typer.echo(f"irsa: {workers} worker processes")
        raise typer.Exit(serve_workers(settings, workers, log_level=log_level))
    listeners = Listeners(runtime, log_level=log_level)
    try:
        uvloop.run(listeners.serve(handle_signals=True))
    finally:
        runtime.close()


@app.command()
def env(data_dir: Optional[Path] = DataDir, account_id: Optional[str] = typer.Option(None, "--account-id")) -> None:
    """Print shell exports for the endpoint and admin credentials of `irsa up`."""
    from irsa.cli.client import server_state

    directory = _data_dir(data_dir)
    endpoint, admin = server_state(directory)
    if account_id and account_id != admin["AccountId"]:
        typer.echo(f"irsa: {directory} holds the admin credentials of account {admin['AccountId']} only; "
                   f"`irsa account create {account_id}` prints that account's", err=True)
        raise typer.Exit(1)
    exports = {
        "AWS_ENDPOINT_URL": endpoint["endpoint"],
        "AWS_ACCESS_KEY_ID": admin["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": admin["SecretAccessKey"],
        "AWS_DEFAULT_REGION": endpoint["region"],
    }
    if endpoint.get("https"):
        exports["AWS_CA_BUNDLE"] = endpoint["ca_bundle"]
    for key, value in exports.items():
        typer.echo(f"export {key}={shlex.quote(value)}")


@account_app.command("create")
def account_create(account: str = typer.Argument(..., help="12-digit account id."), data_dir: Optional[Path] = DataDir,
                   database_url: Optional[str] = typer.Option(None, "--database-url")) -> None:
    """Create an account and print its admin credentials (shown once)."""
    from irsa.errors import AwsError
    from irsa.iam.accounts import AccountStore
    from irsa.store.db import Database

    if not (len(account) == 12 and account.isdigit()):
        raise typer.BadParameter("an account id is 12 digits", param_hint="ACCOUNT")
    directory = _data_dir(data_dir)
    url = database_url
    if url is None:
        try:
            url = json.loads((directory / rt.ENDPOINT_FILE).read_text())["database_url"]
        except FileNotFoundError:
            url = rt.Settings(data_dir=directory).resolved_database_url()
    db = Database(url)
    try:
        creds = AccountStore(db).create_account(account)
    except AwsError as exc:
        typer.echo(f"irsa: {exc.code}: {exc.message}", err=True)
        raise typer.Exit(1)
    finally:
        db.dispose()
    typer.echo(json.dumps({"AccountId": account, "AccessKeyId": creds.access_key_id,
                           "SecretAccessKey": creds.secret_access_key}, indent=2))


def main() -> None:
    _register_subcommands()
    app()


if __name__ == "__main__":
    main()
