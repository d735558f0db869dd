"""``irsa policy``: validate policy documents and simulate requests like ``aws iam simulate-custom-policy``."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from irsa.errors import AwsError
from irsa.policy import PolicyKind, validate_policy
from irsa.policy.compiled import CompiledPolicy
from irsa.policy.managed import get_managed_policy
from irsa.policy.simulate import simulate as run_simulation

app = typer.Typer(help="IAM policy tools: validate documents, simulate requests.", no_args_is_help=True)

MAX_FILE_BYTES = 1 << 20


class Output(str, Enum):
    json = "json"
    table = "table"


def _read(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise typer.BadParameter(f"{path} is larger than {MAX_FILE_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise typer.BadParameter(f"{path} is not UTF-8 text") from None


@app.command()
def validate(
    files: list[Path] = typer.Argument(..., help="Policy documents (JSON files)."),
    kind: PolicyKind = typer.Option(PolicyKind.IDENTITY, "--kind", help="How the document will be used."),
) -> None:
    """Report MalformedPolicyDocument findings in IAM's words; exit 1 when any document is malformed."""
    malformed = False
    for path in files:
        findings = validate_policy(_read(path), kind)
        if not findings:
            typer.echo(f"{path}: OK")
            continue
        malformed = True
        for f in findings:
            where = f" (statement {f.statement_index}, line {f.line}, column {f.column})" if f.line else ""
            typer.echo(f"{path}: {f.code}: {f.message}{where}")
    if malformed:
        raise typer.Exit(1)


def _policy_source(ref: str, what: str) -> str | CompiledPolicy:
    """A file path, or an AWS managed policy ARN (compiled under its ARN as SourcePolicyId)."""
    if ref.startswith("arn:"):
        managed = get_managed_policy(ref)
        if managed is None:
            raise typer.BadParameter(f"{what}: no AWS managed policy {ref}")
        kind = PolicyKind.BOUNDARY if what == "--permissions-boundary" else (
            PolicyKind.SESSION if what == "--session-policy" else PolicyKind.IDENTITY)
        return managed.compile(kind)
    return _read(Path(ref))


_CONTEXT_FIELDS = {"key": "ContextKeyName", "contextkeyname": "ContextKeyName",
                   "values": "ContextKeyValues", "contextkeyvalues": "ContextKeyValues",
                   "type": "ContextKeyType", "contextkeytype": "ContextKeyType"}


def parse_context_option(text: str) -> dict[str, Any]:
    """``key=aws:SourceIp,values=10.0.0.1,10.0.0.2,type=ipList`` (AWS CLI field names also accepted)."""
    entry: dict[str, Any] = {"ContextKeyValues": []}
    current: str | None = None
    for token in text.split(","):
        name, sep, value = token.partition("=")
        field = _CONTEXT_FIELDS.get(name.strip().lower()) if sep else None
        if field is None:
            if current != "ContextKeyValues":
                raise typer.BadParameter(f"--context: cannot parse {text!r}")
            entry["ContextKeyValues"].append(token)
            continue
        current = field
        if field == "ContextKeyValues":
            entry[field].append(value)
        else:
            entry[field] = value.strip().strip("'\"")
    if "ContextKeyName" not in entry or not entry["ContextKeyName"]:
        raise typer.BadParameter(f"--context: no key in {text!r}")
    return entry


def _table(results: list[dict[str, Any]]) -> Table:
    table = Table(title="EvaluationResults")
    for col in ("Action", "Resource", "Decision", "Matched statements", "Missing context values"):
        table.add_column(col)
    for r in results:
        matched = "\n".join(
            f"{m['SourcePolicyId']} {m['StartPosition']['Line']}:{m['StartPosition']['Column']}"
            f"-{m['EndPosition']['Line']}:{m['EndPosition']['Column']}"
            for m in r["MatchedStatements"]
        )
        missing = r["MissingContextValues"] or [
            k for s in r.get("ResourceSpecificResults", []) for k in s["MissingContextValues"]
        ]
        style = {"allowed": "green", "explicitDeny": "red"}.get(r["EvalDecision"], "yellow")
        table.add_row(r["EvalActionName"], r["EvalResourceName"], f"[{style}]{r['EvalDecision']}[/{style}]",
                      matched, ", ".join(missing))
    return table


@app.command()
def simulate(
    action: list[str] = typer.Option(..., "--action", help="Action names, e.g. s3:GetObject (repeatable)."),
    policy: Optional[list[str]] = typer.Option(None, "--policy", help="Identity policy file or AWS managed ARN."),
    permissions_boundary: Optional[list[str]] = typer.Option(None, "--permissions-boundary"),
    session_policy: Optional[list[str]] = typer.Option(None, "--session-policy"),
    resource_policy: Optional[str] = typer.Option(None, "--resource-policy", help="Resource policy file."),
    caller_arn: Optional[str] = typer.Option(None, "--caller-arn"),
    resource: Optional[list[str]] = typer.Option(None, "--resource", help="Resource ARNs (default *)."),
    context: Optional[list[str]] = typer.Option(None, "--context", help="key=K,values=V1,V2,type=T (repeatable)."),
    output: Output = typer.Option(Output.json, "--output"),
) -> None:
    """Evaluate actions against policies and print EvaluationResults as IAM does."""
    try:
        results = run_simulation(
            [_policy_source(p, "--policy") for p in policy or []],
            action,
            resource_arns=resource or None,
            resource_policy=_read(Path(resource_policy)) if resource_policy else None,
            caller_arn=caller_arn,
            context_entries=[parse_context_option(c) for c in context or []],
            permissions_boundary_policy_input_list=[
                _policy_source(p, "--permissions-boundary") for p in permissions_boundary or []
            ],
            session_policies=[_policy_source(p, "--session-policy") for p in session_policy or []],
        )
    except AwsError as exc:
        typer.echo(f"An error occurred ({exc.code}): {exc.message}", err=True)
        raise typer.Exit(254) from None
    if output == Output.table:
        Console(width=160).print(_table(results))
    else:
        typer.echo(json.dumps({"EvaluationResults": results}, indent=4))
