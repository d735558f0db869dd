"""Accounts and admin access keys."""

from __future__ import annotations

import pytest

from irsa.iam.accounts import AccountStore


@pytest.fixture
def store(database):
    return AccountStore(database)


def test_create_account_and_lookup(store, account, aws_error):
    creds = store.create_account(account)
    assert creds.account_id == account
    assert creds.access_key_id.startswith("AKIA") and len(creds.access_key_id) == 20 and creds.access_key_id[4:].isalnum()
    assert len(creds.secret_access_key) == 40
    assert creds.secret_access_key not in repr(creds)
    record = store.lookup_access_key(creds.access_key_id)
    assert record is not None
    assert (record.account_id, record.secret_access_key, record.principal_arn) == (account, creds.secret_access_key, f"arn:aws:iam::{account}:root")
    assert creds.secret_access_key not in repr(record)
    assert store.lookup_access_key("AKIANOTAREALKEY00000") is None
    assert account in store.list_accounts()
    with aws_error("EntityAlreadyExists"):
        store.create_account(account)


def test_ensure_account_is_idempotent(store, account):
    first = store.ensure_account(account)
    again = store.ensure_account(account)
    assert (again.access_key_id, again.secret_access_key) == (first.access_key_id, first.secret_access_key)
    assert store.list_accounts().count(account) == 1


def test_ensure_account_with_env_credentials(store, account, aws_error):
    key = "AKIA" + account[:12] + "TEST"
    creds = store.ensure_account(account, key, "s" * 40)
    assert (creds.access_key_id, creds.secret_access_key) == (key, "s" * 40)
    assert store.lookup_access_key(key).secret_access_key == "s" * 40
    store.ensure_account(account, key, "t" * 40)  # the environment wins: the secret is replaced
    assert store.lookup_access_key(key).secret_access_key == "t" * 40
    other = "999999999999" if account != "999999999999" else "888888888888"
    with aws_error("EntityAlreadyExists"):
        store.ensure_account(other, key, "u" * 40)
    with aws_error("ValidationError"):
        store.ensure_account(account, key, None)
    with aws_error("ValidationError"):
        store.ensure_account(account, "short", "x" * 40)
    with aws_error("ValidationError"):
        store.ensure_account("not-an-account")


def test_inactive_key_is_not_found(store, account):
    creds = store.create_account(account)
    assert store.set_access_key_status(creds.access_key_id, False)
    assert store.lookup_access_key(creds.access_key_id) is None
    store.set_access_key_status(creds.access_key_id, True)
    assert store.lookup_access_key(creds.access_key_id) is not None
    assert not store.set_access_key_status("AKIAUNKNOWNKEY000000", True)


def test_account_rows_shared_with_iam(store, iam, account):
    iam.call(account, "CreateOpenIDConnectProvider", {"Url": "https://acct.example.com"})
    creds = store.ensure_account(account)  # the IAM write created the account row; a key is added
    assert store.lookup_access_key(creds.access_key_id).account_id == account
