"""The database handle: one engine, transactions, migrations at open.

``Database(url)`` accepts an SQLAlchemy URL (``sqlite:///path``, ``postgresql+psycopg://...``) or a plain
file path (taken as SQLite). SQLite runs in WAL mode with foreign keys on and a busy timeout; every
transaction from ``begin()`` starts with ``BEGIN IMMEDIATE`` so that concurrent writers queue on the busy
timeout instead of failing when they upgrade a read lock. ``read()`` gives a deferred (read-only use)
transaction. On PostgreSQL, migrations run under a transaction-scoped advisory lock, so two processes
opening the same database at once apply each step exactly once.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from irsa.store import schema
from irsa.store.migrations import MIGRATIONS, Migration

SQLITE_BUSY_TIMEOUT_MS = 10_000
_MIGRATION_LOCK_NAME = "irsa.schema.migrate"


def _normalise_url(url: str) -> str:
    return url if "://" in url else f"sqlite:///{url}"


class Database:
    """One engine plus transaction helpers. Thread-safe (the engine pools connections)."""

    def __init__(self, url: str, *, migrate: bool = True, echo: bool = False) -> None:
        self.url = make_url(_normalise_url(url))
        self.dialect = self.url.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo}
        if self.dialect == "sqlite":
            memory = self.url.database in (None, "", ":memory:")
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
            if memory:
                kwargs["poolclass"] = StaticPool
            self.engine: Engine = create_engine(self.url, **kwargs)
            self._install_sqlite_hooks(memory)
        elif self.dialect == "postgresql":
            kwargs["pool_pre_ping"] = True
            self.engine = create_engine(self.url, **kwargs)
        else:
            raise ValueError(f"unsupported database backend: {self.dialect}")
        if migrate:
            self.migrate()

    # ------------------------------------------------------------------ connection setup
    def _install_sqlite_hooks(self, memory: bool) -> None:
        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Take over transaction control from the sqlite3 module so BEGIN is ours.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            try:
                if not memory:
                    cur.execute("PRAGMA journal_mode=WAL")
                    cur.execute("PRAGMA synchronous=NORMAL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            finally:
                cur.close()

        @event.listens_for(self.engine, "begin")
        def _on_begin(conn: Connection) -> None:
            mode = conn.get_execution_options().get("irsa_begin", "IMMEDIATE")
            if mode != "NONE":  # NONE: each statement is its own (implicit) transaction
                conn.exec_driver_sql(f"BEGIN {mode}")

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One read-write transaction: commits on success, rolls back on any exception."""
        with self.engine.connect() as conn:
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read transaction (no write lock taken on SQLite). Rolled back at the end."""
        with self.engine.connect().execution_options(irsa_begin="DEFERRED") as conn:
            with conn.begin() as txn:
                yield conn
                txn.rollback()

    @contextmanager
    def autocommit(self) -> Iterator[Connection]:
        """A connection where every statement commits on its own: for one-statement lookups on the hot
        path (no BEGIN/ROLLBACK round trips). Each statement still sees one consistent snapshot."""
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn = conn.execution_options(irsa_begin="NONE")
                yield conn
                conn.rollback()  # ends SQLAlchemy's bookkeeping; no statement is sent (no BEGIN was)
            else:
                yield conn.execution_options(isolation_level="AUTOCOMMIT")

    def dispose(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ migrations
    def schema_version(self) -> int:
        with self.read() as conn:
            if not self.engine.dialect.has_table(conn, schema.schema_version.name):
                return 0
            return int(conn.execute(select(func.coalesce(func.max(schema.schema_version.c.version), 0))).scalar_one())

    def migrate(self, steps: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
        """Apply every step newer than the recorded version; returns the versions applied now."""
        applied: list[int] = []
        with self.begin() as conn:
            if self.dialect == "postgresql":
                # Serialise concurrent openers of this database+schema. Released at commit.
                key = zlib.crc32(f"{_MIGRATION_LOCK_NAME}".encode())
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:k, hashtext(current_schema()))"),
                    {"k": key - (1 << 31) if key >= (1 << 31) else key},
                )
            schema.metadata.create_all(conn, tables=[schema.schema_version], checkfirst=True)
            current = conn.execute(select(func.coalesce(func.max(schema.schema_version.c.version), 0))).scalar_one()
            for step in steps:
                if step.version <= current:
                    continue
                step.apply(conn)
                conn.execute(insert(schema.schema_version).values(version=step.version, applied=datetime.now(timezone.utc)))
                applied.append(step.version)
        return applied
