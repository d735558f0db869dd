"""Who signed a request: the account's admin (root) or a role session from sealed credentials."""

from __future__ import annotations

from dataclasses import dataclass

from irsa.sts.sealing import Session


@dataclass(frozen=True)
class Caller:
    account: str
    partition: str
    arn: str  # arn:aws:iam::A:root, or arn:aws:sts::A:assumed-role/R/S
    user_id: str  # the account id for root; RoleId:SessionName for role sessions
    kind: str  # "root" | "role-session"
    access_key_id: str
    secret_access_key: str
    session: Session | None = None

    @property
    def is_root(self) -> bool:
        return self.kind == "root"
