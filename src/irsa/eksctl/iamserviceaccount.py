"""``create|get|delete iamserviceaccount`` (reference issuer-cli-and-doctor.md §3.2-§3.5, §3.8).

Every command first gathers a plan with read-only calls (unknown cluster, missing provider, unknown policy
ARNs, an existing ServiceAccount, an unusable output path all fail here, before anything changes), prints
it, and applies it only when approved. Applying records an undo step for each thing it creates; a failure
part-way runs them in reverse and then says what was rolled back and what, if anything, still exists.

Deviations from eksctl, on purpose:
- no CloudFormation: the role is created directly; eksctl's stack tags are put on the role instead, plus
  our ``irsa:created-by`` tag, the only thing ``delete`` trusts before deleting a role;
- a role that already exists for the SA (ours) is reused and the SA created/annotated (eksctl prints
  "no tasks", #4941/#1728);
- an SA that exists without ``--override-existing-serviceaccounts`` is an error, not a quiet exclusion (#1333);
- ``--permissions-boundary`` is a CLI flag (config-file only in eksctl);
- ``delete`` removes the SA only when it carries the ``managed-by`` label or points at the role being
  deleted, and never deletes a role this tool did not create.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import BotoCoreError, ClientError

from irsa.eksctl import naming as n
from irsa.eksctl.aws import Aws, describe, error_code
from irsa.eksctl.cluster import ClusterInfo, describe_cluster, get_provider
from irsa.eksctl.naming import EksctlError
from irsa.eksctl.serviceaccounts import (
    KubeCluster,
    LocalRegistry,
    ServiceAccounts,
    default_kubeconfig,
)

Echo = Callable[[str], None]
NO_CHANGES = "no changes were applied, run again with '--approve' to apply the changes"


# ----------------------------------------------------------------------------------------------- plumbing
def _iam(aws: Aws, operation: str, **kwargs: Any) -> Any:
    try:
        return getattr(aws.client("iam"), operation)(**kwargs)
    except ClientError as exc:
        raise EksctlError(f"iam:{_op_name(operation)}: {describe(exc)}") from exc
    except BotoCoreError as exc:
        raise EksctlError(f"iam:{_op_name(operation)}: {describe(exc)}") from exc


def _op_name(snake: str) -> str:
    return "".join(p.capitalize() for p in snake.split("_")).replace("OpenIdConnect", "OpenIDConnect")


def _paginate(aws: Aws, operation: str, key: str, **kwargs: Any) -> list[Any]:
    try:
        out: list[Any] = []
        for page in aws.client("iam").get_paginator(operation).paginate(**kwargs):
            out.extend(page.get(key) or [])
        return out
    except (ClientError, BotoCoreError) as exc:
        raise EksctlError(f"iam:{_op_name(operation)}: {describe(exc)}") from exc


def service_account_target(aws: Aws, cluster: str, kubeconfig: Path | None, context: str | None = None) -> ServiceAccounts:
    """``--kubeconfig`` if given; else ``irsa up``'s registry when it serves the cluster; else the default
    kubeconfig (``$KUBECONFIG`` / ``~/.kube/config``), as eksctl would use."""
    if kubeconfig is not None:
        if not kubeconfig.is_file():
            raise EksctlError(f"kubeconfig {kubeconfig} does not exist")
        return KubeCluster(kubeconfig, context)
    if aws.admin is not None:
        registry = LocalRegistry(aws.admin, cluster)
        if registry.serves_cluster():
            return registry
    fallback = default_kubeconfig()
    if fallback is not None:
        return KubeCluster(fallback, context)
    raise EksctlError(f"no Kubernetes API for cluster {cluster!r}: it is not served by `irsa up` and there is no kubeconfig; "
                      "pass --kubeconfig, or --role-only, or --output yaml")


@dataclass(frozen=True)
class RoleRecord:
    arn: str
    name: str
    namespace: str
    sa_name: str
    owned: bool


def find_roles(aws: Aws, cluster: str, namespace: str | None = None, name: str | None = None) -> list[RoleRecord]:
    """Roles tagged for ServiceAccounts of ``cluster`` (ours, and eksctl's whose stack tags reached the role).
    ListRoles does not return tags, so only likely candidates (our description, eksctl's name prefix) are
    asked for theirs."""
    out: list[RoleRecord] = []
    for role in _paginate(aws, "list_roles", "Roles"):
        if not (str(role.get("Description") or "").startswith(n.DESCRIPTION_PREFIX) or role["RoleName"].startswith("eksctl-")):
            continue
        try:
            tags = {t["Key"]: t["Value"] for t in _paginate(aws, "list_role_tags", "Tags", RoleName=role["RoleName"])}
        except EksctlError as exc:
            if isinstance(exc.__cause__, ClientError) and error_code(exc.__cause__) == "NoSuchEntity":
                continue  # deleted meanwhile
            raise
        if tags.get(n.CLUSTER_NAME_TAG) != cluster or "/" not in tags.get(n.SA_NAME_TAG, ""):
            continue
        ns, sa = tags[n.SA_NAME_TAG].split("/", 1)
        if (namespace is None or ns == namespace) and (name is None or sa == name):
            out.append(RoleRecord(role["Arn"], role["RoleName"], ns, sa, n.owned_by_us(tags, cluster, ns, sa)))
    return sorted(out, key=lambda r: (r.namespace, r.sa_name, r.arn))


class Undo:
    """What an apply created, undone in reverse on failure."""

    def __init__(self, echo: Echo) -> None:
        self.echo = echo
        self.steps: list[tuple[str, Callable[[], None]]] = []

    def add(self, what: str, fn: Callable[[], None]) -> None:
        self.steps.append((what, fn))

    def rollback(self, failure: str) -> EksctlError:
        undone, left = [], []
        for what, fn in reversed(self.steps):
            try:
                fn()
                undone.append(what)
            except Exception as exc:  # noqa: BLE001 - keep undoing the rest; report what is left
                left.append(f"{what} ({exc})")
        self.steps.clear()
        lines = [failure]
        if undone:
            lines.append("rolled back: " + "; ".join(undone))
        lines.append("still exists: " + ("; ".join(left) if left else "nothing created by this command"))
        return EksctlError("\n".join(lines))


def _delete_role(aws: Aws, role_name: str, echo: Echo | None = None) -> None:
    """Detach managed policies, delete inline policies and the boundary, then the role."""
    for p in _paginate(aws, "list_attached_role_policies", "AttachedPolicies", RoleName=role_name):
        _iam(aws, "detach_role_policy", RoleName=role_name, PolicyArn=p["PolicyArn"])
        if echo:
            echo(f"detached {p['PolicyArn']} from role {role_name}")
    for policy_name in _paginate(aws, "list_role_policies", "PolicyNames", RoleName=role_name):
        _iam(aws, "delete_role_policy", RoleName=role_name, PolicyName=policy_name)
        if echo:
            echo(f"deleted inline policy {policy_name} of role {role_name}")
    _iam(aws, "delete_role", RoleName=role_name)


# ----------------------------------------------------------------------------------------------- create
@dataclass
class CreateOptions:
    cluster: str
    name: str
    namespace: str = "default"
    policy_arns: list[str] = field(default_factory=list)
    attach_role_arn: str | None = None
    role_name: str | None = None
    role_only: bool = False
    permissions_boundary: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    override_existing: bool = False
    output: str | None = None          # "yaml": print the SA instead of applying it
    output_file: Path | None = None    # with output yaml: write it there
    kubeconfig: Path | None = None
    kube_context: str | None = None


def check_options(o: CreateOptions) -> None:
    """Flag combinations (eksctl's rules, §3.2) and local validity; no I/O except the output path check."""
    n.check_cluster_name(o.cluster)
    n.check_namespace(o.namespace)
    n.check_service_account_name(o.name)
    if o.output is not None and o.output != "yaml":
        raise EksctlError(f"--output: only 'yaml' is supported, got {o.output!r}")
    if o.attach_role_arn:
        conflicts = [f for f, v in (("--attach-policy-arn", o.policy_arns), ("--role-name", o.role_name), ("--role-only", o.role_only),
                                    ("--permissions-boundary", o.permissions_boundary), ("--tags", o.tags)) if v]
        if conflicts:
            raise EksctlError(f"--attach-role-arn cannot be used with {', '.join(conflicts)}: the role exists already, only the serviceaccount is created")
        problem = n.role_arn_problem(o.attach_role_arn)
        if problem:
            raise EksctlError(f"--attach-role-arn: {problem}")
    elif not o.policy_arns:
        raise EksctlError("--attach-policy-arn or --attach-role-arn is required")
    if o.role_only and (o.output or o.output_file or o.kubeconfig):
        raise EksctlError("--role-only creates no serviceaccount: --output/--output-file/--kubeconfig do not apply")
    if o.output_file is not None and o.output != "yaml":
        raise EksctlError("--output-file needs --output yaml")
    if o.output == "yaml" and o.kubeconfig is not None:
        raise EksctlError("--output yaml prints the serviceaccount instead of applying it: --kubeconfig does not apply")
    if o.role_name is not None and not (0 < len(o.role_name) <= n.MAX_ROLE_NAME):
        raise EksctlError(f"--role-name must be 1 to {n.MAX_ROLE_NAME} characters")
    if o.output_file is not None:
        check_writable(o.output_file)


def check_writable(path: Path) -> None:
    if path.is_dir():
        raise EksctlError(f"output path {path} is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise EksctlError(f"cannot write {path}: directory {parent} does not exist")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise EksctlError(f"cannot write {path}: permission denied")
    elif not os.access(parent, os.W_OK | os.X_OK):
        raise EksctlError(f"cannot write {path}: directory {parent} is not writable")


@dataclass
class CreatePlan:
    options: CreateOptions
    cluster: ClusterInfo
    role_arn: str | None                   # known unless a default-named role is still to be created
    role_name: str | None                  # the role to create (None: reuse or --attach-role-arn)
    trust: dict[str, Any] | None
    reused_role: RoleRecord | None
    sa_target: ServiceAccounts | None
    existing_sa: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)

    @property
    def creates_role(self) -> bool:
        return self.role_name is not None

    @property
    def sa_action(self) -> str:
        o = self.options
        if o.role_only:
            return "none"
        if o.output == "yaml":
            return "yaml"
        if self.existing_sa is None:
            return "create"
        return "update"


def plan_create(aws: Aws, o: CreateOptions) -> CreatePlan:
    check_options(o)
    info = describe_cluster(aws, o.cluster)
    notes: list[str] = []
    trust = None
    role_name = None
    role_arn = None
    reused = None
    if o.attach_role_arn:
        role_arn = o.attach_role_arn
        parsed_account = role_arn.split(":")[4]
        if parsed_account == info.account:
            try:
                found = aws.client("iam").get_role(RoleName=n.role_name_from_arn(role_arn))["Role"]
            except ClientError as exc:
                if error_code(exc) == "NoSuchEntity":
                    raise EksctlError(f"--attach-role-arn: role {role_arn} does not exist") from None
                raise EksctlError(f"iam:GetRole: {describe(exc)}") from None
            if found["Arn"] != role_arn:
                raise EksctlError(f"--attach-role-arn: {role_arn} does not exist (a role of that name has ARN {found['Arn']})")
        else:
            notes.append(f"role {role_arn} is in account {parsed_account}, not the cluster's; not checked")
    else:
        if get_provider(aws, info.provider_arn) is None:
            raise EksctlError(f"no IAM OIDC provider associated with cluster {o.cluster!r}, try "
                              f"'irsa utils associate-iam-oidc-provider --region={info.region} --cluster={o.cluster} --approve'\n"
                              "unable to create iamserviceaccount(s) without IAM OIDC provider enabled")
        for policy in n.unique(o.policy_arns) + ([o.permissions_boundary] if o.permissions_boundary else []):
            problem = n.policy_arn_problem(policy, info.partition)
            if problem:
                raise EksctlError(problem)
            try:
                aws.client("iam").get_policy(PolicyArn=policy)
            except ClientError as exc:
                if error_code(exc) == "NoSuchEntity":
                    raise EksctlError(f"policy {policy} does not exist") from None
                raise EksctlError(f"iam:GetPolicy {policy}: {describe(exc)}") from None
        mine = [r for r in find_roles(aws, o.cluster, o.namespace, o.name) if r.owned]
        if o.role_name is not None:
            mine = [r for r in mine if r.name == o.role_name]
            try:
                existing = aws.client("iam").get_role(RoleName=o.role_name)["Role"]
            except ClientError as exc:
                if error_code(exc) != "NoSuchEntity":
                    raise EksctlError(f"iam:GetRole: {describe(exc)}") from None
                existing = None
            if existing is not None and not mine:
                raise EksctlError(f"role {o.role_name!r} already exists ({existing['Arn']}) and was not created by irsa for "
                                  f"{o.namespace}/{o.name} in cluster {o.cluster!r}; choose another --role-name or use --attach-role-arn")
        if mine:
            reused = mine[0]
            role_arn = reused.arn
            notes.append(f"IAM role {reused.arn} for {o.namespace}/{o.name} already exists (created by irsa): reusing it unchanged; "
                         "to change its policies, delete the iamserviceaccount and create it again")
        else:
            role_name = o.role_name or n.default_role_name(o.cluster, o.namespace, o.name)
            trust = n.trust_policy(info.provider_arn, n.condition_prefix(info.issuer, info.provider_arn), o.namespace, o.name, info.audience)
            if o.role_name is not None:
                role_arn = f"arn:{info.partition}:iam::{info.account}:role/{role_name}"
    target = None
    existing_sa = None
    if not o.role_only and o.output != "yaml":
        target = service_account_target(aws, o.cluster, o.kubeconfig, o.kube_context)
        existing_sa = target.get(o.namespace, o.name)
        if existing_sa is not None:
            current = ((existing_sa.get("metadata") or {}).get("annotations") or {}).get(n.ROLE_ARN_ANNOTATION)
            if not o.override_existing and not (role_arn is not None and current == role_arn):
                shown = f" (annotated with {current})" if current else ""
                raise EksctlError(f"serviceaccount {o.namespace}/{o.name} already exists in {target.description}{shown}; "
                                  "pass --override-existing-serviceaccounts to annotate it with the role")
    if reused is not None and o.role_only:
        notes.append("nothing to do: the role exists and --role-only creates no serviceaccount")
    return CreatePlan(o, info, role_arn, role_name, trust, reused, target, existing_sa, notes)


def _sa_yaml(obj: dict[str, Any]) -> str:
    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False)


def print_plan(plan: CreatePlan, echo: Echo) -> None:
    o, info = plan.options, plan.cluster
    echo(f'cluster "{o.cluster}" in "{info.region}": OIDC issuer {info.issuer.url}')
    for note in plan.notes:
        echo(note)
    if plan.creates_role:
        echo(f'(plan) would create IAM role "{plan.role_name}"' + ("" if o.role_name else " (the 13-character suffix is random; a new one each run)"))
        echo("  trust policy:")
        echo("\n".join("    " + line for line in json.dumps(plan.trust, indent=2).splitlines()))
        echo("  attach policies: " + ", ".join(n.unique(o.policy_arns)))
        if o.permissions_boundary:
            echo(f"  permissions boundary: {o.permissions_boundary}")
        tags = n.role_tags(o.cluster, o.namespace, o.name, o.tags)
        echo("  tags: " + ", ".join(f"{t['Key']}={t['Value']}" for t in tags))
    arn_text = plan.role_arn or f"<ARN of role {plan.role_name}>"
    action = plan.sa_action
    if action in ("create", "yaml", "update"):
        obj = n.service_account_object(o.namespace, o.name, arn_text)
        if action == "create":
            echo(f"(plan) would create serviceaccount {o.namespace}/{o.name} in {plan.sa_target.description if plan.sa_target else ''}:")
        elif action == "update":
            echo(f"(plan) would update existing serviceaccount {o.namespace}/{o.name} in {plan.sa_target.description if plan.sa_target else ''} "
                 f"(label {n.MANAGED_BY_LABEL}={n.MANAGED_BY_VALUE}, annotation {n.ROLE_ARN_ANNOTATION}={arn_text})")
        else:
            where = str(o.output_file) if o.output_file else "standard output"
            echo(f"(plan) would write this serviceaccount to {where} (not applied to any cluster):")
        if action != "update":
            echo("\n".join("    " + line for line in _sa_yaml(obj).splitlines()))
    else:
        echo("(plan) no serviceaccount (--role-only)")
    echo(NO_CHANGES)


def apply_create(aws: Aws, plan: CreatePlan, echo: Echo, emit: Echo) -> str:
    """Apply an approved plan; returns the role ARN the SA uses. ``echo`` is for progress (stderr),
    ``emit`` for the YAML when no output file is given (stdout)."""
    o = plan.options
    undo = Undo(echo)
    role_arn = plan.role_arn
    step = ""
    try:
        if plan.creates_role:
            assert plan.role_name is not None and plan.trust is not None
            step = f"creating IAM role {plan.role_name}"
            kwargs: dict[str, Any] = {
                "RoleName": plan.role_name, "AssumeRolePolicyDocument": json.dumps(plan.trust),
                "Description": n.role_description(o.namespace, o.name), "Tags": n.role_tags(o.cluster, o.namespace, o.name, o.tags),
            }
            if o.permissions_boundary:
                kwargs["PermissionsBoundary"] = o.permissions_boundary
            role = _iam(aws, "create_role", **kwargs)["Role"]
            role_arn = role["Arn"]
            role_name = plan.role_name
            undo.add(f"deleted IAM role {role_arn}", lambda: _iam(aws, "delete_role", RoleName=role_name))
            echo(f"created IAM role {role_arn}")
            for policy in n.unique(o.policy_arns):
                step = f"attaching {policy} to role {role_name}"
                _iam(aws, "attach_role_policy", RoleName=role_name, PolicyArn=policy)
                undo.add(f"detached {policy}", lambda p=policy: _iam(aws, "detach_role_policy", RoleName=role_name, PolicyArn=p))
                echo(f"attached {policy}")
        assert role_arn is not None
        action = plan.sa_action
        if action in ("create", "update"):
            target = plan.sa_target
            assert target is not None
            if action == "create":
                step = f"creating namespace {o.namespace}"
                if target.ensure_namespace(o.namespace):
                    undo.add(f"deleted namespace {o.namespace}", lambda: target.delete_namespace(o.namespace))
                    echo(f"created namespace {o.namespace}")
                step = f"creating serviceaccount {o.namespace}/{o.name}"
                target.create(n.service_account_object(o.namespace, o.name, role_arn))
                undo.add(f"deleted serviceaccount {o.namespace}/{o.name}", lambda: target.delete(o.namespace, o.name))
                echo(f"created serviceaccount {o.namespace}/{o.name} in {target.description}")
            else:
                step = f"updating serviceaccount {o.namespace}/{o.name}"
                assert plan.existing_sa is not None
                labels, annotations, changed = n.merged_metadata(plan.existing_sa, role_arn)
                if changed:
                    note = target.update(o.namespace, o.name, labels, annotations)
                    echo(f"updated serviceaccount {o.namespace}/{o.name}: {n.ROLE_ARN_ANNOTATION}={role_arn}")
                    if note:
                        echo(f"note: {note}")
                else:
                    echo(f"serviceaccount {o.namespace}/{o.name} is already annotated with {role_arn}")
        elif action == "yaml":
            text = _sa_yaml(n.service_account_object(o.namespace, o.name, role_arn))
            if o.output_file is not None:
                step = f"writing {o.output_file}"
                o.output_file.write_text(text)
                echo(f"wrote serviceaccount {o.namespace}/{o.name} to {o.output_file}")
            else:
                emit(text.rstrip("\n"))
    except (EksctlError, OSError) as exc:
        raise undo.rollback(f"failed {step}: {exc}") from None
    except KeyboardInterrupt:
        raise undo.rollback(f"interrupted while {step}") from None
    return role_arn


# ----------------------------------------------------------------------------------------------- get
@dataclass(frozen=True)
class Row:
    namespace: str
    name: str
    role_arn: str


def get_rows(aws: Aws, cluster: str, namespace: str | None, name: str | None, sa_target: ServiceAccounts | None) -> list[Row]:
    rows = {(r.namespace, r.sa_name): Row(r.namespace, r.sa_name, r.arn) for r in find_roles(aws, cluster, namespace, name)}
    if sa_target is not None:  # also SAs made with --attach-role-arn (no role of ours)
        for sa in sa_target.list(namespace):
            md = sa.get("metadata") or {}
            role = (md.get("annotations") or {}).get(n.ROLE_ARN_ANNOTATION)
            key = (md.get("namespace", ""), md.get("name", ""))
            if role and (md.get("labels") or {}).get(n.MANAGED_BY_LABEL) == n.MANAGED_BY_VALUE and (name is None or key[1] == name):
                rows.setdefault(key, Row(key[0], key[1], role))
    return [rows[k] for k in sorted(rows)]


def format_table(rows: list[Row]) -> str:
    header = ("NAMESPACE", "NAME", "ROLE ARN")
    data = [header] + [(r.namespace, r.name, r.role_arn) for r in rows]
    widths = [max(len(row[i]) for row in data) for i in range(2)]
    return "\n".join(f"{a.ljust(widths[0])}\t{b.ljust(widths[1])}\t{c}" for a, b, c in data)


# ----------------------------------------------------------------------------------------------- delete
@dataclass
class DeletePlan:
    cluster: ClusterInfo
    namespace: str
    name: str
    roles: list[RoleRecord]           # ours: to delete
    foreign: list[RoleRecord]         # tagged for this SA but not created by us: left alone
    sa_target: ServiceAccounts | None
    sa: dict[str, Any] | None
    delete_sa: bool
    notes: list[str] = field(default_factory=list)


def plan_delete(aws: Aws, cluster: str, namespace: str, name: str, kubeconfig: Path | None, context: str | None = None) -> DeletePlan:
    n.check_cluster_name(cluster)
    n.check_namespace(namespace)
    n.check_service_account_name(name)
    info = describe_cluster(aws, cluster)
    tagged = find_roles(aws, cluster, namespace, name)
    roles = [r for r in tagged if r.owned]
    foreign = [r for r in tagged if not r.owned]
    notes = [f"leaving IAM role {r.arn}: it was not created by irsa" for r in foreign]
    try:
        target: ServiceAccounts | None = service_account_target(aws, cluster, kubeconfig, context)
    except EksctlError as exc:
        if not roles:
            raise
        target = None
        notes.append(f"serviceaccount not checked: {exc}")
    sa = target.get(namespace, name) if target is not None else None
    delete_sa = False
    if sa is not None:
        md = sa.get("metadata") or {}
        annotated = (md.get("annotations") or {}).get(n.ROLE_ARN_ANNOTATION)
        labelled = (md.get("labels") or {}).get(n.MANAGED_BY_LABEL) == n.MANAGED_BY_VALUE
        delete_sa = labelled or annotated in {r.arn for r in roles}
        if not delete_sa:
            notes.append(f"leaving serviceaccount {namespace}/{name}: not managed by irsa/eksctl and not annotated with a role being deleted")
        elif annotated and annotated not in {r.arn for r in roles}:
            notes.append(f"leaving IAM role {annotated} (the serviceaccount's role): it was not created by irsa")
    if not roles and not delete_sa:
        extra = ("; " + "; ".join(notes)) if notes else ""
        raise EksctlError(f"iamserviceaccount {namespace}/{name} not found for cluster {cluster!r}{extra}")
    return DeletePlan(info, namespace, name, roles, foreign, target, sa, delete_sa, notes)


def print_delete_plan(plan: DeletePlan, echo: Echo) -> None:
    for note in plan.notes:
        echo(note)
    for r in plan.roles:
        echo(f"(plan) would delete IAM role {r.arn} (detaching its managed policies, deleting its inline policies)")
    if plan.delete_sa and plan.sa_target is not None:
        echo(f"(plan) would delete serviceaccount {plan.namespace}/{plan.name} from {plan.sa_target.description}")
    echo(NO_CHANGES)


def apply_delete(aws: Aws, plan: DeletePlan, echo: Echo) -> None:
    done: list[str] = []
    step = ""
    try:
        for r in plan.roles:
            step = f"deleting IAM role {r.arn}"
            _delete_role(aws, r.name, echo)
            done.append(f"IAM role {r.arn}")
            echo(f"deleted IAM role {r.arn}")
        if plan.delete_sa and plan.sa_target is not None:
            step = f"deleting serviceaccount {plan.namespace}/{plan.name}"
            if plan.sa_target.delete(plan.namespace, plan.name):
                echo(f"deleted serviceaccount {plan.namespace}/{plan.name}")
            done.append(f"serviceaccount {plan.namespace}/{plan.name}")
    except EksctlError as exc:
        left = [f"IAM role {r.arn}" for r in plan.roles if f"IAM role {r.arn}" not in done]
        if plan.delete_sa and f"serviceaccount {plan.namespace}/{plan.name}" not in done:
            left.append(f"serviceaccount {plan.namespace}/{plan.name}")
        raise EksctlError(f"failed {step}: {exc}\ndeleted: {', '.join(done) or 'nothing'}\nstill exists: {', '.join(left)}") from None
