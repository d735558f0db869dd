"""Database backends for tests: a temporary SQLite file, and a throw-away PostgreSQL schema.

PostgreSQL comes from ``IRSA_TEST_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).
When it cannot be reached the tests that need it are skipped with the reason, unless ``IRSA_REQUIRE_POSTGRES=1``,
in which case they fail. Each ``postgres_schema_url()`` creates a uniquely named schema, points the
connection's ``search_path`` at it, and drops it afterwards, so parallel runs and other areas never collide.

Typical conftest use::

    from tests.support.databases import BACKEND_PARAMS, database_url

    @pytest.fixture(params=BACKEND_PARAMS)
    def db_url(request, tmp_path):
        with database_url(request.param, tmp_path) as url:
            yield url
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy
from sqlalchemy import text
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

BACKENDS = ("sqlite", "postgresql")
BACKEND_PARAMS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)]

_reachable: dict[str, str | None] = {}


def postgres_url() -> str:
    return os.environ.get("IRSA_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL


def postgres_required() -> bool:
    return os.environ.get("IRSA_REQUIRE_POSTGRES", "") == "1"


def postgres_unreachable_reason(url: str | None = None) -> str | None:
    """``None`` when a connection succeeds, else why not (cached per URL for the session)."""
    url = url or postgres_url()
    if url not in _reachable:
        engine = sqlalchemy.create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            _reachable[url] = None
        except Exception as exc:  # any failure to connect is a reason to skip
            _reachable[url] = f"PostgreSQL at {make_url(url).render_as_string(hide_password=True)} unreachable: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        finally:
            engine.dispose()
    return _reachable[url]


def skip_unless_postgres() -> None:
    """Skip (or fail, with IRSA_REQUIRE_POSTGRES=1) the current test when PostgreSQL is unreachable."""
    reason = postgres_unreachable_reason()
    if reason is None:
        return
    if postgres_required():
        pytest.fail(f"IRSA_REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(reason)


@contextmanager
def postgres_schema_url(prefix: str = "irsa_test") -> Iterator[str]:
    """A URL whose connections use a fresh schema (``search_path``); the schema is dropped at exit."""
    skip_unless_postgres()
    base = postgres_url()
    schema_name = f"{prefix}_{secrets.token_hex(6)}"
    admin = sqlalchemy.create_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema_name}"'))
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema_name}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema_name}" CASCADE'))
        admin.dispose()


def sqlite_file_url(directory: Path, name: str = "irsa.db") -> str:
    return f"sqlite:///{quote(str(directory / name))}"


@contextmanager
def database_url(backend: str, directory: Path) -> Iterator[str]:
    """A fresh, empty database of the given backend (``sqlite`` or ``postgresql``)."""
    if backend == "sqlite":
        yield sqlite_file_url(directory)
    elif backend == "postgresql":
        with postgres_schema_url() as url:
            yield url
    else:
        raise ValueError(backend)
