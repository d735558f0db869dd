"""Fixtures for the IAM/storage tests: every test runs on SQLite and on PostgreSQL.

One database per backend per session; each test gets a fresh random account, so tests never see each
other's entities (IAM is per account) and need no cleanup.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.databases import BACKEND_PARAMS, database_url  # noqa: E402

from irsa.errors import AwsError  # noqa: E402
from irsa.iam.service import IamService  # noqa: E402
from irsa.store.db import Database  # noqa: E402


@pytest.fixture(scope="session", params=BACKEND_PARAMS)
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    with database_url(request.param, tmp_path_factory.mktemp("iamdb")) as url:
        db = Database(url)
        try:
            yield db
        finally:
            db.dispose()


@pytest.fixture
def iam(database: Database) -> IamService:
    return IamService(database)


@pytest.fixture
def account() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(12))


@pytest.fixture
def call(iam: IamService, account: str) -> Callable[..., dict[str, Any]]:
    def _call(operation: str, **params: Any) -> dict[str, Any]:
        return iam.call(account, operation, params)

    return _call


@pytest.fixture
def engine() -> Any:
    """The policy engine; tests that need it skip until it is importable."""
    return pytest.importorskip("irsa.policy")


@contextmanager
def _aws_error(code: str, message: str | None = None) -> Iterator[pytest.ExceptionInfo[AwsError]]:
    with pytest.raises(AwsError) as info:
        yield info
    assert info.value.code == code, info.value.message
    if message is not None:
        assert info.value.message == message


@pytest.fixture
def aws_error() -> Callable[..., Any]:
    """``with aws_error("NoSuchEntity", "text"):`` asserts the code (and the exact message when given)."""
    return _aws_error
