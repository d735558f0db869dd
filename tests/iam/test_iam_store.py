"""The database layer: migrations, SQLite settings, transactions, settings and sealing-key tables."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, insert, select, text

from irsa.store import schema
from irsa.store.db import Database
from irsa.store.migrations import LATEST_VERSION, MIGRATIONS
from irsa.store.settings import delete_setting, get_setting, load_sealing_keys, retire_sealing_key, set_setting, store_sealing_key
from tests.support.databases import BACKEND_PARAMS, database_url


@pytest.fixture(params=BACKEND_PARAMS)
def fresh_url(request, tmp_path):
    with database_url(request.param, tmp_path) as url:
        yield url


def test_migrations_applied_once(fresh_url):
    db = Database(fresh_url)
    try:
        assert db.schema_version() == LATEST_VERSION
        assert db.migrate() == []  # idempotent
        with db.read() as conn:
            versions = [r.version for r in conn.execute(select(schema.schema_version.c.version).order_by(schema.schema_version.c.version))]
        assert versions == [m.version for m in MIGRATIONS]
        with db.read() as conn:
            for table in schema.V1_TABLES:
                assert db.engine.dialect.has_table(conn, table.name), table.name
    finally:
        db.dispose()
    reopened = Database(fresh_url)
    assert reopened.schema_version() == LATEST_VERSION
    reopened.dispose()


def test_concurrent_open_migrates_once(fresh_url):
    """Several processes' worth of openers at once: every step recorded exactly once, nobody fails."""
    results: list[object] = []

    def open_db():
        try:
            db = Database(fresh_url)
            results.append(db.schema_version())
            db.dispose()
        except Exception as exc:  # recorded and asserted below
            results.append(exc)

    threads = [threading.Thread(target=open_db) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [LATEST_VERSION] * 4
    db = Database(fresh_url, migrate=False)
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(schema.schema_version)).scalar_one() == len(MIGRATIONS)
    db.dispose()


def test_sqlite_pragmas(tmp_path):
    db = Database(str(tmp_path / "plain-path.db"))  # a plain path means SQLite
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    db.dispose()


def test_transaction_rolls_back_on_error(database):
    name = "rollback-probe"
    with pytest.raises(RuntimeError):
        with database.begin() as conn:
            conn.execute(insert(schema.kv).values(name=name, value="x"))
            raise RuntimeError("boom")
    assert get_setting(database, name) is None


def test_foreign_keys_enforced(database):
    from sqlalchemy.exc import IntegrityError
    from datetime import datetime, timezone

    with pytest.raises(IntegrityError):
        with database.begin() as conn:
            conn.execute(insert(schema.access_keys).values(
                access_key_id="AKIAFKPROBE000000000", account_id="000000000000", secret="s", principal_arn="p",
                status="Active", created=datetime.now(timezone.utc)))


def test_settings_and_sealing_keys(database):
    key = "setting-" + str(id(database))
    assert get_setting(database, key) is None
    set_setting(database, key, "1")
    set_setting(database, key, "2")
    assert get_setting(database, key) == "2"
    delete_setting(database, key)
    assert get_setting(database, key) is None
    kid = b"\x00\x01kid-" + str(id(database)).encode()
    store_sealing_key(database, kid, b"k" * 32, 1_700_000_000)
    assert (kid, b"k" * 32, 1_700_000_000) in load_sealing_keys(database)
    retire_sealing_key(database, kid, 1_700_000_100)
    assert all(k[0] != kid for k in load_sealing_keys(database))
    assert any(k[0] == kid for k in load_sealing_keys(database, include_retired=True))


def test_unsupported_backend():
    with pytest.raises(ValueError):
        Database("mysql://nobody@localhost/x", migrate=False)


def test_read_transaction_sees_committed_data(database):
    with database.begin() as conn:
        conn.execute(text("SELECT 1"))
    with database.read() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1


def test_migration_chain_upgrades_an_old_database(fresh_url):
    """A database created at version 1 is brought to the latest version by the next open."""
    old = Database(fresh_url, migrate=False)
    assert old.migrate(MIGRATIONS[:1]) == [1]
    with old.read() as conn:
        assert not old.engine.dialect.has_table(conn, "eks_clusters")
    old.dispose()
    new = Database(fresh_url)
    assert new.schema_version() == LATEST_VERSION == 3
    with new.read() as conn:
        for table in ("eks_clusters", "cluster_keys", "cluster_service_accounts"):
            assert new.engine.dialect.has_table(conn, table)
    new.dispose()

