"""eksctl-style commands: `irsa utils associate-iam-oidc-provider`, `irsa create|get|delete iamserviceaccount`.

Typer apps for the lead to register: ``utils_app`` ("utils"), ``create_app`` ("create"), ``get_app`` ("get"),
``delete_app`` ("delete"). Every mutation is a plan (printed, nothing changed) unless ``--approve``.
Progress and plans go to stderr; results meant for pipes (the ``get`` table, ``--output yaml``) to stdout.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
import yaml

from irsa.eksctl import iamserviceaccount as isa
from irsa.eksctl.aws import resolve
from irsa.eksctl.naming import EksctlError, parse_tags
from irsa.eksctl.provider import associate

utils_app = typer.Typer(help="eksctl-style utilities.", no_args_is_help=True)
create_app = typer.Typer(help="eksctl-style create.", no_args_is_help=True)
get_app = typer.Typer(help="eksctl-style get.", no_args_is_help=True)
delete_app = typer.Typer(help="eksctl-style delete.", no_args_is_help=True)

DataDir = typer.Option(None, "--data-dir", help="State directory of `irsa up`, used when AWS_ENDPOINT_URL is unset (default: $IRSA_DATA_DIR or ~/.irsa).")
Region = typer.Option(None, "--region", "-r", help="AWS region (default: the configured one).")
Profile = typer.Option(None, "--profile", "-p", help="AWS profile (forces the AWS configuration over `irsa up`'s).")
Cluster = typer.Option(..., "--cluster", "-c", help="EKS cluster name.")
Approve = typer.Option(False, "--approve", help="Apply the changes (without it: print the plan and change nothing).")
Kubeconfig = typer.Option(None, "--kubeconfig", help="Apply the ServiceAccount to this cluster (default: `irsa up`'s registry, else $KUBECONFIG).")
KubeContext = typer.Option(None, "--context", help="kubeconfig context (default: current).")


def _err(text: str) -> None:
    typer.echo(text, err=True)


def _fail(exc: EksctlError) -> typer.Exit:
    _err(f"Error: {exc}")
    return typer.Exit(1)


@utils_app.command("associate-iam-oidc-provider")
def associate_iam_oidc_provider(cluster: str = Cluster, approve: bool = Approve, region: str | None = Region,
                                profile: str | None = Profile, data_dir: Path | None = DataDir) -> None:
    """Create the IAM OIDC provider for a cluster's issuer (idempotent)."""
    try:
        associate(resolve(data_dir, region, profile), cluster, approve=approve, echo=_err)
    except EksctlError as exc:
        raise _fail(exc) from None


@create_app.command("iamserviceaccount")
def create_iamserviceaccount(
    cluster: str = Cluster,
    name: str = typer.Option(..., "--name", help="ServiceAccount name."),
    namespace: str = typer.Option("default", "--namespace", help="ServiceAccount namespace (created if missing)."),
    attach_policy_arn: list[str] = typer.Option([], "--attach-policy-arn", help="Managed policy to attach (repeatable)."),
    attach_role_arn: str | None = typer.Option(None, "--attach-role-arn", help="Use this existing role; only the ServiceAccount is created."),
    role_name: str | None = typer.Option(None, "--role-name", help="Role name (default: eksctl-<cluster>-addon-iamserviceaccount-<ns>-<name>-Role1-<random>)."),
    role_only: bool = typer.Option(False, "--role-only", help="Create the role only, no ServiceAccount."),
    permissions_boundary: str | None = typer.Option(None, "--permissions-boundary", help="Managed policy ARN to set as the role's permissions boundary."),
    tags: str | None = typer.Option(None, "--tags", help="Role tags: k1=v1,k2=v2."),
    override_existing_serviceaccounts: bool = typer.Option(False, "--override-existing-serviceaccounts",
                                                           help="Annotate a ServiceAccount that already exists."),
    output: str | None = typer.Option(None, "--output", "-o", help="'yaml': print the ServiceAccount instead of applying it."),
    output_file: Path | None = typer.Option(None, "--output-file", help="With --output yaml: write it to this file."),
    kubeconfig: Path | None = Kubeconfig,
    context: str | None = KubeContext,
    approve: bool = Approve,
    region: str | None = Region,
    profile: str | None = Profile,
    data_dir: Path | None = DataDir,
) -> None:
    """An IAM role a ServiceAccount can assume (eksctl's trust policy) and the annotated ServiceAccount."""
    try:
        options = isa.CreateOptions(
            cluster=cluster, name=name, namespace=namespace, policy_arns=list(attach_policy_arn), attach_role_arn=attach_role_arn,
            role_name=role_name, role_only=role_only, permissions_boundary=permissions_boundary, tags=parse_tags(tags),
            override_existing=override_existing_serviceaccounts, output=output, output_file=output_file,
            kubeconfig=kubeconfig, kube_context=context)
        isa.check_options(options)  # flag errors before any AWS call
        aws = resolve(data_dir, region, profile)
        plan = isa.plan_create(aws, options)
        if not approve:
            isa.print_plan(plan, _err)
            return
        for note in plan.notes:
            _err(note)
        isa.apply_create(aws, plan, _err, typer.echo)
    except EksctlError as exc:
        raise _fail(exc) from None


@get_app.command("iamserviceaccount")
def get_iamserviceaccount(
    cluster: str = Cluster,
    namespace: str | None = typer.Option(None, "--namespace", help="Only this namespace."),
    name: str | None = typer.Option(None, "--name", help="Only this ServiceAccount."),
    output: str = typer.Option("table", "--output", "-o", help="table, json or yaml."),
    kubeconfig: Path | None = Kubeconfig,
    context: str | None = KubeContext,
    region: str | None = Region,
    profile: str | None = Profile,
    data_dir: Path | None = DataDir,
) -> None:
    """IAM service accounts of a cluster: NAMESPACE, NAME, ROLE ARN."""
    try:
        if output not in ("table", "json", "yaml"):
            raise EksctlError(f"--output: table, json or yaml, got {output!r}")
        aws = resolve(data_dir, region, profile)
        isa.describe_cluster(aws, cluster)
        try:
            target = isa.service_account_target(aws, cluster, kubeconfig, context)
        except EksctlError:
            if kubeconfig is not None:
                raise
            target = None  # roles only
        rows = isa.get_rows(aws, cluster, namespace, name, target)
    except EksctlError as exc:
        raise _fail(exc) from None
    if output == "table":
        if not rows:
            _err(f'no iamserviceaccounts found for cluster "{cluster}"')
            return
        typer.echo(isa.format_table(rows))
        return
    docs = [{"metadata": {"name": r.name, "namespace": r.namespace}, "status": {"roleARN": r.role_arn}} for r in rows]
    typer.echo(json.dumps(docs, indent=2) if output == "json" else yaml.safe_dump(docs, sort_keys=False).rstrip())


@delete_app.command("iamserviceaccount")
def delete_iamserviceaccount(
    cluster: str = Cluster,
    name: str = typer.Option(..., "--name", help="ServiceAccount name."),
    namespace: str = typer.Option("default", "--namespace", help="ServiceAccount namespace."),
    kubeconfig: Path | None = Kubeconfig,
    context: str | None = KubeContext,
    approve: bool = Approve,
    region: str | None = Region,
    profile: str | None = Profile,
    data_dir: Path | None = DataDir,
) -> None:
    """Delete the role this tool created for the ServiceAccount (never another) and the ServiceAccount."""
    try:
        aws = resolve(data_dir, region, profile)
        plan = isa.plan_delete(aws, cluster, namespace, name, kubeconfig, context)
        if not approve:
            isa.print_delete_plan(plan, _err)
            return
        for note in plan.notes:
            _err(note)
        isa.apply_delete(aws, plan, _err)
    except EksctlError as exc:
        raise _fail(exc) from None


def main() -> None:  # `python -m irsa.cli.eksctl <utils|create|get|delete> ...` until the lead registers the apps
    app = typer.Typer(no_args_is_help=True)
    app.add_typer(utils_app, name="utils")
    app.add_typer(create_app, name="create")
    app.add_typer(get_app, name="get")
    app.add_typer(delete_app, name="delete")
    app()


if __name__ == "__main__":
    main()
