"""Persistence (SQLAlchemy Core): SQLite by default, PostgreSQL by URL."""

from irsa.store.db import Database

__all__ = ["Database"]
