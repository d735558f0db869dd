"""``irsa issuer ...``: a self-hosted OIDC issuer for kops/k3s/kind-style clusters.

    irsa issuer keygen --out DIR [--key-type RSA|EC] [--private-key-format pkcs8|pkcs1]
    irsa issuer publish --issuer-url URL --out DIR --public-key PEM [--public-key PEM ...] [--max-age S]
    irsa issuer rotate --state DIR --stage publish|switch|drop [--issuer-url URL] [--out DIR] ...
    irsa issuer status --state DIR
    irsa issuer apiserver-flags --issuer-url URL --state DIR [--api-audiences A ...] [--additional-issuer URL ...]
                                [--legacy-key-file PATH ...]
    irsa issuer migration-trust-policy --role-name R --old-issuer URL --new-issuer URL --namespace NS
                                       --service-account SA [--account-id A] [--partition aws] [--apply]

Registered by the lead as ``app.add_typer(issuer_app, name="issuer")``; also runnable as
``python -m irsa.cli.issuer``. Errors: a message on stderr and exit status 1 (2 for usage errors), no traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from irsa.arn import STS_AUDIENCE
from irsa.oidc.keys import generate_signing_key, load_public_keys, load_signing_key
from irsa.selfhosted import keystate as ks
from irsa.selfhosted.apiserver import control_plane_flags
from irsa.selfhosted.issuer_url import IssuerUrlError, check_issuer_url
from irsa.selfhosted.migration import (
    MigrationError,
    apply_trust_policy,
    migration_trust_policy,
    role_account,
)
from irsa.selfhosted.publish import (
    DEFAULT_MAX_AGE_SECONDS,
    PublishError,
    issuer_files,
    upload_instructions,
    write_issuer_folder,
)
from irsa.selfhosted.published import (
    PublishedCheckError,
    fetch_live_issuer,
    require_published,
)

issuer_app = typer.Typer(
    help="Self-hosted OIDC issuer: signing keys, static discovery files, staged key rotation, apiserver flags.",
    no_args_is_help=True,
)


class KeyTypeOption(str, Enum):
    RSA = "RSA"
    EC = "EC"


class PrivateFormat(str, Enum):
    pkcs8 = "pkcs8"
    pkcs1 = "pkcs1"


_FORMAT_LABELS = {PrivateFormat.pkcs8: "PKCS#8", PrivateFormat.pkcs1: "PKCS#1"}


class Stage(str, Enum):
    publish = "publish"
    switch = "switch"
    drop = "drop"


StateDir = Annotated[Path, typer.Option("--state", help="The issuer state directory (made by `irsa issuer keygen`).")]
MaxAge = Annotated[
    int, typer.Option("--max-age", min=0, help="Cache-Control max-age to serve the files with (seconds).")
]


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _warn(lines: list[str], prefix: str = "warning") -> None:
    for line in lines:
        typer.echo(f"{prefix}: {line}", err=True)


def _check_url(url: str, option: str) -> list[str]:
    try:
        return check_issuer_url(url)
    except IssuerUrlError as exc:
        _fail(f"{option}: {exc}")


def _load_state(directory: Path) -> ks.IssuerState:
    try:
        return ks.load_state(directory)
    except ks.StateError as exc:
        _fail(str(exc))


def _publish(issuer: str, out: Path, keys: list, max_age: int) -> None:
    try:
        files = issuer_files(issuer, keys, max_age_seconds=max_age)
    except ValueError as exc:
        _fail(str(exc))
    try:
        written = write_issuer_folder(out, files)
    except PublishError as exc:
        _fail(str(exc))
    for path in written:
        typer.echo(f"wrote {path}")
    for line in upload_instructions(issuer, out, files):
        typer.echo(line)


# --- keygen ------------------------------------------------------------------------------------------


@issuer_app.command()
def keygen(
    out: Annotated[Path, typer.Option("--out", help="State directory to create (signing key, public keys, manifest).")],
    key_type: Annotated[KeyTypeOption, typer.Option("--key-type", help="RSA-2048 (RS256) or EC P-256 (ES256).")] = KeyTypeOption.RSA,
    private_key_format: Annotated[
        PrivateFormat, typer.Option("--private-key-format", help="PKCS#8 'PRIVATE KEY' or PKCS#1 'RSA PRIVATE KEY'.")
    ] = PrivateFormat.pkcs8,
    from_private_key: Annotated[
        Path | None,
        typer.Option("--from-private-key", help="Adopt the cluster's existing signing key (e.g. kubeadm "
                     "/etc/kubernetes/pki/sa.key) instead of generating one."),
    ] = None,
) -> None:
    """Generate (or adopt) the service-account signing key pair and print its kid."""
    if from_private_key is not None:
        try:
            key = load_signing_key(from_private_key)
        except FileNotFoundError:
            _fail(f"--from-private-key {from_private_key}: no such file")
        except (OSError, ValueError) as exc:
            _fail(f"--from-private-key {from_private_key}: {getattr(exc, 'strerror', None) or exc}")
    else:
        key = generate_signing_key(key_type.value)
    try:
        state = ks.init_state(out, key, private_key_format=private_key_format.value)
    except ks.StateError as exc:
        _fail(str(exc))
    typer.echo(f"kid: {key.kid}")
    typer.echo(f"private key: {state.signing_key_path} (0600, {_FORMAT_LABELS[private_key_format]} PEM)"
               f" -> --service-account-signing-key-file")
    typer.echo(f"public key:  {state.signing_public_path} (X.509 SubjectPublicKeyInfo PEM)")
    typer.echo(f"key bundle:  {state.key_bundle_path} -> --service-account-key-file")
    typer.echo(f"next: irsa issuer publish --issuer-url https://ISSUER --out PUBLIC_DIR --public-key {state.key_bundle_path}")
    typer.echo(f"      (or irsa issuer rotate --state {out} later, to rotate the key in stages)")
    if key.key_type == "EC":
        _warn(["every self-hosted IRSA setup surveyed uses RSA/RS256; EC keys with AWS STS are not verified"])


# --- publish -----------------------------------------------------------------------------------------


@issuer_app.command()
def publish(
    issuer_url: Annotated[str, typer.Option("--issuer-url", help="The issuer, exactly as --service-account-issuer.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write .well-known/openid-configuration and keys.json into.")],
    public_key: Annotated[
        list[Path], typer.Option("--public-key", help="PEM file with one or more public (or private) keys; repeatable.")
    ],
    max_age: MaxAge = DEFAULT_MAX_AGE_SECONDS,
) -> None:
    """Write the discovery document and JWKS for a static HTTPS host (S3, CloudFront, any web server)."""
    _warn(_check_url(issuer_url, "--issuer-url"))
    keys = []
    for path in public_key:
        try:
            keys += load_public_keys(path)
        except FileNotFoundError:
            _fail(f"--public-key {path}: no such file")
        except (OSError, ValueError) as exc:
            _fail(f"--public-key {path}: {getattr(exc, 'strerror', None) or exc}")
    _publish(issuer_url, out, keys, max_age)


# --- rotate ------------------------------------------------------------------------------------------


def _publish_target(state: ks.IssuerState, issuer_url: str | None, out: Path | None) -> tuple[str, Path]:
    if issuer_url is not None:
        _warn(_check_url(issuer_url, "--issuer-url"))
        if state.issuer_url is not None and state.issuer_url != issuer_url:
            _fail(
                f"this state directory publishes for {state.issuer_url}, not {issuer_url}: changing the issuer is not "
                f"a key rotation (see `irsa issuer migration-trust-policy` and --additional-issuer of apiserver-flags)"
            )
    issuer = issuer_url or state.issuer_url
    folder = out if out is not None else (Path(state.publish_dir) if state.publish_dir else None)
    if issuer is None or folder is None:
        _fail("the first rotation needs --issuer-url and --out (they are remembered in the state directory)")
    return issuer, folder


def _remember(state: ks.IssuerState, issuer: str, folder: Path) -> None:
    state.issuer_url, state.publish_dir = issuer, str(folder)
    state.save()


@issuer_app.command()
def rotate(
    state_dir: StateDir,
    stage: Annotated[Stage, typer.Option("--stage", help="publish (new key published) -> switch (new key signs) -> drop (old key unpublished).")],
    issuer_url: Annotated[str | None, typer.Option("--issuer-url", help="Issuer URL (remembered after the first use).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Publish folder (remembered after the first use).")] = None,
    key_type: Annotated[KeyTypeOption | None, typer.Option("--key-type", help="Type of the new key (default: the current key's).")] = None,
    max_age: MaxAge = DEFAULT_MAX_AGE_SECONDS,
    ca_bundle: Annotated[Path | None, typer.Option("--ca-bundle", help="switch: CA bundle to trust when reading the live JWKS back.")] = None,
    thumbprint: Annotated[list[str] | None, typer.Option("--thumbprint", help="switch: accept the issuer's TLS chain by IAM thumbprint.")] = None,
    skip_publish_check: Annotated[bool, typer.Option("--skip-publish-check", help="switch: do not require the live JWKS to hold the new key.")] = False,
    min_wait_hours: Annotated[float, typer.Option("--min-wait-hours", min=0, help="drop: hours to wait after switch.")] = ks.DEFAULT_DROP_WAIT.total_seconds() / 3600,
    force: Annotated[bool, typer.Option("--force", help="drop: drop before the wait is over.")] = False,
) -> None:
    """Rotate the signing key in three separate stages: publish, switch, drop."""
    state = _load_state(state_dir)
    try:
        if stage is Stage.publish:
            _rotate_publish(state, issuer_url, out, key_type, max_age)
        elif stage is Stage.switch:
            _rotate_switch(state, ca_bundle, thumbprint or [], skip_publish_check)
        else:
            _rotate_drop(state, issuer_url, out, max_age, dt.timedelta(hours=min_wait_hours), force)
    except ks.StateError as exc:
        _fail(str(exc))


def _rotate_publish(state: ks.IssuerState, issuer_url: str | None, out: Path | None,
                    key_type: KeyTypeOption | None, max_age: int) -> None:
    issuer, folder = _publish_target(state, issuer_url, out)
    if state.rotation is not None and state.rotation.stage == "publish":
        typer.echo(f"stage publish was already done for key {state.rotation.new_kid}; publishing the same keys again")
        _publish(issuer, folder, state.public_keys(), max_age)
        _remember(state, issuer, folder)
        return
    if state.rotation is not None:
        raise ks.StateError(f"the rotation is at stage {state.rotation.stage}; next: --stage drop")
    new = generate_signing_key(key_type.value if key_type else state.active.key_type)  # type: ignore[arg-type]
    _publish(issuer, folder, [*state.public_keys(), new.public_key], max_age)  # files first: a failure changes nothing
    ks.stage_publish(state, key=new)
    _remember(state, issuer, folder)
    typer.echo(f"stage publish done: new key {new.kid} is published next to {state.rotation.old_kid}, and does not sign yet")
    typer.echo(f"  {state.key_bundle_path} now holds both public keys: restart kube-apiserver with it")
    typer.echo("next: upload the two files above, wait for caches (max-age) to expire, then:")
    typer.echo(f"  irsa issuer rotate --state {state.directory} --stage switch")


def _rotate_switch(state: ks.IssuerState, ca_bundle: Path | None, thumbprints: list[str], skip_check: bool) -> None:
    rot = state.rotation
    if rot is None or rot.stage != "publish":
        ks.stage_switch(state)  # raises the ordering error
        return
    if skip_check:
        typer.echo("not checking the live JWKS (--skip-publish-check)")
    else:
        if state.issuer_url is None:
            raise ks.StateError("no issuer URL recorded; run --stage publish with --issuer-url first")
        new_public = [k for k, r in zip(state.public_keys(), state.published) if r.kid == rot.new_kid]
        try:
            live = fetch_live_issuer(state.issuer_url, ca_bundle=ca_bundle, thumbprints=thumbprints)
            require_published(live, new_public)
        except PublishedCheckError as exc:
            _fail(f"refusing to switch: {exc}. Upload the published files (or pass --skip-publish-check)")
        typer.echo(f"the live JWKS at {live.jwks_uri} holds the new key {rot.new_kid}")
    new = ks.stage_switch(state)
    earliest = ks.earliest_drop(state)
    typer.echo(f"stage switch done: {new.kid} now signs ({state.signing_key_path}); {rot.old_kid} stays published")
    typer.echo("next: copy the state's sa-signer.key and sa-keys.pub to every control-plane node, restart")
    typer.echo("  kube-apiserver and kube-controller-manager, and check that new tokens carry kid " + new.kid)
    typer.echo(f"then, not before {ks.timestamp(earliest)} (24 h after the switch: the kubelet refreshes tokens")
    typer.echo("  only after 80% of their lifetime or 24 h):")
    typer.echo(f"  irsa issuer rotate --state {state.directory} --stage drop")


def _rotate_drop(state: ks.IssuerState, issuer_url: str | None, out: Path | None, max_age: int,
                 min_wait: dt.timedelta, force: bool) -> None:
    rot = ks.check_drop(state, min_wait=min_wait, force=force)
    issuer, folder = _publish_target(state, issuer_url, out)
    remaining = [k for k, r in zip(state.public_keys(), state.published) if r.kid != rot.old_kid]
    _publish(issuer, folder, remaining, max_age)  # files first: a failure changes nothing
    old = ks.stage_drop(state, min_wait=min_wait, force=force)
    _remember(state, issuer, folder)
    typer.echo(f"stage drop done: {old.kid} is no longer published and its private key was deleted")
    typer.echo(f"next: upload keys.json, copy {state.key_bundle_path} (now only {state.active.kid}) to the control")
    typer.echo("  plane and restart kube-apiserver; tokens signed by the old key are rejected from now on")


@issuer_app.command()
def status(state_dir: StateDir) -> None:
    """Show the keys of a state directory and the rotation stage."""
    state = _load_state(state_dir)
    for line in ks.describe(state):
        typer.echo(line)


# --- apiserver-flags ---------------------------------------------------------------------------------


@issuer_app.command("apiserver-flags")
def apiserver_flags(
    issuer_url: Annotated[str, typer.Option("--issuer-url", help="The issuer (first --service-account-issuer).")],
    state_dir: StateDir,
    api_audiences: Annotated[list[str] | None, typer.Option("--api-audiences", help="Audiences (repeatable or comma-separated; default: the issuer(s)).")] = None,
    additional_issuer: Annotated[list[str] | None, typer.Option("--additional-issuer", help="Issuer still accepted (e.g. the old one during a migration).")] = None,
    legacy_key_file: Annotated[list[str] | None, typer.Option("--legacy-key-file", help="Existing --service-account-key-file to keep.")] = None,
) -> None:
    """Print the kube-apiserver and kube-controller-manager flags for this issuer."""
    state = _load_state(state_dir)
    audiences = [a.strip() for value in (api_audiences or []) for a in value.split(",") if a.strip()]
    try:
        flags = control_plane_flags(issuer_url, state, api_audiences=audiences,
                                    additional_issuers=additional_issuer or [], legacy_key_files=legacy_key_file or [])
    except (ValueError, ks.StateError) as exc:
        _fail(str(exc))
    typer.echo("# kube-apiserver")
    for flag in flags.apiserver:
        typer.echo(flag)
    typer.echo("# kube-controller-manager (signs legacy Secret tokens; switch it with the apiserver)")
    for flag in flags.controller_manager:
        typer.echo(flag)
    _warn(flags.warnings)
    _warn(flags.reminders, "note")


# --- migration-trust-policy --------------------------------------------------------------------------


def _iam_client():
    import botocore.session

    session = botocore.session.get_session()
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    if session.get_credentials() is None:
        _fail("--apply needs AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile)")
    return session.create_client("iam", region_name=region)


def _valid_role_name(name: str) -> bool:
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+=,.@-")
    return 1 <= len(name) <= 64 and set(name) <= allowed


@issuer_app.command("migration-trust-policy")
def migration_trust_policy_cmd(
    role_name: Annotated[str, typer.Option("--role-name", help="The IAM role to trust both issuers.")],
    old_issuer: Annotated[str, typer.Option("--old-issuer", help="The issuer being replaced.")],
    new_issuer: Annotated[str, typer.Option("--new-issuer", help="The new issuer.")],
    namespace: Annotated[str, typer.Option("--namespace", help="Service account namespace.")],
    service_account: Annotated[str, typer.Option("--service-account", help="Service account name.")],
    account_id: Annotated[str | None, typer.Option("--account-id", help="Account of the OIDC providers (default with --apply: the role's).")] = None,
    partition: Annotated[str, typer.Option("--partition", help="aws, aws-cn or aws-us-gov.")] = "aws",
    audience: Annotated[str | None, typer.Option("--audience", help="Token audience (default: the partition's STS audience).")] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Apply with IAM UpdateAssumeRolePolicy (AWS_ENDPOINT_URL + credentials from the environment).")] = False,
) -> None:
    """Print (or apply) a trust policy that trusts the old and the new issuer during an issuer change."""
    if not _valid_role_name(role_name):
        _fail(f"--role-name {role_name!r}: 1-64 characters of letters, digits and _+=,.@-")
    if partition not in STS_AUDIENCE:
        _fail(f"--partition {partition!r}: one of {', '.join(STS_AUDIENCE)}")
    iam = None
    if apply:
        iam = _iam_client()
        try:
            role_acct, role_partition, _ = role_account(iam, role_name)
        except MigrationError as exc:
            _fail(str(exc))
        if account_id is not None and account_id != role_acct:
            _fail(f"--account-id {account_id} differs from the role's account {role_acct}")
        account_id, partition = role_acct, role_partition
    if account_id is None:
        _fail("--account-id is needed without --apply (with --apply it is read from the role)")
    try:
        policy = migration_trust_policy(old_issuer=old_issuer, new_issuer=new_issuer, namespace=namespace,
                                        service_account=service_account, account_id=account_id,
                                        partition=partition, audience=audience)
    except MigrationError as exc:
        _fail(str(exc))
    _warn([f"--old-issuer: {w}" for w in check_issuer_url(old_issuer)] + [f"--new-issuer: {w}" for w in check_issuer_url(new_issuer)])
    typer.echo(json.dumps(policy, indent=2))
    if iam is None:
        typer.echo(f"# apply: aws iam update-assume-role-policy --role-name {role_name} --policy-document file://trust.json",
                   err=True)
        return
    try:
        applied = apply_trust_policy(iam, role_name, policy)
    except MigrationError as exc:
        _fail(str(exc))
    _warn([f"no OIDC provider {arn} in the account yet; create it before the role can be assumed through it"
           for arn in applied.missing_providers])
    typer.echo(f"updated the trust policy of {applied.role_arn}", err=True)
    typer.echo("previous trust policy (to roll back):", err=True)
    typer.echo(json.dumps(applied.previous, indent=2), err=True)
    typer.echo("after the move and 24 h, drop the TrustOldIssuer statement", err=True)


if __name__ == "__main__":
    issuer_app()
