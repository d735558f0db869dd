"""The control-plane flags for a self-hosted issuer (reference issuer-cli-and-doctor.md §1.3, §2.5, §7.2).

kube-apiserver:
- ``--service-account-issuer``: the issuer first (it signs ``iss``); extra issuers after it are still
  *accepted* (1.22+), which is how an issuer change keeps old tokens valid (kops' migration).
- ``--service-account-key-file``: the state's ``sa-keys.pub`` (every published key), plus any key the
  cluster already uses for legacy Secret tokens — dropping that one breaks existing tokens (SELF_HOSTED_SETUP).
- ``--service-account-signing-key-file``: the state's ``sa-signer.key``.
- ``--api-audiences``: kube's default is the issuer; the default here is the issuer plus the additional
  issuers (decision: tokens minted before an issuer change carry the old issuer as audience when no audience
  was requested, so keeping it accepted avoids a disruption). ``sts.amazonaws.com`` in it is warned (P14).
- ``--service-account-jwks-uri``: ``<issuer>/keys.json``, the same URL the published discovery document names.

kube-controller-manager: ``--service-account-private-key-file`` signs legacy Secret tokens; the Azure WI
runbook switches it together with the apiserver's signing key (§1.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from irsa.arn import STS_AUDIENCE
from irsa.selfhosted.issuer_url import check_issuer_url, jwks_uri_for
from irsa.selfhosted.keystate import IssuerState


@dataclass(frozen=True)
class ControlPlaneFlags:
    apiserver: list[str]
    controller_manager: list[str]
    warnings: list[str] = field(default_factory=list)
    reminders: list[str] = field(default_factory=list)


def control_plane_flags(
    issuer: str,
    state: IssuerState,
    *,
    api_audiences: Sequence[str] = (),
    additional_issuers: Sequence[str] = (),
    legacy_key_files: Sequence[str] = (),
) -> ControlPlaneFlags:
    """The flags for ``state``. Raises ``IssuerUrlError`` for an unusable issuer and ``StateError`` for a
    broken state directory (the signing key must be the manifest's active key)."""
    warnings = list(check_issuer_url(issuer))
    for extra in additional_issuers:
        warnings += [f"additional issuer {extra}: {w}" for w in check_issuer_url(extra)]
        if extra == issuer:
            raise ValueError(f"additional issuer {extra} is the issuer itself")
    state.signing_key()  # refuses a state whose signing key file does not match the manifest
    if state.issuer_url is not None and state.issuer_url != issuer:
        warnings.append(
            f"the state directory publishes for issuer {state.issuer_url}, not {issuer}; "
            f"an issuer change needs both issuers accepted (--additional-issuer) and a migration trust policy"
        )
    audiences = list(dict.fromkeys(api_audiences or [issuer, *additional_issuers]))
    sts_auds = sorted(set(audiences) & set(STS_AUDIENCE.values()))
    if sts_auds:
        warnings.append(
            f"--api-audiences includes {', '.join(sts_auds)}: every in-cluster token without an explicit audience "
            f"could then be exchanged at STS (and kube extends such tokens to 1 year); keep the STS audience for "
            f"the webhook's projected token only (pain point P14)"
        )
    flags = [f"--service-account-issuer={issuer}"]
    flags += [f"--service-account-issuer={extra}" for extra in dict.fromkeys(additional_issuers)]
    flags.append(f"--service-account-key-file={state.key_bundle_path.resolve()}")
    flags += [f"--service-account-key-file={path}" for path in legacy_key_files]
    flags.append(f"--service-account-signing-key-file={state.signing_key_path.resolve()}")
    flags.append(f"--api-audiences={','.join(audiences)}")
    flags.append(f"--service-account-jwks-uri={jwks_uri_for(issuer)}")
    reminders = [
        f"{state.key_bundle_path.name} holds {len(state.published)} published key(s): "
        + ", ".join(f"{r.kid} ({r.status})" for r in state.published),
    ]
    if not legacy_key_files:
        reminders.append(
            "keep the --service-account-key-file the cluster already has (it verifies existing and legacy Secret "
            "tokens): pass it with --legacy-key-file, e.g. kubeadm /etc/kubernetes/pki/sa.pub, "
            "k3s /var/lib/rancher/k3s/server/tls/service.key"
        )
    if additional_issuers:
        reminders.append("repeating --service-account-issuer needs Kubernetes 1.22 or later")
    controller = [f"--service-account-private-key-file={state.signing_key_path.resolve()}"]
    return ControlPlaneFlags(flags, controller, warnings, reminders)
